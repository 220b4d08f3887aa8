"""`python -m bot db init|migrate|status|copy|backup`: the operators' storage commands (issue 18).

A store is `sqlite:PATH` (or a bare path) or `postgresql://user@host/database[?schema=NAME]`; without
--db, the one the bot would use (DATABASE_URL, KIZUNA_DB, community.database, data/kizuna.db).
The work is in bot/db/transfer.py; this module only reads the arguments and prints.
"""
from __future__ import annotations

import asyncio
import os
import shlex
import subprocess
import sys
from pathlib import Path

HELP = ("Storage for operators: `db init|migrate|status [--db STORE]`, `db copy --from STORE --to STORE`, "
        "`db backup [--db STORE] [--out FILE]` (STORE: sqlite:PATH or postgresql://...).")

STORE = "sqlite:PATH or postgresql://user@host/db[?schema=NAME]"
DB_HELP = STORE + " (default: the bot's database)"


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="db_command", metavar="action", required=True)
    for name, text in (("init", "create the database (SQLite file or PostgreSQL schema) and apply every migration"),
                       ("migrate", "apply the migrations an existing database is missing"),
                       ("status", "list the applied and pending migrations")):
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument("--db", help=DB_HELP)
    p = sub.add_parser("copy", help="copy a community, every row of every table, into an empty store",
                       description="Copy a community, every row of every table, into an empty store; counts "
                                   "and checksums are verified before anything is committed.")
    p.add_argument("--from", dest="source", required=True, help="the store to read: " + STORE)
    p.add_argument("--to", dest="target", required=True,
                   help="the empty store to fill (created and migrated if missing): " + STORE)
    p = sub.add_parser("backup", help="back up the database (SQLite: online backup; PostgreSQL: pg_dump)")
    p.add_argument("--db", help=DB_HELP)
    p.add_argument("--out", help="the backup file (default: beside the database, named with the time)")


def bot_database(args):
    """The store the bot itself would use (a Target): --db, else what `run` opens (DATABASE_URL,
    KIZUNA_DB, community.database and community.database_schema; bot/app.py `database_path`)."""
    from bot.app import database_path
    from bot.config import load_config
    from bot.db.transfer import parse_target
    from bot.errors import ConfigError

    if getattr(args, "db", None):
        return parse_target(args.db)
    try:
        config = load_config(args.config)
    except ConfigError:  # a broken config still names its database: read it as `run` does then
        from .run import _database_in

        return parse_target(os.environ.get("DATABASE_URL") or os.environ.get("KIZUNA_DB")
                            or _database_in(args.config) or "data/kizuna.db")
    return parse_target(str(database_path(config)), schema=config.community.info.database_schema)


def run(args) -> int:
    from bot.db.transfer import TransferError, parse_target
    from bot.db.writer_lock import DatabaseOpenError

    try:
        if args.db_command == "copy":
            return asyncio.run(_copy(parse_target(args.source), parse_target(args.target)))
        target = bot_database(args)
        if args.db_command == "status":
            return asyncio.run(_status(target))
        if args.db_command in ("init", "migrate"):
            return asyncio.run(_migrate(target, create=args.db_command == "init"))
        return _backup(target, args.out)
    except (TransferError, DatabaseOpenError) as exc:
        print(exc, file=sys.stderr)
        return 1


async def _status(target) -> int:
    from bot.db.transfer import migration_status

    status = await migration_status(target)
    print(f"{target}: {len(status.applied)} migration(s) applied, {len(status.pending)} pending")
    for version, name in status.applied:
        print(f"  applied  {name}")
    for version, name in status.pending:
        print(f"  pending  {name}")
    for version in status.unknown:
        print(f"  unknown  {version:04d} (applied by a newer Kizuna)")
    if status.pending:
        print("run `python -m bot db migrate` (or start the bot) to apply the pending ones")
    return 0


async def _migrate(target, *, create: bool) -> int:
    from bot.db.transfer import migrate

    applied = await migrate(target, create=create)
    if applied:
        print(f"{target}: applied {len(applied)} migration(s): {', '.join(applied)}")
    else:
        print(f"{target}: up to date, nothing to apply")
    return 0


async def _copy(source, target) -> int:
    from bot.db.transfer import copy_community, migrate

    async def prepare(store) -> None:
        await migrate(store, create=True)

    report = await copy_community(source, target, prepare_target=prepare)
    width = max((len(t.name) for t in report.tables), default=5)
    for table in report.tables:
        mark = "ok" if table.same else "MISMATCH"
        print(f"  {table.name:<{width}}  {table.source.count:>9} rows  {table.source.hex[:16]}  "
              f"{table.target.count:>9} rows  {table.target.hex[:16]}  {mark}")
    if not report.committed:
        bad = ", ".join(t.name for t in report.mismatched)
        print(f"the copy did not match its source in {bad}: nothing was committed to {target}", file=sys.stderr)
        return 1
    print(f"copied {report.rows} rows in {len(report.tables)} tables from {source} to {target}; counts and "
          "checksums verified")
    return 0


def _backup(target, out: str | None) -> int:
    from bot.clock import SystemClock
    from bot.db.transfer import backup_sqlite, default_backup_name, pg_dump_available, pg_dump_command

    path = Path(out) if out else default_backup_name(target, SystemClock().now())  # when it was really taken
    if target.kind == "sqlite":
        pages = backup_sqlite(target.path, path)
        print(f"backed up {target.path} to {path} ({pages} pages, checked); restore: stop the bot, copy it "
              "back in place of the database")
        return 0
    command = pg_dump_command(target, path)
    shown = shlex.join(command).replace(target.dsn, _redacted(target.dsn))
    if not pg_dump_available():
        print("pg_dump is not installed here: install PostgreSQL's client tools (the same major version as "
              f"the server, e.g. `apt-get install postgresql-client`) and run:\n  {shown}\n"
              "or use your provider's managed backups. Restore with `pg_restore --dbname URL FILE`.",
              file=sys.stderr)
        return 2
    print(f"running: {shown}")
    done = subprocess.run(command)
    if done.returncode != 0:
        print(f"pg_dump failed (exit {done.returncode}); see its message above", file=sys.stderr)
        return 1
    print(f"backed up schema {target.schema} to {path}; restore with `pg_restore --dbname URL {path}`")
    return 0


def _redacted(dsn: str) -> str:
    from bot.db.transfer import redact

    return redact(dsn)
