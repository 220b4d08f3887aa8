"""One `run` replica for the replica test (test_replicas.py): Kizuna's real App on PostgreSQL, behind the
same leader lock and fencing as `python -m bot run` (bot/cli/_replica.py), offline: a FakeClock, the
file Discord of fault_ledger.py, and a drop claim burst fired at the drops service.

    python tests/faults/replica_child.py CONFIG URL DISCORD TOLD [--wait-go] [--die POINT:N]

It prints `standby` when it finds another leader, `leader` once it leads, `ready` once the App has
started (recovered the outbox, caught up the schedules) and `done` at the end. Leading, it walks the
clock minute by minute from T0 (a post is due every minute) while firing one wave of the burst per
minute, concurrently; then queues the drop's DMs and drains the outbox. A replica that takes over
walks the same minutes and fires the whole burst again (members click again when a bot goes quiet):
what was done is in the database, so the ledgers turn the repeats away.

--wait-go: having started, wait for a line on stdin before the first minute (the test starts the
standby first). --die POINT:N: SIGKILL itself at
  told   right after the N-th "it's yours" was recorded, with the rest of its wave and the minute's
         post still in flight
  post   right after the N-th scheduled post reached Discord, before the outbox recorded it
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sys
import time
import traceback
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from child import Death, LedgerSender  # noqa: E402
from fault_ledger import FileDiscord  # noqa: E402

from bot.app import App  # noqa: E402
from bot.cli._replica import lead, run_leading  # noqa: E402
from bot.clock import FakeClock  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.db.transfer import parse_target  # noqa: E402
from bot.errors import UserError  # noqa: E402
from bot.services.outbox import OutboxSettings  # noqa: E402

GUILD = 1
DROP = "burst"
T0 = datetime(2026, 12, 10, 11, 0, tzinfo=timezone.utc)
MINUTES = 16  # one post due each minute
MEMBERS = [7000 + i for i in range(40)]
PRESSES_EACH = 3
STOCK, LIMIT = 30, 2
POLL = 0.1  # the standby's tries for the lead (the bot's default is 1 s)

DROPS_YAML = f"""
drops:
  - id: {DROP}
    item: Replica tin
    stock: {STOCK}
    limit: {LIMIT}
    codes: codes/{DROP}.csv
    channel: announcements
"""
CODES = "code\n" + "".join(f"REPL-{i:04d}\n" for i in range(STOCK))
SCHEDULES_YAML = """
grace: 1h
schedules:
  - id: tick
    channel: lounge
    cron: "* * * * *"
    text: "tick {date} {time}"
"""


def burst() -> list[int]:
    presses = MEMBERS * PRESSES_EACH
    random.Random(18).shuffle(presses)
    return presses


def waves() -> list[list[int]]:
    presses = burst()
    size = -(-len(presses) // MINUTES)
    return [presses[i:i + size] for i in range(0, len(presses), size)]


def say(line: str) -> None:
    print(f"{line} {time.monotonic():.6f}", flush=True)


def die() -> None:
    say("dying")  # the moment of the kill, for the test's takeover time
    os.kill(os.getpid(), signal.SIGKILL)


class Members:
    async def member_role_keys(self, guild_id, user_id):
        return {"member"}

    async def add_role(self, *a, **k):
        return True

    async def remove_role(self, *a, **k):
        return True

    async def members_with_role(self, guild_id, role_key):
        return []


class Sender(LedgerSender):
    """The file Discord; dies right after the N-th scheduled post reached it (before the outbox knew)."""

    def __init__(self, discord, clock, post_n: int | None) -> None:
        super().__init__(discord, clock, Death(None))
        self.post_n = post_n
        self.posts = 0

    async def send(self, guild_id, target, message, *, nonce=None):
        sent = await super().send(guild_id, target, message, nonce=nonce)
        if message.content.startswith("tick "):
            self.posts += 1
            if self.posts == self.post_n:
                die()
        return sent


async def work(args, point: str | None, n: int) -> int:
    clock = FakeClock(T0)
    app = await App.open(load_config(args.config), db_path=args.url, clock=clock, real_scheduler=False,
                         outbox_settings=OutboxSettings(pace=False, backoff_seconds=0.01))
    app.outbox.sender = Sender(FileDiscord(args.discord), clock, n if point == "post" else None)
    app.guild = Members()
    app.guild_id = GUILD
    await app.start()  # the new leader's recovery: the outbox's half-sent rows, interrupted schedule claims
    try:
        await app.drops.open(GUILD, DROP)
    except UserError:  # open since the old leader
        pass
    run_id = await app.db.fetchval("SELECT id FROM drops WHERE status = 'open'")
    say("ready")
    if args.wait_go:
        await asyncio.to_thread(sys.stdin.readline)
    told_fd = os.open(args.told, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    told = 0

    async def press(user_id: int) -> None:
        nonlocal told
        try:
            result = await app.drops.press(GUILD, run_id, user_id)
        except UserError:
            return
        if result.status == "granted":
            os.write(told_fd, f"{user_id} {result.held}\n".encode())
            os.fsync(told_fd)
            told += 1
            if point == "told" and told == n:
                die()

    clicks = waves()
    for minute in range(1, MINUTES + 1):
        wave = clicks[minute - 1] if minute <= len(clicks) else []
        # the minute's post and a wave of clicks at once, as a live bot has them
        await asyncio.gather(app.scheduler.advance_to(T0 + timedelta(minutes=minute)),
                             *(press(u) for u in wave))
        await app.outbox.drain()
    await app.drops.stop()  # the follow-ups (codes, DMs) are queued
    for _ in range(2000):
        if not await app.db.fetchval("SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sending')"):
            break
        await app.outbox.drain()
        await asyncio.sleep(0.005)
    await app.close()
    say("done")
    return 0


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("config")
    parser.add_argument("url")
    parser.add_argument("discord")
    parser.add_argument("told")
    parser.add_argument("--wait-go", action="store_true")
    parser.add_argument("--die")
    args = parser.parse_args()
    point, n = args.die.split(":") if args.die else (None, "0")
    leadership = await lead(parse_target(args.url), poll=POLL, on_standby=lambda row: say("standby"))
    say("leader")
    return await run_leading(leadership, work(args, point, int(n)))


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main()))
    except SystemExit:
        raise
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
