"""The process the drop-claim fault test kills: Kizuna's real drops service on a real SQLite file,
a first-come claim burst fired at it in waves, dying with SIGKILL at a chosen point.

    python tests/faults/drop_child.py CONFIG DB DISCORD TOLD [--die POINT:N]

CONFIG: a config folder whose drops.yaml has the drop `burst` (first come, with codes). DISCORD: the
fake Discord's append-only file (fault_ledger.py): the announcement and the winners' DMs land there.
TOLD: an fsynced line `user slot` for every "it's yours" answer, written when `press` returns it (the
moment the cog would reply): the ledger of what members were told.

Every run opens the drop if it is not open yet, fires the whole burst (a restart: the members click
again), lets the drop's follow-ups queue the DMs, and drains the outbox to the end.

POINT (N counts from 1 in this run):
  insert        inside the N-th claim batch's transaction, at its claim INSERT (nothing of it written)
  stock         inside it, at the stock UPDATE (its claims written, not committed)
  commit        at its COMMIT statement, before SQLite has committed it
  after-commit  at the first statement after its COMMIT (committed; its claimers maybe not told yet)
  told          right after the N-th "it's yours" was recorded (told, DM not sent)
  queued        right after the N-th winner's DM was committed to the outbox (before the claim is
                marked as DM'd: the restart queues it again, the dedupe key keeps it single)
  dm            right after the N-th message reached Discord, before the outbox recorded it
The batch points watch the SQL the connection runs (aiosqlite's `set_trace_callback`), so they hold
whatever shape the drops service has inside: a claim batch is the transaction that inserts claims.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sys
import traceback
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from child import Death, LedgerSender  # noqa: E402
from fault_ledger import FileDiscord  # noqa: E402

from bot.app import App  # noqa: E402
from bot.clock import FakeClock  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.errors import UserError  # noqa: E402
from bot.services.outbox import OutboxSettings  # noqa: E402

GUILD = 1
DROP = "burst"
T0 = datetime(2026, 12, 10, 11, 0, tzinfo=timezone.utc)
MEMBERS = [5000 + i for i in range(50)]
PRESSES_EACH = 3
WAVE = 12  # claims fired together: about one claim batch each
STOCK, LIMIT = 40, 2

DROPS_YAML = f"""
drops:
  - id: {DROP}
    item: Burst tin
    stock: {STOCK}
    limit: {LIMIT}
    codes: codes/{DROP}.csv
    channel: announcements
"""
CODES = "code\n" + "".join(f"BURST-{i:04d}\n" for i in range(STOCK))


def burst() -> list[int]:
    presses = MEMBERS * PRESSES_EACH
    random.Random(14).shuffle(presses)
    return presses


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class Members:
    """The guild port: everyone is a plain member."""

    async def member_role_keys(self, guild_id, user_id):
        return {"member"}

    async def add_role(self, *a, **k):
        return True

    async def remove_role(self, *a, **k):
        return True

    async def members_with_role(self, guild_id, role_key):
        return []


class BatchKiller:
    """Runs in aiosqlite's thread for every statement: dies at the chosen point of the N-th claim batch."""

    def __init__(self, point: str | None, n: int) -> None:
        self.point, self.n = point, n
        self.batches = 0
        self.in_batch = False
        self.die_next = False
        self.dms_queued = 0
        self.dm_committing = False

    def __call__(self, sql: str) -> None:
        if self.die_next:
            die()
        head = sql.lstrip()[:40].upper()
        if head.startswith("INSERT INTO OUTBOX") and ":dm:" in sql:  # (the trace shows the bound values)
            self.dms_queued += 1
            self.dm_committing = self.point == "queued" and self.dms_queued == self.n
        elif head.startswith("COMMIT") and self.dm_committing:
            self.die_next = True
        elif head.startswith("INSERT INTO DROP_CLAIMS"):
            self.in_batch = True
            self.batches += 1
            self.at("insert")
        elif head.startswith("UPDATE DROPS SET REMAINING") and self.in_batch:
            self.at("stock")
        elif head.startswith("COMMIT") and self.in_batch:
            self.in_batch = False
            self.at("commit")
            self.die_next = self.point == "after-commit" and self.batches == self.n
        elif head.startswith("ROLLBACK"):
            self.in_batch = False

    def at(self, point: str) -> None:
        if point == self.point and self.batches == self.n:
            die()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("config")
    parser.add_argument("db")
    parser.add_argument("discord")
    parser.add_argument("told")
    parser.add_argument("--die")
    args = parser.parse_args()
    point, n = args.die.split(":") if args.die else (None, "0")
    n = int(n)

    clock = FakeClock(T0)
    app = await App.open(load_config(args.config), db_path=args.db, clock=clock, real_scheduler=False,
                         outbox_settings=OutboxSettings(pace=False, backoff_seconds=0.01))
    app.outbox.sender = LedgerSender(FileDiscord(args.discord), clock,
                                     Death(f"after:send:{n}" if point == "dm" else None))
    app.guild = Members()
    app.guild_id = GUILD
    await app.start()  # recovers the outbox; the drops service re-runs unfinished deliveries
    await app.db.conn.set_trace_callback(BatchKiller(point, n))
    try:  # the cog's calls only (`/drop open`, the Claim button): the drops service's inside may change
        await app.drops.open(GUILD, DROP)
    except UserError:  # open since an earlier run
        pass
    drop_id = await app.db.fetchval("SELECT id FROM drops WHERE status = 'open'")
    told_fd = os.open(args.told, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    told = 0
    print("ready", flush=True)

    async def press(user_id: int) -> None:
        nonlocal told
        try:
            result = await app.drops.press(GUILD, drop_id, user_id)
        except UserError:
            return  # sold out, already holds the limit: told so, nothing to record
        if result.status == "granted":
            os.write(told_fd, f"{user_id} {result.held}\n".encode())
            os.fsync(told_fd)
            told += 1
            if point == "told" and told == n:
                die()

    presses = burst()
    for i in range(0, len(presses), WAVE):
        await asyncio.gather(*(press(u) for u in presses[i:i + WAVE]))
    await app.drops.stop()  # the follow-ups (codes, DMs) are queued
    for _ in range(2000):  # retries wait for their (short) backoff; rows left over show in the figures
        if not await app.db.fetchval("SELECT COUNT(*) FROM outbox WHERE status = 'pending'"):
            break
        await app.outbox.drain()
        await asyncio.sleep(0.005)
    await app.close()
    print("done", flush=True)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except BaseException:  # exit at once: aiosqlite's (non-daemon) thread would keep a failed run alive
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
