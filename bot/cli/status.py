"""`python -m bot status`: which process runs the community now (issue 18).

PostgreSQL: the leader is the process whose session holds the community's advisory lock (asked of
`pg_locks`, bot/db/leader.py), with the standbys waiting to take over and the processes that are gone.
SQLite: the one process that holds the database's writer lock (bot/db/writer_lock.py), if any.
"""
from __future__ import annotations

import asyncio
import sys

HELP = "Show which process runs the community: the leader and its standbys (PostgreSQL) or the writer (SQLite)."


def add_arguments(parser) -> None:
    parser.add_argument("--db", help="sqlite:PATH or postgresql://user@host/db[?schema=NAME] "
                                     "(default: the bot's database)")


def run(args) -> int:
    from bot.db.transfer import TransferError
    from bot.db.writer_lock import DatabaseOpenError

    from .db import bot_database

    try:
        target = bot_database(args)
        lines = asyncio.run(status_lines(target))
    except (TransferError, DatabaseOpenError) as exc:
        print(exc, file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


async def status_lines(target) -> list[str]:
    if target.kind == "sqlite":
        return _sqlite_lines(target)
    return await _postgres_lines(target)


def _sqlite_lines(target) -> list[str]:
    from bot.db.leader import sqlite_holder
    from bot.db.transfer import TransferError
    from bot.db.writer_lock import describe_holder

    if not target.path.is_file():
        raise TransferError(f"no database at {target.path}")
    found = sqlite_holder(target.path)
    if found.held:
        who = f"running: {describe_holder(found.holder)}"
    else:
        who = "no bot is running on it"
    return [f"{target}: {who}",
            "(SQLite has one process per database: replicas with a standby need PostgreSQL, see DATABASE_URL)"]


async def _postgres_lines(target) -> list[str]:
    from bot.db.leader import connect_session, describe_row, leader_report
    from bot.db.transfer import TransferError, redact

    try:
        conn = await connect_session(target.dsn, target.schema, role="status")
    except Exception as exc:
        raise TransferError(f"cannot connect to {redact(target.dsn)}: {exc}") from exc
    try:
        try:
            report = await leader_report(conn, target.schema)
        except Exception as exc:  # no schema, or no tables yet
            raise TransferError(f"{target}: no Kizuna community there yet ({type(exc).__name__}); "
                                "create it with `python -m bot db init`") from exc
    finally:
        await conn.close()
    lines = [f"{target}:"]
    if report["leader"] is not None:
        lines.append(f"  leader:  {describe_row(report['leader'])}")
    elif report["holder_pid"] is not None:
        lines.append(f"  leader:  PostgreSQL session {report['holder_pid']} holds the lock (it has not written "
                     "its details yet, or it is a `db` command)")
    else:
        lines.append("  leader:  none (no process holds the lock: the bot is not running, or a standby is "
                     "taking over)")
    for row in report["standbys"]:
        lines.append(f"  standby: {describe_row(row)}")
    for row in report["gone"][-5:]:
        lines.append(f"  gone:    {describe_row(row)} ({row['role']})")
    return lines
