"""`python -m bot export <kind>`: write stored data as CSV (UTF-8 with BOM, so Excel reads Japanese).

Kinds are a registry: add one by writing an async `(app, args) -> (bytes, count)` and listing it in
EXPORTERS.
"""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Awaitable, Callable

from bot.errors import UserError

from ._common import load_or_report

HELP = "Export stored data as CSV: `export feedback [--since YYYY-MM-DD] [--out FILE] [--db PATH]`."


async def _feedback(app, args) -> tuple[bytes, int]:
    since = app.feedback.parse_since(args.since)
    return await app.feedback.export_csv(app.guild_id, since)


EXPORTERS: dict[str, Callable[..., Awaitable[tuple[bytes, int]]]] = {
    "feedback": _feedback,
}


def add_arguments(parser) -> None:
    parser.add_argument("kind", choices=sorted(EXPORTERS), help="what to export")
    parser.add_argument("--since", help="only items created on or after this date (YYYY-MM-DD, community time zone)")
    parser.add_argument("--out", help="file to write (default: standard output)")
    parser.add_argument("--db", help="SQLite file (default: env KIZUNA_DB, the config, or data/kizuna.db)")


def run(args) -> int:
    config = load_or_report(args.config)
    if config is None:
        return 1
    return asyncio.run(_run(config, args))


async def _run(config, args) -> int:
    from bot.app import App

    app = await App.open(config, db_path=args.db, real_scheduler=False)
    try:
        try:
            data, count = await EXPORTERS[args.kind](app, args)
        except UserError as exc:
            print(app.t(exc.key, **exc.params), file=sys.stderr)
            return 2
    finally:
        await app.close()
    if args.out:
        Path(args.out).write_bytes(data)
        print(f"wrote {count} {args.kind} row(s) to {args.out}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0
