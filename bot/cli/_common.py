from __future__ import annotations

import logging
import sys
from pathlib import Path

from bot.config import Config, load_config
from bot.errors import ConfigError


def load_or_report(config_dir: str) -> Config | None:
    """Load the config, or print every problem (file:line: field: message) to stderr."""
    try:
        return load_config(config_dir)
    except ConfigError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        print(f"{len(exc.problems)} problem(s) in {config_dir}/", file=sys.stderr)
        return None


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
