"""The process the fault suite kills: the real outbox (bot.services.outbox on a real SQLite file) sending
a workload to a `FileDiscord` (fault_ledger.py), and dying with SIGKILL at a chosen point.

    python tests/faults/child.py DB LEDGER WORKLOAD [--die POINT:OP:N] [--offset-minutes M]

WORKLOAD: "mixed:900" (channel posts, persona posts, DMs and edits), or "<kind>:<n>" with kind one of
channel, persona, dm, edit. POINT: before (the request never reached Discord), after (Discord did it,
the answer never came back), marked (the outbox recorded it); OP: send | edit; N: the N-th such call
of this run. --offset-minutes shifts this run's clock (a restart after Discord's nonce window).
Every run enqueues the workload (idempotent: dedupe keys), recovers, and sends until nothing is left.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
if "KIZUNA_ROOT" in os.environ:  # which bot to test (the fault suite can measure another checkout)
    sys.path.insert(0, os.environ["KIZUNA_ROOT"])
else:
    sys.path.insert(0, str(HERE.parents[1]))

from fault_ledger import FileDiscord  # noqa: E402

from bot.db import open_database  # noqa: E402
from bot.services.messages import OutMessage, Sent, Target  # noqa: E402
from bot.services.outbox import Outbox, OutboxSettings  # noqa: E402

GUILD = 1


class ShiftedClock:
    def __init__(self, minutes: float) -> None:
        self.offset = timedelta(minutes=minutes)

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset


class Death:
    """Dies (SIGKILL, like `kill -9`: no cleanup, no flush) at the N-th call of one point."""

    def __init__(self, spec: str | None) -> None:
        self.point, self.op, n = (spec.split(":") if spec else (None, None, "0"))
        self.left = int(n)

    def at(self, point: str, op: str) -> None:
        if point == self.point and op == self.op:
            self.left -= 1
            if self.left == 0:
                os.kill(os.getpid(), signal.SIGKILL)


def where(target: Target) -> str:
    return f"dm:{target.value}" if target.kind == "dm" else target.value


class LedgerSender:
    """The outbox's Sender on the file Discord: nonce like discord.py (enforce_nonce), persona posts as
    a webhook (no nonce), edits in place, and `find` through the history."""

    def __init__(self, discord: FileDiscord, clock: ShiftedClock, death: Death) -> None:
        self.discord, self.clock, self.death = discord, clock, death

    async def send(self, guild_id: int, target: Target, message: OutMessage, *, nonce: str | None = None) -> Sent:
        self.death.at("before", "send")
        await asyncio.sleep(0)  # the network
        author = "webhook" if message.as_persona else "bot"
        msg = self.discord.create(where(target), author, message.content, None if message.as_persona else nonce,
                                  self.clock.now())
        self.death.at("after", "send")
        return Sent(msg.id, 0)

    async def edit(self, guild_id: int, target: Target, message_id: int, message: OutMessage) -> Sent:
        self.death.at("before", "edit")
        await asyncio.sleep(0)
        self.discord.edit(message_id, message.content)
        self.death.at("after", "edit")
        return Sent(message_id, 0)

    async def find(self, guild_id: int, target: Target, message: OutMessage, *, since: datetime,
                   exclude: set[int]) -> Sent | None:
        for msg in self.discord.history(where(target), since - timedelta(seconds=5)):
            if msg.id not in exclude and msg.content == message.content:
                return Sent(msg.id, 0)
        return None


def workload(spec: str) -> list[tuple[Target, OutMessage, str]]:
    kind, n = spec.split(":")
    out: list[tuple[Target, OutMessage, str]] = []
    for i in range(int(n)):
        k = kind if kind != "mixed" else ("channel", "channel", "channel", "channel", "channel", "channel",
                                          "persona", "persona", "dm", "edit")[i % 10]
        channel = Target.channel(f"ch{i % 7}")
        if k == "channel":
            out.append((channel, OutMessage(f"post {i}"), f"schedule:s{i % 5}:{i}"))
        elif k == "persona":
            out.append((channel, OutMessage(f"persona {i}", as_persona=True), f"schedule:p{i % 5}:{i}"))
        elif k == "dm":
            out.append((Target.dm(1000 + i % 13), OutMessage(f"dm {i}"), f"drop:1:dm:{i}"))
        else:  # an edit of a post queued just before it
            original = f"edit-base:{i}"
            out.append((channel, OutMessage(f"question {i}"), original))
            out.append((channel, OutMessage(f"question {i} (closed)", replaces=original), f"edit:{i}"))
    return out


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("db")
    parser.add_argument("ledger")
    parser.add_argument("workload")
    parser.add_argument("--die")
    parser.add_argument("--offset-minutes", type=float, default=0.0)
    args = parser.parse_args()
    clock = ShiftedClock(args.offset_minutes)
    death = Death(args.die)
    db = await open_database(args.db)
    outbox = Outbox(db, clock, OutboxSettings(pace=False, backoff_seconds=0.01))
    outbox.sender = LedgerSender(FileDiscord(args.ledger), clock, death)

    async def marked(row: dict, sent: Sent) -> None:
        death.at("marked", "edit" if OutMessage.from_json(row["payload"]).replaces else "send")

    outbox.on_sent(marked)
    if not await db.fetchval("SELECT COUNT(*) FROM outbox"):
        async with db.transaction() as tx:  # all or nothing, even if killed here
            for target, message, key in workload(args.workload):
                await outbox.post_in(tx, GUILD, target, message, dedupe_key=key, not_before=clock.now())
    await outbox.recover()
    print("ready", flush=True)
    while await db.fetchval("SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sending')"):
        await outbox.drain()
        await asyncio.sleep(0.005)  # retries wait for their (short) backoff
    await db.close()
    print("done", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
