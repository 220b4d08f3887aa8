"""A route Discord rate-limited (429) is left alone until its reset (issue 17): the rows queued for it
meanwhile are held without being claimed or sent (one bot token serving many communities re-claimed and
re-sent them on every drain, each one refused again), and then leave in queue order."""
from __future__ import annotations

from bot.services.messages import OutMessage, Target

POST = "POST /channels/{channel_id}/messages"


def posts_to_channels(g) -> list:
    return [r for r in g.requests if f"{r.method} {r.path}".startswith("POST /channels/")]


async def test_messages_queued_during_a_route_rate_limit_wait_for_its_reset_in_order(harness):
    g = await harness()
    g.fake.inject("429", route=POST, retry_after=30)
    outbox, guild = g.app.outbox, g.app.guild_id
    await outbox.post(guild, Target.channel("lounge"), OutMessage("one"), dedupe_key="t:one")
    await g.settle()
    for n in range(2, 6):
        await g.advance(seconds=5)
        await outbox.post(guild, Target.channel("lounge"), OutMessage(f"m{n}"), dedupe_key=f"t:{n}")
        await g.settle()
    assert len(posts_to_channels(g)) == 1  # nothing else went to the limited route
    claimed = await g.app.db.fetchval("SELECT SUM(attempts) FROM outbox WHERE dedupe_key LIKE 't:%'")
    assert claimed == 0  # nor was claimed (a rate limit is not an attempt; nothing else was tried)
    await g.advance(seconds=10)
    assert [m.content for m in g.channel("lounge").messages] == ["one", "m2", "m3", "m4", "m5"]


async def test_another_channel_is_not_held_by_a_route_limit(harness):
    g = await harness()
    g.fake.inject("429", route=POST, retry_after=30)
    outbox, guild = g.app.outbox, g.app.guild_id
    await outbox.post(guild, Target.channel("lounge"), OutMessage("held"), dedupe_key="t:held")
    await g.settle()
    await outbox.post(guild, Target.channel("announcements"), OutMessage("free"), dedupe_key="t:free")
    await g.settle()
    assert [m.content for m in g.channel("announcements").messages] == ["free"]
    assert g.channel("lounge").messages == []
