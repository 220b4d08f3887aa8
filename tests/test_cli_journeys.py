"""The command line as a community manager meets it in the first week: each test walks one reported
path end to end (a subprocess or `bot.__main__.main`) and asserts what the person sees."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import aiohttp
import discord
import pytest

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


def _refuse_login(exc):
    async def login(self, token):
        raise exc
    return login


@pytest.mark.parametrize("failure", [
    aiohttp.ClientConnectionError("Cannot connect to host discord.com:443 ssl:default [Name or service not known]"),
    discord.LoginFailure("Improper token has been passed."),
    asyncio.TimeoutError(),
], ids=["no-network", "bad-token", "timeout"])
def test_sync_without_discord_says_so_in_one_line(failure, tmp_path, monkeypatch, capsys):
    from bot.__main__ import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISCORD_TOKEN", "abc")
    monkeypatch.setattr(discord.Client, "login", _refuse_login(failure))
    code = main(["sync", "--config", str(ROOT / "config"), "--db", str(tmp_path / "k.db")])
    err = capsys.readouterr().err
    assert code == 1
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("sync failed:"), err
    assert "Traceback" not in err
