from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

from ._common import load_or_report, setup_logging

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
    token = read_token()
    if token is None:
        print(NO_TOKEN, file=sys.stderr)
        return 2
    config = load_or_report(args.config)
    if config is None:
        return 1
    setup_logging()
    return asyncio.run(_run(config, token, args.db))


async def _run(config, token: str, db_path) -> int:
    from bot.client import KizunaBot

    bot = KizunaBot(config, db_path=db_path)
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
