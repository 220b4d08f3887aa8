"""kill -9 around the points a helper earns for answering someone's question (issue 21's closing note:
"points for help answers are awarded after the commit, so a crash can lose points"). The process
(help_points_child.py) dies as the points are written, or just after; after the restart the answer and
its points are both there or both not, and doing it again (a replayed event, the member trying again)
leaves exactly one award. Prints each case's figures."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.errors import UserError
from tests.faults.kill import run_child
from tests.test_submission_atomic import ALICE, BOB, GUILD, T0, open_app

CHILD = Path(__file__).with_name("help_points_child.py")
KINDS = ["answer-award", "answer-after", "solve-award", "solve-after"]
ANSWERED_AFTER = timedelta(minutes=10)  # as in the child
THREAD = 501


def kill_child(db: Path, kind: str) -> int:
    return run_child(CHILD, db, kind, never_reached=f"the kill point of {kind} was never reached").returncode


async def act(app, action: str, post_id: int) -> None:
    """What the child did, again: a replayed gateway event, or the member trying again."""
    if action == "answer":
        await app.support.message_in_post(GUILD, thread_id=THREAD, author_id=BOB, is_staff=False)
    else:
        await app.support.solve(GUILD, post_id, actor_id=ALICE, is_staff=False, answer_text="Warm the lid.",
                                answer_author_id=BOB)


async def awards(app) -> int:
    return await app.db.fetchval("SELECT COUNT(*) FROM participation_ledger WHERE user_id = ? AND action = ?",
                                 (BOB, "help_answer"))


@pytest.mark.parametrize("kind", KINDS)
async def test_kill_9_around_a_helpers_points_loses_nothing_and_doubles_nothing(tmp_path, kind):
    db = tmp_path / "p.db"
    assert kill_child(db, kind) == -9, "the child was meant to die by SIGKILL"
    action = kind.split("-")[0]

    app = await open_app(db)  # the restart
    try:
        app.clock.set(T0 + ANSWERED_AFTER)
        post = await app.support.get(GUILD, 1)
        recorded = post.state == "solved" if action == "solve" else post.last_activity_at == T0 + ANSWERED_AFTER
        points = await app.participation.points(GUILD, BOB)
        print(f"\nhelp points {kind:<13} answer recorded {recorded}, points {points}, awards {await awards(app)}")
        assert points == (5 if recorded else 0), "the answer and its points must be both there or both not"
        try:
            await act(app, action, post.id)  # again: a replayed event, or the member trying again
        except UserError as exc:
            assert exc.key == "support.already_solved"
        assert await app.participation.points(GUILD, BOB) == 5
        assert await awards(app) == 1
    finally:
        await app.close()
