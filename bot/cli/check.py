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
    if dry_run_reports(config):  # every message the config can make, against Discord's limits
        return 1
    names = ", ".join(sorted(s.path.name if ":" not in k else f"quizzes/{s.path.name}" for k, s in config.sources.items()))
    print(f"config OK: {config.community.info.name} ({names})")
    return 0


def dry_run_reports(config) -> bool:
    """Print the dry run's problems (file:line: field: message) to stderr; True when there are any."""
    import sys

    from bot.dryrun import dry_run

    problems = dry_run(config)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} message(s) Discord would refuse", file=sys.stderr)
    return bool(problems)
