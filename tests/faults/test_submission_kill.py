"""kill -9 of a real process in the middle of a member's submission, then a restart: every stored
submission has its posts, each sent exactly once; nothing was stored without them.

Kinds: a flagged feedback item (public post + mod-queue copy), an application (queue card), an AMA
question (its post), a prompt suggestion (its card). Points: inside the submission's transaction,
after its commit, and an older version's way of dying (row committed alone: the start-up repair).
Prints the ledger of each case."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.faults.kill import run_child
from tests.test_submission_atomic import expected_posts, missing_posts, open_app

pytestmark = pytest.mark.sqlite_only("a child process killed while writing a SQLite file")

CHILD = Path(__file__).with_name("submission_child.py")
KINDS = ("feedback", "application", "question", "suggestion")
POINTS = ("in-transaction", "after-commit", "old-version")


def kill_child(db: Path, kind: str, point: str) -> int:
    return run_child(CHILD, db, kind, point, never_reached=f"the kill point {point} was never reached").returncode


@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("kind", KINDS)
async def test_kill_9_during_a_submission_leaves_it_whole_after_restart(tmp_path, kind, point):
    db = tmp_path / "k.db"
    code = kill_child(db, kind, point)
    assert code == -9, f"the child was meant to die by SIGKILL, exited {code}"

    app = await open_app(db)  # the restart
    try:
        stored = await expected_posts(app.db)
        missing = await missing_posts(app.db)
        await app.outbox.drain()
        sent_keys = Counter(r[0] for r in await app.db.fetchall("SELECT dedupe_key FROM outbox WHERE status = 'sent'"))
        mine = {k for k in stored if not k.startswith("ama:open:")}
        doubled = sum(n - 1 for n in sent_keys.values() if n > 1)
        delivered = [k for k in mine if sent_keys[k] == 1]
        print(f"\n{kind:<11} killed {point:<15} stored posts owed {len(mine)}, missing {len(missing)}, "
              f"sent {len(delivered)}, doubled {doubled}, messages to Discord {len(app.outbox.sender.sent)}")
        assert missing == []
        assert len(delivered) == len(mine)
        assert doubled == 0
        if point == "in-transaction":
            assert mine == set()  # nothing committed: the member was told it failed, and may send again
        else:
            assert mine  # committed (or left by the old version) and now posted
        # exactly one message per owed post (the AMA opening post went out before the kill)
        assert len([m for t, m in app.outbox.sender.sent if t.value != "mod-log"]) == len(mine)
    finally:
        await app.close()
