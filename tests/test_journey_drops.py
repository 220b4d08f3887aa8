"""Journeys through a drop as members and moderators see it (issue 15, "Drops").

Each test walks the whole path and asserts what the person reads: a closed drop cannot be given back,
a moderator's release is DM'd to the member, pressing "Join the waitlist" twice says you are on it,
and a raffle nobody entered says so instead of "0 winner(s)! … Winners get a DM"."""
from __future__ import annotations

from tests.helpers import config_with

USERS = {"mod": ["moderator", "member"], "alice": ["member"], "bob": ["member"], "carol": ["member"],
         "vera": ["visitor"]}

SMALL = """
drops:
  - id: mini
    item: Mini tin
    stock: 1
    waitlist: true
  - id: lottery
    item: Tea set
    stock: 2
    mode: raffle
"""


async def start(harness, tmp_path):
    return await harness(config=config_with(tmp_path, {"drops.yaml": SMALL}), users=USERS)


async def test_after_close_a_member_cannot_give_back_and_stock_stays_closed(harness, tmp_path):
    g = await start(harness, tmp_path)
    await g.slash("/drop open", user="mod", drop="mini")
    post = g.channel("announcements").messages[-1]
    assert "is yours" in (await g.click("Claim", on=post, user="alice")).content
    await g.slash("/drop close", user="mod", drop="mini")

    r = await g.slash("/drop release", user="alice", drop="mini")
    assert "Thank you for making room" not in r.content
    assert r.content == "**Mini tin** is closed: what you claimed stays yours."
    status = (await g.slash("/drop status", user="mod", drop="mini")).embeds[0]["description"]
    assert "Stock 0/1 left · 1 held · 0 released" in status
    # a moderator cannot put a closed first-come drop back in stock either
    r = await g.slash("/drop release", user="mod", drop="mini", member="alice")
    assert r.content == "**Mini tin** is closed: what you claimed stays yours."


async def test_a_moderator_releasing_a_claim_tells_the_member_by_dm_once(harness, tmp_path):
    g = await start(harness, tmp_path)
    await g.slash("/drop open", user="mod", drop="mini")
    post = g.channel("announcements").messages[-1]
    await g.click("Claim", on=post, user="alice")
    assert g.dms("alice") == []
    r = await g.slash("/drop release", user="mod", drop="mini", member="alice")
    assert "Released" in r.content
    [dm] = g.dms("alice")
    assert "Mini tin" in dm.content and "moderator" in dm.content
    # her own release tells her in the reply, not by DM
    await g.click("Claim", on=post, user="alice")
    await g.slash("/drop release", user="alice", drop="mini")
    assert len(g.dms("alice")) == 1


async def test_pressing_join_the_waitlist_twice_says_you_are_already_on_it(harness, tmp_path):
    g = await start(harness, tmp_path)
    await g.slash("/drop open", user="mod", drop="mini")
    post = g.channel("announcements").messages[-1]
    await g.click("Claim", on=post, user="alice")
    first = await g.click("Join the waitlist", on=post, user="bob")
    assert "I put you on the waitlist" in first.content
    again = await g.click("Join the waitlist", on=post, user="bob")
    assert again.content == "You are already on the waitlist for **Mini tin**. I will DM you if one comes free."
    status = (await g.slash("/drop status", user="mod", drop="mini")).embeds[0]["description"]
    assert "1 waiting" in status


async def test_a_raffle_nobody_entered_announces_no_winners(harness, tmp_path):
    g = await start(harness, tmp_path)
    await g.slash("/drop open", user="mod", drop="lottery")
    r = await g.slash("/drop close", user="mod", drop="lottery")
    assert "nobody entered" in r.content
    result = g.channel("announcements").messages[-1].content
    assert "0 winner" not in result and "Winners get a DM" not in result
    assert result == "The draw for **Tea set** is done, but nobody entered, so there are no winners this time."
