from __future__ import annotations

import asyncio
import logging
import sys

from ._common import load_or_report, setup_logging
from .run import NO_TOKEN, read_token

HELP = "Register the slash commands with Discord (globally, or in one guild at once with --guild)."


def add_arguments(parser) -> None:
    parser.add_argument("--guild", type=int, help="sync to this guild only (instant; global takes up to an hour)")
    parser.add_argument("--db", help="SQLite file")


def run(args) -> int:
    token = read_token()
    if token is None:
        print(NO_TOKEN, file=sys.stderr)
        return 2
    config = load_or_report(args.config)
    if config is None:
        return 1
    setup_logging(logging.WARNING)  # the result is one line; discord.py's INFO chatter is not wanted here
    try:
        return asyncio.run(_sync(config, token, args))
    except Exception as exc:  # no network, a refused token, Discord down: one line, as `run` does
        print(f"sync failed: {_reason(exc)}", file=sys.stderr)
        return 1


def _reason(exc: BaseException) -> str:
    import aiohttp
    import discord

    detail = str(exc) or type(exc).__name__
    if isinstance(exc, discord.LoginFailure):
        return f"Discord refused the token ({detail}); check DISCORD_TOKEN"
    if isinstance(exc, (aiohttp.ClientError, OSError, asyncio.TimeoutError)):
        return f"cannot reach Discord ({detail}); check the network and try again"
    return detail


async def _sync(config, token: str, args) -> int:
    import discord

    from bot.client import KizunaBot

    bot = KizunaBot(config, db_path=args.db, real_scheduler=False)
    async with bot:
        await bot.login(token)
        guild = discord.Object(args.guild) if args.guild else None
        if guild:
            bot.tree.copy_global_to(guild=guild)
        synced = await bot.tree.sync(guild=guild)
        print(f"synced {len(synced)} command(s) " + (f"to guild {args.guild}" if guild else "globally"))
    return 0
