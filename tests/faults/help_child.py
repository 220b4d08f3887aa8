"""The process that gets killed: `python tests/faults/help_child.py DB KIND`.

It opens Kizuna on DB, lets a member ask with /help ask, and SIGKILLs itself when the help desk
queues the post KIND is about (a real kill: whatever the help desk had not committed is gone):
- `ask`: the question's post went out and its sending was recorded; the kill comes as the staff-queue
  notice is queued (it links the post, so it follows the post);
- `escalate`: the post waited too long for the team; the kill comes as the mod-log line is queued;
- `close` / `close-dm`: the post went quiet; the kill comes as the closing words (or the DM) are queued.
"""
from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)

from tests.test_submission_atomic import ALICE, GUILD, open_app  # noqa: E402

KEYS = {"ask": "help:queue:", "escalate": "help:escalate:", "close": "help:closing:",
        "close-dm": "help:closed-dm:"}


def die_when_queuing(app, prefix: str) -> None:
    """SIGKILL as a message under `prefix` is queued, inside a transaction (`post_in`) or not (`post`)."""
    post, post_in = app.outbox.post, app.outbox.post_in

    async def dying_post(*args, dedupe_key, **kw):
        if dedupe_key.startswith(prefix):
            os.kill(os.getpid(), signal.SIGKILL)
        return await post(*args, dedupe_key=dedupe_key, **kw)

    async def dying_post_in(tx, *args, dedupe_key, **kw):
        if dedupe_key.startswith(prefix):
            os.kill(os.getpid(), signal.SIGKILL)
        return await post_in(tx, *args, dedupe_key=dedupe_key, **kw)

    app.outbox.post, app.outbox.post_in = dying_post, dying_post_in


async def main(db_path: str, kind: str) -> None:
    app = await open_app(db_path)
    settings = app.config.community.help
    print("ready", flush=True)
    if kind == "ask":
        outbox = app.outbox

        async def sending_recorded(row, sent):  # runs before the help desk's own hook
            await asyncio.gather(*outbox._unrecorded)

        outbox._sent_hooks.insert(0, sending_recorded)
        die_when_queuing(app, KEYS[kind])
    post = await app.support.ask(GUILD, ALICE, title="Lid stuck on the tin", details="It will not open")
    await app.outbox.drain()
    if kind != "ask":
        die_when_queuing(app, KEYS[kind])
        if kind == "escalate":
            app.clock.advance(settings.escalate_after)
            await app.support.escalate(post.id)
        else:
            app.clock.advance(settings.close_after_inactive)
            await app.support.close_inactive(post.id)
    print("survived", flush=True)  # the kill point was never reached
    sys.exit(3)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:3]))
