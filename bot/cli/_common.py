from __future__ import annotations

import logging
import sys
from datetime import datetime
from pathlib import Path

from bot.config import Config, load_config
from bot.errors import ConfigError


def load_or_report(config_dir: str, *, now: datetime | None = None) -> Config | None:
    """Load the config, or print every problem (file:line: field: message) to stderr. With `now`, time
    rules that can no longer fire are problems too (see `load_config`)."""
    try:
        return load_config(config_dir, now=now)
    except ConfigError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        print(f"{len(exc.problems)} problem(s) in {config_dir}/", file=sys.stderr)
        return None


def load_env_file() -> None:
    """Read `.env` from the folder the command runs in (not the package's folder, where python-dotenv
    looks by default). Variables already set in the environment win."""
    path = Path.cwd() / ".env"
    if not path.is_file():
        return
    try:
        from dotenv import load_dotenv
    except ImportError:  # pragma: no cover - python-dotenv is a dependency
        return
    load_dotenv(path)


async def note_fallback(app, problems: list[str]) -> None:
    """Tell the moderators in the mod-log that the bot started on the last good config, and why."""
    if not problems or not app.guild_id:
        return
    shown = "\n".join(problems[:10])[:1500]
    more = len(problems) - 10
    if more > 0:
        shown += f"\n... and {more} more"
    await app.audit.note(app.guild_id, app.t("admin.config_fallback", count=len(problems), problems=shown),
                         dedupe_key=f"config:fallback:{app.clock.now().isoformat()}")


def setup_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")


def missing_folder(path: str | None, option: str) -> bool:
    """True (and says so) when `--out`/`--chart` points into a folder that does not exist."""
    if path and not Path(path).parent.is_dir():
        print(f"{option}: the folder {Path(path).parent} does not exist (create it first, or choose "
              "another path)", file=sys.stderr)
        return True
    return False


def run_offline(args, body, *, read_only: bool = False) -> int:
    """Load the config, open the App on its database without Discord or a running scheduler, and run
    `await body(app, args)` -> exit code. A UserError is printed in the community's language (exit 2).
    `read_only`: the database must exist and is only read (a missing or foreign file: one line, exit 1)."""
    import asyncio

    from bot.app import App
    from bot.db.connection import DatabaseUnavailable
    from bot.errors import UserError

    config = load_or_report(args.config)
    if config is None:
        return 1

    async def main() -> int:
        try:
            app = await App.open(config, db_path=args.db, real_scheduler=False, read_only=read_only)
        except DatabaseUnavailable as exc:
            print(exc, file=sys.stderr)
            return 1
        try:
            return await body(app, args)
        except UserError as exc:
            print(app.t(exc.key, **exc.params), file=sys.stderr)
            return 2
        finally:
            await app.close()

    return asyncio.run(main())
