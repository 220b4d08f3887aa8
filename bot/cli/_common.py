from __future__ import annotations

import logging
import sys

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
