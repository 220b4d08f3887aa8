"""The command line, as a newcomer meets it."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_run_without_a_token_exits_2_with_one_clear_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    result = subprocess.run([sys.executable, "-m", "bot", "run", "--config", str(ROOT / "config")],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "DISCORD_TOKEN" in lines[0] and "python -m bot playground" in lines[0]
    assert "Traceback" not in result.stderr


def test_check_on_a_missing_folder_fails(tmp_path, capsys):
    from bot.__main__ import main

    assert main(["check", "--config", str(tmp_path / "nope")]) == 1
    assert "config folder not found" in capsys.readouterr().err


def test_bot_process_settings_are_applied_and_reversible():
    """`python -m bot run` (and the benches) tune the collector and the GIL switch interval."""
    import gc
    import sys

    import pytest

    from bot import runtime

    before = gc.get_threshold(), sys.getswitchinterval()
    try:
        runtime.tune_process()
        assert gc.get_threshold() == runtime.GC_THRESHOLDS
        assert sys.getswitchinterval() == pytest.approx(runtime.SWITCH_INTERVAL)
    finally:
        gc.set_threshold(*before[0])
        sys.setswitchinterval(before[1])


def test_discord_py_reads_the_gateway_with_orjson():
    """orjson is a dependency so that discord.py parses gateway frames with it (bench/bench_clicks.py
    part 0: about 26,000 claim frames a second instead of 13,000 with the standard library); snowflakes
    come back as the same integers."""
    import discord.utils
    import orjson

    assert discord.utils.HAS_ORJSON
    assert orjson.loads(orjson.dumps({"id": 1255555555555555555})) == {"id": 1255555555555555555}
