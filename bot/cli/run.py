from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

from bot.runtime import settle_heap, tune_process

from ._common import setup_logging

HELP = "Connect to Discord and run the bot (needs DISCORD_TOKEN; `python -m bot playground` runs offline)."

NO_TOKEN = ("DISCORD_TOKEN is not set: create a bot at https://discord.com/developers/applications, copy its "
            "token into DISCORD_TOKEN (or a .env file), or run offline with `python -m bot playground`.")


def read_token() -> str | None:
    try:
        from dotenv import load_dotenv

        load_dotenv()
    except ImportError:  # pragma: no cover
        pass
    token = os.environ.get("DISCORD_TOKEN", "").strip()
    return token or None


def add_arguments(parser) -> None:
    parser.add_argument("--db", help="SQLite file (default: env KIZUNA_DB, the config, or data/kizuna.db)")


def run(args) -> int:
    tune_process()
    token = read_token()
    if token is None:
        print(NO_TOKEN, file=sys.stderr)
        return 2
    config = load_with_fallback(args.config, args.db)
    if config is None:
        return 1
    setup_logging()
    return run_loop(_run(config, token, args.db))


def run_loop(main):
    """Run `main` on uvloop when it is installed (a pyproject dependency where it builds: about
    twice the default loop's task throughput in a claim burst), else on asyncio's default loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def load_with_fallback(config_dir: str, db_arg: str | None):
    """The config; if it is broken, the last good copy kept beside the database (the bot keeps
    running as before, and says loudly why). None when there is nothing good to run on."""
    from bot.app import LAST_GOOD, database_path
    from bot.config.loader import load_config_or_last_good, save_last_good
    from bot.errors import ConfigError

    snapshot = Path(db_arg or os.environ.get("KIZUNA_DB") or _database_in(config_dir) or "data/kizuna.db"
                    ).parent / LAST_GOOD
    try:
        config, problems = load_config_or_last_good(config_dir, snapshot)
    except ConfigError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        print(f"{len(exc.problems)} problem(s) in {config_dir}/ and no last good config to fall back on",
              file=sys.stderr)
        return None
    if problems:
        for line in problems:
            print(line, file=sys.stderr)
        print(f"running on the last good config saved in {snapshot}/; fix the problems above, then "
              "/admin reload", file=sys.stderr)
    else:
        save_last_good(config, database_path(config, db_arg).parent / LAST_GOOD)
    return config


def _database_in(config_dir: str) -> str | None:
    """`community.database` read straight from community.yaml, for when the config as a whole does
    not load (the last good copy is kept beside the database). None if it cannot be read."""
    import yaml

    try:
        data = yaml.safe_load((Path(config_dir) / "community.yaml").read_text(encoding="utf-8"))
        value = data["community"]["database"]
    except Exception:  # unreadable, not a mapping, no such key: the default place
        return None
    return value if isinstance(value, str) and value.strip() else None


async def _run(config, token: str, db_path) -> int:
    from bot.client import KizunaBot

    bot = KizunaBot(config, db_path=db_path)
    settled = False

    async def settle_once() -> None:  # the first ready: services started, guild caches filled
        nonlocal settled
        if not settled:
            settled = True
            settle_heap()

    bot.add_listener(settle_once, "on_ready")
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: asyncio.create_task(bot.close()))
    async with bot:
        try:
            await bot.start(token)
        except Exception as exc:  # login failure etc.: one line, not a traceback
            logging.getLogger("bot").error("stopped: %s", exc)
            return 1
    return 0
