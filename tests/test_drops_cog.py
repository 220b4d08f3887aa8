"""Drops through the offline harness: what members and moderators see when a collab drop runs."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timezone

import pytest

from bot.offline.harness import HarnessError
from tests.helpers import config_with

USERS = {"mod": ["moderator", "member"], "alice": ["member"], "bob": ["member"], "carol": ["member"],
         "vera": ["visitor"], "bea": ["member", "blossom"], "leo": ["member", "leaf"]}

# shipped drops.yaml: hanami-tin opens 2026-12-10 20:00 Tokyo (11:00 UTC); blossom 24h early, leaf 6h, public +2h
TIN_ANNOUNCED = datetime(2026, 12, 9, 11, 0, tzinfo=timezone.utc)


def unix(text: str) -> datetime:
    return datetime.fromtimestamp(int(re.search(r"<t:(\d+):R>", text).group(1)), tz=timezone.utc)


async def test_tier_windows_open_in_order_and_the_early_are_told_when(harness):
    g = await harness(users=USERS)
    await g.advance_to(TIN_ANNOUNCED)
    post = g.channel("announcements").messages[-1]
    assert "Sakura × Hanami illustrated tea tin" in post.text and post.buttons == ["Claim"]
    assert "Hanami (illustrator)" in post.text

    r = await g.click("Claim", on=post, user="bea")  # blossom: 24h early
    assert r.ephemeral and "is yours" in r.content
    r = await g.click("Claim", on=post, user="leo")  # leaf: not yet
    assert "2026-12-10 14:00 JST" in r.content and unix(r.content) == datetime(2026, 12, 10, 5, tzinfo=timezone.utc)
    r = await g.click("Claim", on=post, user="alice")
    assert "2026-12-10 20:00 JST" in r.content
    r = await g.click("Claim", on=post, user="vera")  # a visitor: public from 22:00
    assert "not open for you yet" in r.content and "2026-12-10 22:00 JST" in r.content

    await g.advance_to(datetime(2026, 12, 10, 5, tzinfo=timezone.utc))
    assert "is yours" in (await g.click("Claim", on=post, user="leo")).content
    assert "20:00 JST" in (await g.click("Claim", on=post, user="alice")).content
    await g.advance_to(datetime(2026, 12, 10, 11, tzinfo=timezone.utc))
    assert "is yours" in (await g.click("Claim", on=post, user="alice")).content
    assert "22:00 JST" in (await g.click("Claim", on=post, user="vera")).content
    await g.advance_to(datetime(2026, 12, 10, 13, tzinfo=timezone.utc))
    assert "is yours" in (await g.click("Claim", on=post, user="vera")).content
    assert "already hold 1 of 1" in (await g.click("Claim", on=post, user="alice")).content
    # codes went out by DM, one each, all different
    codes = [re.search(r"`([^`]+)`", dm.content).group(1) for who in ("bea", "leo", "alice", "vera")
             for dm in g.dms(who)]
    assert len(codes) == 4 and len(set(codes)) == 4


SMALL = """
drops:
  - id: mini
    item: Mini tin
    stock: 2
    waitlist: true
    codes: codes/hanami-tin.csv
  - id: members-only
    item: Members pin
    stock: 5
    early: {blossom: 1h}
"""


async def test_a_members_only_drop_tells_a_visitor_to_join(harness, tmp_path):
    g = await harness(config=config_with(tmp_path, {"drops.yaml": SMALL}), users=USERS)
    await g.slash("/drop open", user="mod", drop="members-only")
    post = g.channel("announcements").messages[-1]
    r = await g.click("Claim", on=post, user="vera")
    assert "members only" in r.content and "Join" in r.content
    r = await g.click("Claim", on=post, user="alice")
    assert "not open for you yet" in r.content and "<t:" in r.content  # members 1h after the blossom start


async def test_sold_out_joins_the_waitlist_and_a_release_promotes_the_next(harness, tmp_path):
    g = await harness(config=config_with(tmp_path, {"drops.yaml": SMALL}), users=USERS)
    r = await g.slash("/drop open", user="mod", drop="mini")
    assert "Opened" in r.content
    post = g.channel("announcements").messages[-1]
    for who in ("alice", "bob"):
        assert "is yours" in (await g.click("Claim", on=post, user=who)).content
    # sold out: the announcement says so, in place, and its button now joins the waitlist
    assert "Sold out" in post.text and post.buttons == ["Join the waitlist"]
    assert len(g.channel("announcements").messages) == 1
    r = await g.click("Join the waitlist", on=post, user="carol")
    assert "waitlist" in r.content
    assert g.dms("carol") == []

    r = await g.slash("/drop release", user="alice", drop="mini")
    assert "gave back" in r.content and "<@" in r.content  # and who got it
    [dm] = g.dms("carol")
    assert "waitlist" in dm.content and "HANAMI-" in dm.content
    # a member cannot release someone else's; a moderator can, and then stock comes back
    r = await g.slash("/drop release", user="alice", drop="mini", member="bob")
    assert r.content == "Only moderators can do that."
    r = await g.slash("/drop release", user="mod", drop="mini", member="bob")
    assert "Released" in r.content
    # nobody left waiting: that unit is back in stock, and the announcement says "Claim" again
    assert "Sold out" not in post.text and post.buttons == ["Claim"]
    assert len(post.history) == 2  # sold out, then in stock again: two edits
    r = await g.slash("/drop status", user="mod", drop="mini")
    text = r.embeds[0]["description"]
    assert "Stock 1/2 left" in text and "1 held" in text and "2 released" in text
    audit = [a["action"] for a in await g.app.audit.recent(g.app.guild_id)]
    assert "drop.release" in audit and "drop.open" in audit


async def run_raffle(harness, tmp_path, seed: str) -> list[str]:
    g = await harness(users=USERS | {f"fan{i}": ["member"] for i in range(15)})
    await g.slash("/drop open", user="mod", drop="tea-master-workshop")
    post = g.channel("announcements").messages[-1]
    assert post.buttons == ["Enter"]
    r = await g.click("Enter", on=post, user="alice")
    assert "not open for you yet" in r.content  # blossoms first
    assert "entered" in (await g.click("Enter", on=post, user="bea")).content
    await g.advance(hours=24)
    for who in ["alice", "bob", "carol", "leo"] + [f"fan{i}" for i in range(15)]:
        assert "entered" in (await g.click("Enter", on=post, user=who)).content
    assert "already entered" in (await g.click("Enter", on=post, user="bob")).content
    r = await g.slash("/drop close", user="mod", drop="tea-master-workshop", seed=seed)
    assert f"seed `{seed}`" in r.content and "12 winners from 20 entrants" in r.content
    # the announcement is the same message, now saying it is closed, its button greyed out
    assert post.button_components[0].get("disabled") and len(post.history) == 1
    assert "is closed" in post.text
    with pytest.raises(HarnessError, match="disabled"):
        await g.click("Enter", on=post, user="fan0")
    names = {g.user_id(n): n for n in USERS | {f"fan{i}": [] for i in range(15)}}
    result = g.channel("announcements").messages[-1].content
    winners = [names[int(u)] for u in re.findall(r"<@(\d+)>", result)]
    assert len(winners) == 12 and all(len(g.dms(w)) == 1 for w in winners)
    r = await g.slash("/drop status", user="mod", drop="tea-master-workshop")
    assert f"seed `{seed}`" in r.embeds[0]["description"] and "replay ✅" in r.embeds[0]["description"]
    return winners


async def test_a_raffle_with_a_fixed_seed_draws_the_same_winners_twice(harness, tmp_path):
    first = await run_raffle(harness, tmp_path, "sakura-2026")
    second = await run_raffle(harness, tmp_path, "sakura-2026")
    assert first == second


async def test_codes_are_sent_once_each_across_a_restart_midway_through_the_queue(harness):
    g = await harness(users=USERS | {f"fan{i}": ["member"] for i in range(10)})
    fans = [f"fan{i}" for i in range(10)]
    await g.slash("/drop open", user="mod", drop="tea-master-workshop")
    post = g.channel("announcements").messages[-1]
    await g.advance(hours=24)
    for who in fans:
        await g.click("Enter", on=post, user=who)
    g.close_dms("fan3")

    real = g.app.outbox.sender

    class DiscordGoesAway:
        """Two DMs go out, then every send fails like a dropped connection (retried later)."""
        sent = 0

        async def send(self, guild_id, target, message):
            if target.kind == "dm":
                if self.sent >= 2:
                    raise ConnectionError("connection reset")
                self.sent += 1
            return await real.send(guild_id, target, message)

    g.app.outbox.sender = DiscordGoesAway()
    await g.slash("/drop close", user="mod", drop="tea-master-workshop", seed="restart")
    delivered = [w for w in fans if g.dms(w)]
    assert len(delivered) == 2  # the rest is still queued
    await g.restart()
    await g.advance(minutes=10)  # the queue resumes after the restart
    got = {w: g.dms(w) for w in fans}
    assert all(len(dms) == 1 for w, dms in got.items() if w != "fan3")
    codes = [re.search(r"`([^`]+)`", dms[0].content).group(1) for dms in got.values() if dms]
    assert len(codes) == 9 and len(set(codes)) == 9 and all(c.startswith("AOKI-") for c in codes)
    r = await g.slash("/drop status", user="mod", drop="tea-master-workshop")
    text = r.embeds[0]["description"]
    assert "DMs: 9 sent · 0 pending · 1 failed" in text
    assert f"<@{g.user_id('fan3')}>" in text  # closed DMs: listed for moderators, not lost
    note = g.channel("mod-log").messages
    assert any("Could not DM" in m.content and str(g.user_id("fan3")) in m.content for m in note)


async def test_export_attaches_a_csv_and_members_cannot_run_moderator_commands(harness, tmp_path):
    g = await harness(config=config_with(tmp_path, {"drops.yaml": SMALL}), users=USERS)
    await g.slash("/drop open", user="mod", drop="mini")
    post = g.channel("announcements").messages[-1]
    await g.click("Claim", on=post, user="alice")
    r = await g.slash("/drop export", user="mod", drop="mini")
    [(name, data)] = r.files
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    assert name.endswith(".csv") and rows[0]["user_id"] == str(g.user_id("alice")) and rows[0]["code"]
    for command in ("/drop open", "/drop close", "/drop status", "/drop export", "/drop reroll"):
        r = await g.slash(command, user="alice", drop="mini")
        assert r.content == "Only moderators can do that." and not r.files


async def test_the_claim_button_keeps_working_after_a_restart(harness, tmp_path):
    g = await harness(config=config_with(tmp_path, {"drops.yaml": SMALL}), users=USERS)
    await g.slash("/drop open", user="mod", drop="mini")
    post = g.channel("announcements").messages[-1]
    await g.restart()
    assert "is yours" in (await g.click("Claim", on=post, user="bob")).content


async def test_the_schedule_opens_the_drop_once(harness):
    g = await harness(users=USERS)
    await g.advance_to(TIN_ANNOUNCED)
    await g.restart()
    await g.advance(hours=1)
    announcements = [m for m in g.channel("announcements").messages if m.buttons == ["Claim"]]
    assert len(announcements) == 1
