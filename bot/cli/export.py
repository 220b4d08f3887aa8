"""`python -m bot export <kind>`: write stored data as CSV (UTF-8 with BOM, so Excel reads Japanese).

Kinds are a registry: add one by writing an async `(app, args) -> (bytes, count)` and listing it in
EXPORTERS.
"""
from __future__ import annotations

import sys
from functools import partial
from pathlib import Path
from typing import Awaitable, Callable


from ._common import missing_folder, run_offline

HELP = ("Export stored data as CSV: `export feedback|members|leaderboard|applications [--since YYYY-MM-DD] "
        "[--until YYYY-MM-DD] [--period week|month|all] [--out FILE] [--db PATH]`.")


async def _feedback(app, args) -> tuple[bytes, int]:
    since = app.feedback.parse_since(args.since)
    return await app.feedback.export_csv(app.guild_id, since)


async def _brand_export(app, args, kind: str) -> tuple[bytes, int]:
    """members, leaderboard, applications: the same file as /admin export (bot/services/exports.py)."""
    from bot.db import exports as repo
    from bot.services.exports import ExportService

    guild_id = args.guild or app.guild_id
    if guild_id is None:
        guilds = await repo.guilds(app.db)
        if len(guilds) > 1:
            print(f"several guilds are stored ({', '.join(map(str, guilds))}): choose one with --guild",
                  file=sys.stderr)
            raise SystemExit(2)
        guild_id = guilds[0] if guilds else 0
    export = await ExportService(app).export(guild_id, kind, period=args.period, since=args.since, until=args.until)
    return export.data, export.count


EXPORTERS: dict[str, Callable[..., Awaitable[tuple[bytes, int]]]] = {
    "feedback": _feedback,
    "members": partial(_brand_export, kind="members"),
    "leaderboard": partial(_brand_export, kind="leaderboard"),
    "applications": partial(_brand_export, kind="applications"),
}


def add_arguments(parser) -> None:
    parser.add_argument("kind", choices=sorted(EXPORTERS), help="what to export")
    parser.add_argument("--since", help="only rows from this date on (YYYY-MM-DD, community time zone): "
                                        "feedback and applications created, members joined, points earned")
    parser.add_argument("--until", help="up to and including this date (YYYY-MM-DD; not for feedback)")
    parser.add_argument("--period", choices=("week", "month", "all"), default="all",
                        help="leaderboard: the last 7 or 30 days, or all time (default), when no --since/--until")
    parser.add_argument("--guild", type=int, help="guild id (default: community.guild_id, or the only one stored)")
    parser.add_argument("--out", help="file to write (default: standard output)")
    parser.add_argument("--db", help="SQLite file (default: env KIZUNA_DB, the config, or data/kizuna.db)")


def run(args) -> int:
    if missing_folder(args.out, "--out"):
        return 2
    return run_offline(args, _export, read_only=True)


async def _export(app, args) -> int:
    data, count = await EXPORTERS[args.kind](app, args)
    if args.out:
        Path(args.out).write_bytes(data)
        print(f"wrote {count} {args.kind} row(s) to {args.out}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0
