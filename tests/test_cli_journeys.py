"""The command line as a community manager meets it in the first week: each test walks one reported
path end to end (a subprocess or `bot.__main__.main`) and asserts what the person sees."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def kizuna(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: int = 60):
    base = {k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "KIZUNA_DB")}
    base["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, env={**base, **(env or {})},
                          capture_output=True, text=True, timeout=timeout)


def test_a_dotenv_in_the_folder_you_run_from_is_read(tmp_path):
    (tmp_path / ".env").write_text("DISCORD_TOKEN=from-the-dotenv\n", encoding="utf-8")
    result = kizuna("run", "--config", str(tmp_path / "no-such-config"), cwd=tmp_path)
    # the token was found (no DISCORD_TOKEN complaint), so `run` went on to the config, which is missing
    assert "DISCORD_TOKEN is not set" not in result.stderr
    assert result.returncode == 1 and "config folder not found" in result.stderr
