"""The command line: `python -m bot <command>` (also installed as `kizuna`).

Each command is a module in bot/cli/ with HELP, add_arguments(parser) and run(args) -> exit code.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import bot.cli
from bot.cli._common import load_env_file


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kizuna", description="Kizuna: a bot that runs your community.")
    sub = parser.add_subparsers(dest="command", metavar="command")
    for info in sorted(pkgutil.iter_modules(bot.cli.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"bot.cli.{info.name}")
        name = getattr(module, "NAME", info.name)
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        p.add_argument("--config", default="config", help="the config folder (default: config)")
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    load_env_file()  # KIZUNA_DB, DISCORD_TOKEN... from ./.env for every command
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    from bot.db import DatabaseOpenError

    try:
        return int(args._run(args) or 0)
    except DatabaseOpenError as exc:  # in use by another process, a folder, not a database...: one line
        print(exc, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
