from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

from bot.runtime import settle_heap, tune_process

from ._common import load_env_file, setup_logging

HELP = "Connect to Discord and run the bot (needs DISCORD_TOKEN; `python -m bot playground` runs offline)."

NO_TOKEN = ("DISCORD_TOKEN is not set: create a bot at https://discord.com/developers/applications, copy its "
            "token into DISCORD_TOKEN (or a .env file), or run offline with `python -m bot playground`.")


def read_token() -> str | None:
    load_env_file()
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
    config, problems = load_or_fall_back(args.config, args.db, messages=True)
    if config is None:
        return 1
    setup_logging()
    return run_loop(_run(config, token, args.db, problems))


def run_loop(main):
    """Run `main` on uvloop when it is installed (a pyproject dependency where it builds: about
    twice the default loop's task throughput in a claim burst), else on asyncio's default loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def load_with_fallback(config_dir: str, db_arg: str | None, *, save: bool = True):
    """The config (see `load_or_fall_back`), or None when there is nothing good to run on."""
    return load_or_fall_back(config_dir, db_arg, save=save)[0]


def message_problems(config) -> list[str]:
    """What `check`'s dry run finds: messages of this config that Discord would refuse."""
    from bot.dryrun import dry_run

    return [str(problem) for problem in dry_run(config)]


def load_or_fall_back(config_dir: str, db_arg: str | None, *, save: bool = True, messages: bool = False):
    """(config, problems): the config; if it is broken in any way (a bad field, a file that is not
    UTF-8, an alias bomb...), the last good copy kept beside the database, with the problems that
    made us fall back, printed to stderr (the bot then also posts them to the mod-log). (None,
    problems) when there is nothing good to run on. A clean config is saved as the last good one
    (unless `save` is false: the playground only reads it). With `messages`, a config whose messages
    Discord would refuse (`check`'s dry run) counts as broken too: `run` starts only on what `check` passes."""
    from bot.app import database_path, last_good_path
    from bot.config.loader import load_config_or_last_good, save_last_good
    from bot.errors import ConfigError

    snapshot = last_good_dir(config_dir, db_arg)
    try:
        config, problems = load_config_or_last_good(config_dir, snapshot,
                                                    also=message_problems if messages else None)
    except ConfigError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        print(f"{len(exc.problems)} problem(s) in {config_dir}/ and no last good config to fall back on",
              file=sys.stderr)
        return None, exc.problems
    if problems:
        for line in problems:
            print(line, file=sys.stderr)
        print(f"running on the last good config saved in {snapshot}/; fix the problems above, then "
              "/admin reload", file=sys.stderr)
    elif save:
        save_last_good(config, last_good_path(database_path(config, db_arg)))
    return config, problems


def last_good_dir(config_dir: str, db_arg: str | None) -> Path:
    """The last good config `run` falls back on: the one kept beside the database (--db, KIZUNA_DB,
    community.database as far as it can be read, or data/kizuna.db)."""
    from bot.app import last_good_to_read

    return last_good_to_read(db_arg or os.environ.get("KIZUNA_DB") or _database_in(config_dir)
                             or "data/kizuna.db")


def _database_in(config_dir: str) -> str | None:
    """`community.database` read straight from community.yaml, for when the config as a whole does
    not load (the last good copy is kept beside the database). None if it cannot be read. Read with
    the config reader's own checks (size, encoding, alias bombs): a broken file must not hang this."""
    from bot.config.yamlsrc import YamlSyntaxError, load_source

    try:
        data = load_source(Path(config_dir) / "community.yaml").data
        value = data["community"]["database"]
    except (YamlSyntaxError, KeyError, TypeError):  # unreadable, not a mapping, no such key: the default
        return None
    return value if isinstance(value, str) and value.strip() else None


async def _run(config, token: str, db_path, problems: list[str] = ()) -> int:
    from ._replica import lead, postgres_target, run_leading

    target = postgres_target(config, db_path)
    if target is not None:  # PostgreSQL: one leader per community, the others wait as standbys
        leadership = await lead(target)
        # a standby may have waited for days: the config in force is the folder's now, not at its start
        config, problems = load_or_fall_back(str(config.dir), db_path, messages=True)
        if config is None:
            await leadership.release()
            return 1
        return await run_leading(leadership, _run_bot(config, token, db_path, problems))
    return await _run_bot(config, token, db_path, problems)


async def _run_bot(config, token: str, db_path, problems) -> int:
    from bot.client import KizunaBot

    from ._common import note_fallback

    bot = KizunaBot(config, db_path=db_path, start_web=True)  # the dashboard, when `web:` enables it
    settled = False

    async def settle_once() -> None:  # the first ready: services started, guild caches filled
        nonlocal settled
        if not settled:
            settled = True
            await note_fallback(bot.app, problems)  # the mod-log hears why it runs on the last good config
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
