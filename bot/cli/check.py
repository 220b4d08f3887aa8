from __future__ import annotations

from datetime import datetime, timezone

from ._common import load_or_report

HELP = "Validate the YAML config; prints file:line: field: problem and exits 1 on any error."


def add_arguments(parser) -> None:
    parser.add_argument("--now", type=_instant, default=None, metavar="YYYY-MM-DDTHH:MM[+HH:MM]",
                        help="judge one-offs and campaign ends as of this time (default: the current time; "
                             "without an offset, UTC)")


def _instant(text: str) -> datetime:
    when = datetime.fromisoformat(text.strip())
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def run(args) -> int:
    from bot.clock import SystemClock

    config = load_or_report(args.config, now=args.now or SystemClock().now())
    if config is None:
        return 1
    names = ", ".join(sorted(s.path.name if ":" not in k else f"quizzes/{s.path.name}" for k, s in config.sources.items()))
    print(f"config OK: {config.community.community.name} ({names})")
    return 0
