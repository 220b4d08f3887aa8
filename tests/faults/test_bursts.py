"""Discord misbehaving in bursts: the fake Discord answers 429 (per route and global, with retry_after),
500/502 and timeouts — some after it already did the work — while the bot's real Discord port
(discord.py) sends channel posts, persona (webhook) posts and DMs. Everything is delivered, once.
Prints the figures (pytest -s)."""
from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

from bot.services.messages import OutMessage, Target

KINDS = [("429", False), ("429-global", False), ("500", False), ("502", False), ("502", True),
         ("timeout", False), ("timeout", True)]
ROUTES = ["POST /channels/{channel_id}/messages", "POST /webhooks/{webhook_id}/{webhook_token}",
          "GET /channels/{channel_id}/messages", None]


async def test_bursts_of_429_5xx_and_timeouts_deliver_every_message_once(harness):
    g = await harness()
    g.app.outbox.settings.max_attempts = 10  # bursts may hit one message more than five times in a row
    rng = random.Random(1302)
    channels = ["lounge", "announcements", "quiz", "daily-prompt"]
    users = ["alice", "bob", "carol"]
    expected: list[tuple[str, str]] = []  # (where, content)
    start = g.clock.now()
    for i in range(300):
        kind = ("channel", "channel", "channel", "channel", "persona", "dm")[i % 6]
        when = start + timedelta(seconds=2 * i)
        if kind == "dm":
            who = users[i % 3]
            target, where = Target.dm(g.user_id(who)), f"dm:{who}"
        else:
            target = Target.channel(channels[i % 4])
            where = channels[i % 4]
        message = OutMessage(f"{kind} message {i}", as_persona=kind == "persona")
        await g.app.outbox.post(g.app.guild_id, target, message, dedupe_key=f"burst:{i}", not_before=when)
        expected.append((where, message.content))

    faults = 0
    by_kind: Counter = Counter()
    for step in range(720):  # two hours in 10 s steps
        # a burst lasts one step: what it did not hit by then is over
        for f in g.fake.faults:
            by_kind[f.kind + (" after" if f.after else "")] += f.hits
        g.fake.faults.clear()
        for _ in range(rng.randint(1, 3) if step % 3 == 0 else 0):  # a burst, then calm
            kind, after = rng.choice(KINDS)
            g.fake.inject(kind, route=rng.choice(ROUTES), times=rng.randint(1, 4), after=after,
                          retry_after=round(rng.uniform(0.5, 12), 2))
            faults += 1
        await g.advance(seconds=10)
        if not await g.app.db.fetchval("SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sending')"):
            break

    seen: Counter = Counter()
    for channel in channels:
        for m in g.channel(channel).messages:
            seen[(channel, m.content)] += 1
    for who in users:
        for m in g.dms(who):
            seen[(f"dm:{who}", m.content)] += 1
    sent = sum(1 for e in expected if seen[e] == 1)
    lost = sum(1 for e in expected if seen[e] == 0)
    doubled = sum(max(0, seen[e] - 1) for e in expected)
    for f in g.fake.faults:
        by_kind[f.kind + (" after" if f.after else "")] += f.hits
    hit = sum(by_kind.values())
    print(f"bursts ({faults} bursts, {hit} faulty answers: {dict(sorted(by_kind.items()))}): "
          f"sent={sent}/{len(expected)} lost={lost} doubled={doubled}")
    statuses = dict(await g.app.db.fetchall("SELECT status, COUNT(*) FROM outbox GROUP BY status"))
    assert all(by_kind[k + (" after" if after else "")] > 0 for k, after in KINDS), by_kind
    assert (sent, lost, doubled) == (len(expected), 0, 0)
    assert statuses == {"sent": len(expected)}
