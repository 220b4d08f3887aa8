"""The process that gets killed: `python tests/faults/help_points_child.py DB KIND`.

It opens Kizuna on DB; a member (ALICE) opens a post in the help forum; then KIND happens and the process
SIGKILLs itself at a point of it (a real kill: whatever was not committed is gone):
- `answer-award` / `answer-after`: another member (BOB) answers in the post; the kill comes as his
  help_answer points are written to the ledger, or once they were (the `points.changed` event);
- `solve-award` / `solve-after`: ALICE marks the post solved, naming BOB's answer; the same two points.
test_help_points_kill.py does the same action again after the restart.
"""
from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)

import bot.db.participation as ledger_repo  # noqa: E402
from tests.test_submission_atomic import ALICE, BOB, GUILD, open_app  # noqa: E402

THREAD = 501
ANSWERED_AFTER = timedelta(minutes=10)


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def die_at(app, point: str) -> None:
    if point == "award":  # as the ledger row is written (in whichever transaction that is)
        award_in = ledger_repo.award_in

        async def dying_award_in(tx, **kw):
            if kw.get("action") == "help_answer":
                die()
            return await award_in(tx, **kw)

        ledger_repo.award_in = dying_award_in
    else:  # once the points are committed: the event that tells the tiers
        emit = app.events.emit

        async def dying_emit(name, **kw):
            if name == "points.changed":
                die()
            return await emit(name, **kw)

        app.events.emit = dying_emit


async def main(db_path: str, kind: str) -> None:
    app = await open_app(db_path)
    print("ready", flush=True)
    post = await app.support.opened_in_forum(GUILD, thread_id=THREAD, asker_id=ALICE, title="Lid stuck on the tin",
                                             tags=[])
    await app.outbox.drain()
    app.clock.advance(ANSWERED_AFTER)
    action, point = kind.split("-")
    die_at(app, point)
    if action == "answer":
        await app.support.message_in_post(GUILD, thread_id=THREAD, author_id=BOB, is_staff=False)
    else:
        await app.support.solve(GUILD, post.id, actor_id=ALICE, is_staff=False, answer_text="Warm the lid.",
                                answer_author_id=BOB)
    print("survived", flush=True)  # the kill point was never reached
    sys.exit(3)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:3]))
