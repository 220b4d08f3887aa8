"""`python -m bot export <kind>`: write stored data as CSV (UTF-8 with BOM, so Excel reads Japanese).

Kinds are a registry: add one by writing an async `(app, args) -> (bytes, count)` and listing it in
EXPORTERS.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Awaitable, Callable


from ._common import missing_folder, run_offline

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
