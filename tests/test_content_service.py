"""Content reveals and the content/drops config checks: never below the tier, once per occurrence."""
from __future__ import annotations

import dataclasses
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bot.app import App
from bot.clock import FakeClock
from bot.config import load_config
from bot.errors import ConfigError, UserError

ROOT = Path(__file__).resolve().parent.parent
GUILD = 1
T0 = datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc)


def copy_config(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(ROOT / "config", target)
    return target


def write(target: Path, name: str, text: str) -> None:
    (target / name).write_text(text, encoding="utf-8")


def line_of(path: Path, needle: str) -> int:
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return i
    raise AssertionError(needle)


CONTENT = """
content:
  - id: secret
    tier: blossom
    channel: blossom-garden
    at: "2026-12-01 12:00"
    title: Secret blend
    text: Only for Blossoms.
    teaser:
      channel: announcements
      text: Blossoms just got something special.
  - id: guide
    tier: leaf
    channel: leaf-lounge
    text: A brewing guide.
  - id: faq
    tier: member
    channel: leaf-lounge
    text: Members FAQ.
"""


def test_shipped_content_and_drops_load():
    config = load_config(ROOT / "config")
    assert {c.id for c in config.content.content} >= {"winter-yuzu-first-look"}
    assert {d.id for d in config.drops.drops} >= {"hanami-tin", "tea-master-workshop", "prompt-champions"}


@pytest.mark.parametrize("channel,words", [
    ("lounge", "readable by everyone"),
    ("announcements", "readable by everyone"),
    ("leaf-lounge", "readable by Green Leaf"),
])
def test_content_below_its_tier_is_refused_at_load_with_file_and_line(tmp_path, channel, words):
    target = copy_config(tmp_path)
    write(target, "content.yaml", CONTENT.replace("channel: blossom-garden", f"channel: {channel}"))
    with pytest.raises(ConfigError) as info:
        load_config(target)
    line = line_of(target / "content.yaml", f"channel: {channel}")
    problem = next(p for p in info.value.problems if "content.yaml" in p)
    assert problem.startswith(f"{target / 'content.yaml'}:{line}: content[0].channel: channel {channel!r} is {words}")


@pytest.mark.parametrize("old,new,marker,field,words", [
    ("early: {blossom: 24h, leaf: 6h}", "early: {blossom: 2h, leaf: 6h}", "    early: {", "drops[0].early.blossom",
     "cannot start later"),
    ("early: {blossom: 24h, leaf: 6h}", "early: {gold: 24h}", "    early: {", "drops[0].early.gold", "unknown tier key 'gold'"),
    ("stock: 50", "stock: 500", "codes: codes/hanami-tin.csv", "drops[0].codes", "holds 60 codes but stock is 500"),
    ("    mode: first_come", "    mode: firstcome", "mode: firstcome", "drops[0].mode", "is not one of"),
    ("    waitlist: true", "    waitlist: true\n    entries: {from: participation, action: x}", "- id: hanami-tin",
     "drops[0]", "needs `mode: raffle`"),
    ("    channel: announcements\n\n  - id: tea", "    channel: annoucements\n\n  - id: tea", "annoucements",
     "drops[0].channel", "unknown channel key"),
])
def test_broken_drops_name_file_line_and_field(tmp_path, old, new, marker, field, words):
    target = copy_config(tmp_path)
    path = target / "drops.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    write(target, "drops.yaml", text.replace(old, new, 1))
    with pytest.raises(ConfigError) as info:
        load_config(target)
    problem = next(p for p in info.value.problems if "drops.yaml" in p)
    assert f"drops.yaml:{line_of(path, marker)}: {field}: " in problem
    assert words in problem


@pytest.fixture
async def app(tmp_path):
    target = copy_config(tmp_path)
    write(target, "content.yaml", CONTENT)
    clock = FakeClock(T0)
    app = await App.open(load_config(target), db_path=tmp_path / "k.db", clock=clock, real_scheduler=False)
    app.guild_id = GUILD
    await app.start()
    yield app
    await app.close()


async def posts(app) -> list[dict]:
    rows = await app.db.fetchall("SELECT dedupe_key, target, payload FROM outbox WHERE dedupe_key LIKE 'content:%'"
                                 " ORDER BY id")
    return [dict(r) for r in rows]


async def test_timed_reveal_posts_once_in_its_channel_with_a_teaser_elsewhere(app, tmp_path):
    await app.scheduler.advance_to(datetime(2026, 12, 1, 2, 59, tzinfo=timezone.utc))
    assert await posts(app) == []
    await app.scheduler.advance_to(datetime(2026, 12, 1, 3, 0, tzinfo=timezone.utc))  # 12:00 Tokyo
    sent = await posts(app)
    assert [p["target"] for p in sent] == ["blossom-garden", "announcements"]
    assert "Only for Blossoms." in sent[0]["payload"]
    assert "Only for Blossoms." not in sent[1]["payload"] and "Blossoms just got" in sent[1]["payload"]
    # the same occurrence again (a restart, a second timer) posts nothing
    again = await app.content.reveal(GUILD, "secret", occurrence="2026-12-01T03:00:00.000000Z")
    assert again.posted is False
    assert len(await posts(app)) == 2


async def test_a_restart_after_the_reveal_does_not_post_again(tmp_path):
    target = copy_config(tmp_path)
    write(target, "content.yaml", CONTENT)
    config = load_config(target)
    clock = FakeClock(T0)
    for _ in range(2):
        app = await App.open(config, db_path=tmp_path / "k.db", clock=clock, real_scheduler=False)
        app.guild_id = GUILD
        await app.start()
        await app.scheduler.advance_to(datetime(2026, 12, 1, 4, 0, tzinfo=timezone.utc))
        assert len(await posts(app)) == 2
        await app.close()


async def test_post_now_refuses_a_channel_below_the_tier_and_is_audited(app):
    with pytest.raises(UserError) as info:
        await app.content.post_now(GUILD, "secret", by=7, channel="leaf-lounge")
    assert info.value.key == "content.below_tier"
    with pytest.raises(UserError):
        await app.content.post_now(GUILD, "guide", by=7, channel="lounge")
    assert await posts(app) == []
    result = await app.content.post_now(GUILD, "guide", by=7, channel="blossom-garden")  # higher is fine
    assert result.posted and result.channel == "blossom-garden"
    audit = await app.audit.recent(GUILD)
    assert audit[0]["action"] == "content.post" and audit[0]["target"] == "guide"


async def test_send_time_check_holds_even_if_the_config_was_not_checked(app):
    # a config built by hand (bypassing load-time checks) still cannot leak content downwards
    from bot.config.content import ContentFile, ContentItem

    bad = ContentFile(content=(ContentItem(id="leak", tier="blossom", channel="lounge", text="secret"),))
    app.config = dataclasses.replace(app.config, content=bad)
    with pytest.raises(UserError) as info:
        await app.content.reveal(GUILD, "leak", occurrence="x")
    assert info.value.key == "content.below_tier"
    assert await posts(app) == []


async def test_schedule_action_reveals_by_id_or_the_next_unrevealed(app):
    action = app.actions.get("content.reveal")
    await action(GUILD, datetime(2026, 12, 2, tzinfo=timezone.utc), {"id": "faq"})
    await action(GUILD, datetime(2026, 12, 3, tzinfo=timezone.utc), {})
    await action(GUILD, datetime(2026, 12, 4, tzinfo=timezone.utc), {})
    revealed = [r["content_id"] for r in await app.content.history(GUILD)]
    assert revealed == ["faq", "guide"]  # `secret` has its own time; nothing is left after guide
