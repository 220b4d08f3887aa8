"""`python -m bot stats`: the community health figures in the terminal (and the chart as a file)."""
from __future__ import annotations

import sys
from datetime import date
from pathlib import Path


from ._common import missing_folder, run_offline

HELP = ("Print community stats: `stats [--period week|month] [--db PATH] [--chart FILE] [--until YYYY-MM-DD]"
        " [--guild ID]`.")


def add_arguments(parser) -> None:
    parser.add_argument("--period", choices=("week", "month"), default="week",
                        help="the last 7 or 30 days, ending today in the community's time zone (default: week)")
    parser.add_argument("--db", help="SQLite file (default: env KIZUNA_DB, the config, or data/kizuna.db)")
    parser.add_argument("--chart", help="also write the PNG chart of daily active members and joins here")
    parser.add_argument("--until", type=date.fromisoformat, metavar="YYYY-MM-DD",
                        help="last day of the period (default: today in the community's time zone)")
    parser.add_argument("--guild", type=int, help="guild id (default: community.guild_id, or the only one stored)")


def run(args) -> int:
    if missing_folder(args.chart, "--chart"):
        return 2
    return run_offline(args, _stats, read_only=True)


async def _stats(app, args) -> int:
    from bot.db import stats as repo

    guild_id = args.guild or app.guild_id
    if guild_id is None:
        guilds = await repo.stored_guilds(app.db, await app.stats.tables())
        if len(guilds) > 1:
            print(f"several guilds are stored ({', '.join(map(str, guilds))}): choose one with --guild",
                  file=sys.stderr)
            return 2
        guild_id = guilds[0] if guilds else 0
    report = await app.stats.report(guild_id, args.period, last_day=args.until)
    from bot.services.stats import with_section

    help_text, _ = await app.stats.support_section(guild_id, report, chart=False)  # the help desk
    print(with_section(app.stats.render(report, mention=False), help_text).replace("**", ""))
    if args.chart:
        Path(args.chart).write_bytes(await app.stats.chart(report))
        print(f"wrote the chart to {args.chart}", file=sys.stderr)
    return 0
