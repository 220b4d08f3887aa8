"""The playground quiets logging for its transcript only while it runs: afterwards the `discord` logger
and the root logger are as they were (a later harness test must still fail on a logged error)."""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from bot.offline import Harness

from bot.__main__ import main

CONFIG = Path(__file__).resolve().parents[1] / "config"


def test_the_playground_restores_logging_when_it_ends(tmp_path, capsys):
    script = tmp_path / "s.txt"
    script.write_text(":wait 1m\n", encoding="utf-8")
    discord_logger, root = logging.getLogger("discord"), logging.getLogger()
    before = (discord_logger.level, root.level, list(root.handlers))
    discord_logger.setLevel(logging.INFO)
    try:
        assert main(["playground", "--config", str(CONFIG), "--script", str(script)]) == 0
        assert (discord_logger.level, root.level, list(root.handlers)) == (logging.INFO, before[1], before[2])
        assert discord_logger.isEnabledFor(logging.ERROR)
    finally:
        discord_logger.setLevel(before[0])
    capsys.readouterr()


def test_a_harness_after_the_playground_still_catches_errors_discord_logs(tmp_path, capsys):
    script = tmp_path / "s.txt"
    script.write_text(":wait 1m\n", encoding="utf-8")
    assert main(["playground", "--config", str(CONFIG), "--script", str(script)]) == 0
    capsys.readouterr()

    async def harness_sees_it() -> None:
        g = await Harness.start()
        try:
            raise RuntimeError("boom after the playground")
        except RuntimeError:
            logging.getLogger("discord.client").exception("an event handler failed")
        with pytest.raises(BaseException) as caught:
            await g.close()
        assert "boom after the playground" in str(caught.value) or "an event handler failed" in str(caught.value)

    asyncio.run(harness_sees_it())
