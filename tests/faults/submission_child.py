"""The process that gets killed: `python tests/faults/submission_child.py DB KIND POINT`.

It opens Kizuna on DB (approval mode), makes one member submission of KIND and SIGKILLs itself at
POINT:
- `in-transaction`: inside the submission's transaction, right after its row was written and
  its first post queued (nothing is committed yet);
- `after-commit`: the transaction committed, the worker not yet woken (nothing sent);
- `old-version`: the row written in its own transaction and the process killed before any post is
  queued: what an older Kizuna did, which the start-up repair must mend.
"""
from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import aiosqlite

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)

from bot.app import App  # noqa: E402
from bot.clock import FakeClock  # noqa: E402
from bot.db.connection import Tx  # noqa: E402
from bot.db import ama as ama_repo  # noqa: E402
from bot.db import feedback as feedback_repo  # noqa: E402
from bot.db import membership as membership_repo  # noqa: E402
from bot.db import participation as participation_repo  # noqa: E402
from tests.test_submission_atomic import (T0, FakeGuild, RecordingSender, approval_config,  # noqa: E402
                                          open_ama, submit_application, submit_feedback, submit_question,
                                          submit_suggestion)

SUBMIT = {"feedback": submit_feedback, "application": submit_application, "question": submit_question,
          "suggestion": submit_suggestion}
# the repository call that writes each kind's row (the old version committed it on its own)
ROW_WRITER = {"feedback": (feedback_repo, "insert_item_within_limit"),
              "application": (membership_repo, "create_application"),
              "question": (ama_repo, "add_question"),
              "suggestion": (participation_repo, "add_suggestion")}


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


async def main(db_path: str, kind: str, point: str) -> None:
    app = await App.open(approval_config(), db_path=db_path, clock=FakeClock(T0), real_scheduler=False)
    app.outbox.sender = RecordingSender()
    app.guild = FakeGuild()
    app.guild_id = 1000
    await app.start()
    await open_ama(app)  # a session to ask in (its opening post is sent here)
    print("ready", flush=True)
    if point == "in-transaction":
        post_in = app.outbox.post_in

        async def post_in_then_die(*args, **kw):
            await post_in(*args, **kw)
            die()

        app.outbox.post_in = post_in_then_die
    elif point == "after-commit":
        app.outbox.wake = die
    elif point == "old-version":
        module, name = ROW_WRITER[kind]
        write_row = getattr(module, name)

        # the old code committed the row on its own and queued the posts after: the service's
        # transaction is let go of, the row committed from a second connection, then the kill
        async def old_write(tx, **kw):
            conn = await aiosqlite.connect(db_path)
            conn.row_factory = aiosqlite.Row
            await tx.conn.rollback()
            await conn.execute("BEGIN IMMEDIATE")
            await write_row(Tx(conn), **kw)
            await conn.commit()
            die()

        setattr(module, name, old_write)
    else:
        raise SystemExit(f"unknown point {point}")
    await SUBMIT[kind](app)
    print("survived", flush=True)  # the kill point was never reached
    sys.exit(3)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
