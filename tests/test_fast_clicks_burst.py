"""The hot-click path matches a burst's custom_id once (bench/bench_clicks.py): every click of it is still
answered on its own, a button taken off the hot path (`remove`) goes back to discord.py's path at once,
other buttons are never taken, and what is kept stays bounded."""
from __future__ import annotations

import asyncio
import re
import sys
from types import SimpleNamespace

import discord

from bot import fast_clicks
from bot.fast_clicks import FastClicks
from tests.helpers import config_with
from tests.test_fast_clicks import DROPS, USERS


async def test_every_click_of_one_button_is_answered_and_a_removed_button_takes_the_slow_path_again(
        harness, tmp_path, monkeypatch):
    g = await harness(config=config_with(tmp_path, {"drops.yaml": DROPS}), users=USERS)
    await g.slash("/drop open", user="mod", drop="mini")
    post = g.channel("announcements").messages[-1]
    built = []
    real = discord.Interaction.__init__
    monkeypatch.setattr(discord.Interaction, "__init__", lambda self, **kw: built.append(1) or real(self, **kw))
    texts = [(await g.click(index=1, on=post, user=who)).content for who in ("alice", "bob", "carol")]
    assert ["is yours" in texts[0], "is yours" in texts[1], "waitlist" in texts[2]] == [True, True, True]
    assert built == []  # all three on the fast path, one match of the custom_id between them
    claim_button = sys.modules["cogs.drops"].ClaimButton  # the class the bot loaded (extensions load afresh)
    g.bot.fast_clicks.remove(claim_button)
    r = await g.click(index=1, on=post, user="alice")
    assert "already hold" in r.content and built  # discord.py's own path (an Interaction), same answer
    g.bot.fast_clicks.add(claim_button)
    built.clear()
    assert "already hold" in (await g.click(index=1, on=post, user="alice")).content and built == []


class Hot:
    __discord_ui_compiled_template__ = re.compile(r"hot:(?P<n>\d+)")


def click(custom_id: str) -> dict:
    return {"type": 3, "guild_id": "1", "id": "2", "token": "t", "member": {"user": {"id": "3"}},
            "data": {"custom_id": custom_id, "component_type": 2}}


async def test_only_hot_custom_ids_are_taken_and_the_kept_matches_stay_bounded(monkeypatch):
    slow = []
    bot = SimpleNamespace(_connection=SimpleNamespace(parsers={"INTERACTION_CREATE": slow.append}))
    fast = FastClicks(bot)
    fast.add(Hot)
    answered = []

    async def answer(item, match, data):
        answered.append((item, match["n"], data["data"]["custom_id"]))

    monkeypatch.setattr(fast, "_answer", answer)
    parse = bot._connection.parsers["INTERACTION_CREATE"]
    for n in range(fast_clicks._KEPT_MATCHES + 10):
        parse(click(f"cold:{n}"))  # another item's buttons: discord.py's path, every time
    parse(click("hot:7"))
    parse(click("hot:7"))
    parse(click("hot:70"))
    parse(click("hot:x"))
    await asyncio.sleep(0)
    assert len(slow) == fast_clicks._KEPT_MATCHES + 11 and slow[-1]["data"]["custom_id"] == "hot:x"
    assert answered == [(Hot, "7", "hot:7"), (Hot, "7", "hot:7"), (Hot, "70", "hot:70")]
    assert len(fast._matched) <= fast_clicks._KEPT_MATCHES
