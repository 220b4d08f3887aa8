"""kill -9 of a real process while the help desk is queuing what a question causes, then a restart:
the staff-queue notice, the escalation line and the closing words each go out exactly once.

The process (help_child.py) asks with /help ask and dies at the point named by KIND; after the restart
the timers fire as they would (the clock moved past their deadlines). Prints each case's figures."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.faults.kill import run_child
from tests.test_submission_atomic import T0, open_app

CHILD = Path(__file__).with_name("help_child.py")
OWED = {"ask": ("help:post:1", "help:queue:1"),
        "escalate": ("help:post:1", "help:queue:1", "help:escalate:1"),
        "close": ("help:post:1", "help:queue:1", "help:closing:1", "help:closed-dm:1"),
        "close-dm": ("help:post:1", "help:queue:1", "help:closing:1", "help:closed-dm:1")}


def kill_child(db: Path, kind: str) -> int:
    return run_child(CHILD, db, kind, never_reached=f"the kill point of {kind} was never reached").returncode


@pytest.mark.parametrize("kind", list(OWED))
async def test_kill_9_while_the_help_desk_queues_leaves_nothing_lost_after_restart(tmp_path, kind):
    db = tmp_path / "h.db"
    assert kill_child(db, kind) == -9, "the child was meant to die by SIGKILL"

    app = await open_app(db)  # the restart (its start() repairs what the kill left)
    try:
        settings = app.config.community.help
        post = await app.support.get(1000, 1)
        if kind == "escalate":  # the re-armed timer fires
            app.clock.set(T0 + settings.escalate_after)
            await app.support.escalate(post.id)
        elif kind.startswith("close"):
            app.clock.set(T0 + settings.close_after_inactive)
            await app.support.close_inactive(post.id)
        await app.outbox.drain()
        rows = await app.db.fetchall("SELECT dedupe_key, status FROM outbox WHERE dedupe_key LIKE 'help:%'")
        keys = Counter(r["dedupe_key"] for r in rows)
        sent = {r["dedupe_key"] for r in rows if r["status"] == "sent"}
        post = await app.support.get(1000, 1)
        print(f"\nhelp {kind:<9} owed {len(OWED[kind])}, queued {len(keys)}, sent {len(sent)}, "
              f"doubled {sum(n - 1 for n in keys.values())}, post known in Discord: {post.thread_id is not None}")
        assert sent == set(OWED[kind]), sorted(keys)
        assert post.thread_id is not None  # its replies, tags and timers follow it
        if kind.startswith("close"):
            assert post.state == "closed"
    finally:
        await app.close()
