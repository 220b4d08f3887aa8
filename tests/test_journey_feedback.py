"""Journeys through feedback as members and moderators see them (issue 15, "Drops, AMAs, feedback").

The form shows the configured limits (not Discord's 4000) so nobody types 3000 characters to be refused
after sending; the export never names the author of an anonymous item, says which time zone its times
are in and names the people it lists; and every export is in the audit log."""
from __future__ import annotations

import pytest

from bot.offline.harness import OptionRefused
from bot.services.feedback import read_csv
from tests.helpers import config_with


def field(g, user, custom_id):
    return {f["custom_id"]: f for f in g.modal_fields(g.modal_for(user))}[custom_id]


@pytest.mark.parametrize("max_length, title_max", [(2000, 100), (500, 40), (4000, 5)])
async def test_the_form_shows_the_configured_limits_before_anything_is_typed(harness, tmp_path, max_length, title_max):
    config = config_with(tmp_path, {"community.yaml": {"feedback": {"max_length": max_length,
                                                                    "title_max_length": title_max}}})
    g = await harness(config=config)
    await g.slash("/feedback send", user="alice")
    text, title = field(g, "alice", "text"), field(g, "alice", "title")
    assert text["max_length"] == max_length and title["max_length"] == title_max
    labels = {f["custom_id"]: f["label"] for f in g.modal_fields(g.modal_for("alice"))}
    assert str(max_length) in labels["text"]  # the label says it too
    if max_length < 4000:
        with pytest.raises(OptionRefused, match=f"{max_length}"):  # Discord's client stops it at the limit
            await g.submit_modal({"category": "Product", "text": "x" * (max_length + 1)}, user="alice")


async def test_a_long_message_sent_as_feedback_is_prefilled_within_the_limit(harness, tmp_path):
    config = config_with(tmp_path, {"community.yaml": {"feedback": {"max_length": 100}}})
    g = await harness(config=config)
    await g.say("lounge", "The new cups leak at the handle. " * 10, user="bob")
    await g.context_menu("Send as feedback", message=g.channel("lounge").messages[-1], user="carol")
    text = field(g, "carol", "text")
    assert text["max_length"] == 100 and len(text["value"]) <= 100 and text["value"].endswith("…")
    r = await g.submit_modal({"category": "Product", "text": text["value"]}, user="carol")
    assert "#1" in r.content


async def send(g, user, *, text, anonymous=False):
    await g.slash("/feedback send", user=user)
    values = {"category": "Product", "title": text[:20], "text": text}
    if anonymous:
        values["anonymous"] = "yes"
    return await g.submit_modal(values, user=user)


async def test_the_export_hides_anonymous_authors_names_people_and_labels_the_zone(harness):
    g = await harness()
    await send(g, "alice", text="Named idea about oolong")
    await send(g, "bob", text="Secret idea about prices", anonymous=True)
    r = await g.slash("/feedback export", user="mod")
    rows = read_csv(r.files[0][1])
    header = list(rows[0])
    zone = g.app.config.timezone.key
    assert f"created_at ({zone})" in header and "created_at" not in header
    named, secret = rows
    assert named["author_id"] == str(g.user_id("alice")) and named["author_name"] == "alice"
    assert secret["anonymous"] == "yes" and secret["author_id"] == "" and secret["author_name"] == ""
    assert str(g.user_id("bob")) not in r.files[0][1].decode("utf-8-sig")
    assert named[f"created_at ({zone})"].endswith("+09:00")  # community time, with its offset
    audit = await g.app.audit.recent(g.app.guild_id)
    assert audit[0]["action"] == "feedback.export" and audit[0]["actor_id"] == g.user_id("mod")
    assert "2 rows" in audit[0]["detail"]


MINI = """
drops:
  - id: mini
    item: Mini tin
    stock: 2
"""


async def test_a_drop_export_is_audited_with_names_and_zoned_times(harness, tmp_path):
    g = await harness(config=config_with(tmp_path, {"drops.yaml": MINI}))
    await g.slash("/drop open", user="mod", drop="mini")
    post = g.channel("announcements").messages[-1]
    await g.click("Claim", on=post, user="alice")
    r = await g.slash("/drop export", user="mod", drop="mini")
    [row] = read_csv(r.files[0][1])
    zone = g.app.config.timezone.key
    assert row["user_id"] == str(g.user_id("alice")) and row["name"] == "alice"
    assert row[f"claimed_at ({zone})"].endswith("+09:00")
    audit = await g.app.audit.recent(g.app.guild_id)
    assert audit[0]["action"] == "drop.export" and audit[0]["target"] == "mini" and "1 row" in audit[0]["detail"]


def test_the_command_line_export_names_authors_the_bot_remembered_and_never_an_anonymous_one(tmp_path):
    """`python -m bot export feedback` has no server to ask: it names members by the display names the
    bot last saw (stats' member_names), and an anonymous item still names nobody."""
    import asyncio
    from datetime import datetime, timezone

    from bot.__main__ import main
    from bot.app import App
    from bot.clock import FakeClock
    from bot.config import load_config
    from bot.db import stats as stats_repo

    db = tmp_path / "k.db"
    t0 = datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc)

    async def seed():
        app = await App.open(load_config("config"), db_path=db, clock=FakeClock(t0), real_scheduler=False)
        try:
            await app.feedback.submit(1, 11, category="product", title="named", text="named idea")
            await app.feedback.submit(1, 12, category="bug", title="secret", text="secret idea", anonymous=True)
            await stats_repo.remember_names(app.db, 1, {11: "Aiko", 12: "Ben"}, t0)
        finally:
            await app.close()

    asyncio.run(seed())
    out = tmp_path / "fb.csv"
    assert main(["export", "feedback", "--db", str(db), "--out", str(out)]) == 0
    data = out.read_bytes()
    named, secret = read_csv(data)
    assert (named["author_id"], named["author_name"]) == ("11", "Aiko")
    assert (secret["author_id"], secret["author_name"]) == ("", "")
    assert b"Ben" not in data and b",12," not in data
    assert named["created_at (Asia/Tokyo)"] == "2026-12-01T09:00:00+09:00"
