"""`python -m bot preview [--days 7] [--tz Asia/Tokyo]`: the timeline of what schedules.yaml will post,
where each action posts (and which prompt), content reveals and drop windows.

Pools are resolved from the positions stored in the bot's database (when it exists), exactly as the
running bot would draw them; nothing is written.
"""
from __future__ import annotations

import asyncio
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.clock import SystemClock

from ._common import load_or_report

HELP = ("Print what will post where and when over the next days: schedules (pools and prompts resolved), "
        "content reveals and drop windows.")


def add_arguments(parser) -> None:
    parser.add_argument("--days", type=int, default=7, help="how many days ahead (default 7)")
    parser.add_argument("--tz", help="show times in this time zone (default: the community's)")
    parser.add_argument("--from", dest="start", help="start at this ISO time instead of now (e.g. 2026-12-01T00:00+09:00)")
    parser.add_argument("--db", help="the bot's SQLite file, for pool positions and pauses (default: as `run`)")


def run(args) -> int:
    config = load_or_report(args.config)
    if config is None:
        return 1
    try:
        tz = ZoneInfo(args.tz) if args.tz else config.timezone
    except (ZoneInfoNotFoundError, ValueError):
        print(f"--tz: {args.tz!r} is not an IANA time zone name (like Asia/Tokyo)", file=sys.stderr)
        return 2
    try:
        start = _start(args.start, tz)
    except ValueError:
        print(f"--from: {args.start!r} is not an ISO date and time (like 2026-12-01T00:00)", file=sys.stderr)
        return 2
    if args.days < 1:
        print("--days must be at least 1", file=sys.stderr)
        return 2
    from bot.app import database_path
    from bot.db.connection import DatabaseUnavailable

    if not args.db and not _exists(database_path(config)):
        print(f"(no database at {database_path(config)} yet: pools and prompts start at their beginning)",
              file=sys.stderr)
    try:
        lines = asyncio.run(preview_lines(config, start, timedelta(days=args.days), tz, args.db))
    except DatabaseUnavailable as exc:
        print(exc, file=sys.stderr)
        return 1
    for line in lines:
        print(line)
    return 0


def _exists(target) -> bool:
    from bot.db.connection import is_postgres_url

    return is_postgres_url(str(target)) or Path(target).exists()


def _start(text: str | None, tz: ZoneInfo) -> datetime:
    if not text:
        return SystemClock().now()
    value = datetime.fromisoformat(text)
    return (value if value.tzinfo else value.replace(tzinfo=tz)).astimezone(timezone.utc)


async def preview_lines(config, start: datetime, span: timedelta, tz: ZoneInfo, db_path: str | None = None,
                        guild_id: int | None = None) -> list[str]:
    from bot.app import App, database_path
    from bot.clock import FakeClock
    from bot.db import schedules as repo
    from bot.services.schedules import format_timeline
    from bot.services.upcoming import upcoming

    path = db_path if db_path else database_path(config)
    if db_path or _exists(path):  # read the bot's database, never create or migrate it
        app = await App.open(config, db_path=path, clock=FakeClock(start), real_scheduler=False, read_only=True)
    else:  # no database yet: pools start at their beginning
        app = await App.open(config, db_path=":memory:", clock=FakeClock(start), real_scheduler=False)
    try:
        if guild_id is None:
            guild_id = app.guild_id
        if guild_id is None:
            guilds = await repo.known_guilds(app.db)
            guild_id = guilds[0] if len(guilds) == 1 else 0
        app.guild_id = guild_id  # the community this preview is of (services read it from the app)
        entries = await upcoming(app, start, start + span, guild_id)
    finally:
        await app.close()
    header = (f"# {config.community.info.name}: {len(entries)} scheduled item(s) from "
              f"{start.astimezone(tz):%Y-%m-%d %H:%M} to {(start + span).astimezone(tz):%Y-%m-%d %H:%M} ({tz.key})")
    return [header, *format_timeline(entries, tz)]
