"""`run` on PostgreSQL: wait as a standby until this process leads the community, then run the bot while
the lead lasts (bot/db/leader.py). On SQLite nothing changes: the writer lock refuses a second process."""
from __future__ import annotations

import asyncio
import logging
import os
import sys
from typing import Awaitable

log = logging.getLogger("bot.replica")
LOST_EXIT = 3  # the exit code of a leader that lost its lock (a supervisor restarts it as a standby)


def postgres_target(config, db_arg):
    """The community's PostgreSQL store (a `Target`, as `App.open` opens it), or None on SQLite."""
    from bot.app import database_path
    from bot.db.connection import is_postgres_url
    from bot.db.transfer import parse_target

    where = database_path(config, db_arg)
    if not is_postgres_url(str(where)):
        return None
    return parse_target(str(where), schema=config.community.info.database_schema)


async def lead(target, *, poll: float | None = None, on_standby=None):
    """Connect the lock session and wait until this process leads; says so on stderr while it waits
    (and calls `on_standby(leader_row)` then, if given)."""
    from bot.db.leader import POLL, Leadership, describe_row

    leadership = await Leadership.connect(target.dsn, target.schema, poll=poll or POLL)

    def standby(row) -> None:
        who = describe_row(row) if row else "another process"
        print(f"standby: {target} is led by {who}; this process waits and takes over when that one stops",
              file=sys.stderr, flush=True)
        if on_standby is not None:
            on_standby(row)

    await leadership.wait_until_leader(on_standby=standby)
    print(f"leading {target}", file=sys.stderr, flush=True)
    return leadership


async def run_leading(leadership, main: Awaitable[int]) -> int:
    """Run `main` (the bot) while this process leads. The moment the lead is lost the process exits
    (LOST_EXIT) without closing anything: a standby may already be taking over, and stopping at once
    is the only way not to send beside it (fencing; see bot/db/leader.py). The lead is lost when the
    heartbeat's check fails or when the outbox's fence finds another leader's term (it wakes `watch`)."""
    from bot.db.leader import LeadershipLost
    from bot.leading import leading

    token = leading.set(leadership)  # the bot's App fences its outbox with it (bot/db/leader.py Fence)
    try:
        work = asyncio.ensure_future(main)  # the task keeps a copy of this context
    finally:
        leading.reset(token)
    watch = asyncio.ensure_future(leadership.watch())
    done, _ = await asyncio.wait({work, watch}, return_when=asyncio.FIRST_COMPLETED)
    if watch in done:
        try:
            watch.result()
        except LeadershipLost as exc:
            log.critical("%s: stopping now", exc)
        else:  # pragma: no cover - watch only ends by raising
            log.critical("the leader's watch ended: stopping now")
        logging.shutdown()
        sys.stderr.flush()
        os._exit(LOST_EXIT)
    watch.cancel()
    try:
        await watch
    except (asyncio.CancelledError, Exception):
        pass
    await leadership.release()
    return work.result()
