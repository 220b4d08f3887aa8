from __future__ import annotations

from ._common import load_or_report

HELP = "Validate the YAML config; prints file:line: field: problem and exits 1 on any error."


def add_arguments(parser) -> None:
    pass


def run(args) -> int:
    config = load_or_report(args.config)
    if config is None:
        return 1
    names = ", ".join(sorted(s.path.name if ":" not in k else f"quizzes/{s.path.name}" for k, s in config.sources.items()))
    print(f"config OK: {config.community.community.name} ({names})")
    return 0
