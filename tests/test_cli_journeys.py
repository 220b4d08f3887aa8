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
import yaml

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


@pytest.mark.sqlite_only("the CLI in a subprocess opens the SQLite file the .env names")
def test_every_command_reads_the_dotenv_for_example_the_database(tmp_path):
    _seeded_db(tmp_path / "tea.db")
    (tmp_path / ".env").write_text("KIZUNA_DB=tea.db\n", encoding="utf-8")
    result = kizuna("stats", "--config", str(ROOT / "config"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Community stats" in result.stdout
    assert not (tmp_path / "data").exists()  # not the default data/kizuna.db


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


# --- read-only commands never create or change a database --------------------------------------------
READ_ONLY = {
    "stats": ["stats"],
    "export": ["export", "feedback"],
    "preview": ["preview", "--from", "2026-12-01T00:00", "--days", "1"],
}


def _seeded_db(path: Path) -> Path:
    """A real Kizuna database, as the bot leaves it (closed cleanly)."""
    from bot.app import App
    from bot.config import load_config

    async def seed():
        app = await App.open(load_config(ROOT / "config"), db_path=path, real_scheduler=False)
        await app.close()

    asyncio.run(seed())
    return path


@pytest.mark.sqlite_only("a SQLite file path that does not exist")
@pytest.mark.parametrize("command", sorted(READ_ONLY))
def test_a_mistyped_db_is_not_created_and_is_named(command, tmp_path, monkeypatch, capsys):
    from bot.__main__ import main

    monkeypatch.chdir(tmp_path)
    typo = tmp_path / "data" / "kizuan.db"
    code = main([*READ_ONLY[command], "--config", str(ROOT / "config"), "--db", str(typo)])
    err = capsys.readouterr().err
    assert code != 0
    assert f"no database at {typo}" in err
    assert not typo.exists() and not typo.parent.exists()


@pytest.mark.parametrize("command", sorted(READ_ONLY))
def test_a_file_that_is_not_a_database_is_one_line_and_no_hang(command, tmp_path):
    junk = tmp_path / "notes.db"
    junk.write_text("these are my notes, not a database\n", encoding="utf-8")
    result = kizuna(*READ_ONLY[command], "--config", str(ROOT / "config"), "--db", str(junk), cwd=tmp_path)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert f"{junk} is not a Kizuna database" in result.stderr
    assert junk.read_text(encoding="utf-8") == "these are my notes, not a database\n"


@pytest.mark.sqlite_only("the SQLite file's bytes")
@pytest.mark.parametrize("command", sorted(READ_ONLY))
def test_read_only_commands_leave_an_existing_database_untouched(command, tmp_path, monkeypatch, capsys):
    from bot.__main__ import main

    monkeypatch.chdir(tmp_path)
    db = _seeded_db(tmp_path / "k.db")
    before = sorted(p.name for p in tmp_path.iterdir()), db.read_bytes()
    db.chmod(0o444)  # a backup copy, say: reading it must still work
    try:
        code = main([*READ_ONLY[command], "--config", str(ROOT / "config"), "--db", str(db)])
    finally:
        db.chmod(0o644)
    assert code == 0, capsys.readouterr().err
    # SQLite's own -wal/-shm companions may appear (the bot may be running on it meanwhile); nothing else
    after = sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(("-wal", "-shm")))
    assert (after, db.read_bytes()) == before


@pytest.mark.parametrize("args", [["stats", "--chart", "charts/week.png"],
                                  ["export", "feedback", "--out", "exports/feedback.csv"]],
                         ids=["stats-chart", "export-out"])
def test_writing_into_a_missing_folder_is_one_clear_line(args, tmp_path, monkeypatch, capsys):
    from bot.__main__ import main

    monkeypatch.chdir(tmp_path)
    db = _seeded_db(tmp_path / "k.db")
    code = main([*args, "--config", str(ROOT / "config"), "--db", str(db)])
    err = capsys.readouterr().err
    folder = Path(args[-1]).parent
    assert code == 2
    assert f"the folder {folder} does not exist" in err


# --- preview: everything that will post, where, and what ---------------------------------------------
def test_preview_shows_content_reveals_drop_windows_and_where_actions_post(tmp_path, monkeypatch, capsys):
    from bot.__main__ import main

    monkeypatch.chdir(tmp_path)  # no database here: pools and prompts start at their beginning
    assert main(["preview", "--config", str(ROOT / "config"), "--from", "2026-12-05T00:00", "--days", "8"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line.split("  ") for line in lines[1:]]
    assert not [r for r in rows if r[2:4] == ["-", "-"]], "an action with no target shown"
    by_id = {}
    for when, source, where, text, *tag in rows:
        by_id.setdefault(source, []).append((when, where, text, tag))
    # content.yaml reveals (and their teasers) at their `at:` time
    assert ("2026-12-05 Sat 19:00", "#blossom-garden", "First look: Winter Yuzu Sencha", ["[content reveal]"]) \
        in by_id["content:winter-yuzu-first-look"]
    assert any(where == "#announcements" and tag == ["[content teaser]"]
               for _, where, _, tag in by_id["content:winter-yuzu-first-look"])
    # drops.yaml windows, one line per audience (Blossoms 24h early, Green Leaf 6h early, members, everyone)
    assert [w for w, *_ in by_id["drop:hanami-tin"]] == ["2026-12-09 Wed 20:00", "2026-12-10 Thu 14:00",
                                                           "2026-12-10 Thu 20:00", "2026-12-10 Thu 22:00"]
    assert by_id["drop:hanami-tin"][0][1:3] == ("#announcements", "Sakura × Hanami illustrated tea tin: open for Blossom")
    # the daily prompt: its channel and the prompt's own text
    prompts = by_id["daily-prompt"]
    assert len(prompts) == 8 and all(where == "#daily-prompt" for _, where, _, _ in prompts)
    known = {p["text"] for p in __import__("yaml").safe_load((ROOT / "config" / "prompts.yaml").read_text())["prompts"]}
    assert all(text in known for _, _, text, _ in prompts)
    assert len({text for _, _, text, _ in prompts}) == 8  # no repeats within a cycle


async def test_preview_names_the_prompts_the_bot_then_posts(harness, tmp_path):
    from datetime import timedelta

    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    from bot.cli.preview import preview_lines
    from bot.clock import FakeClock

    tokyo = ZoneInfo("Asia/Tokyo")
    start = datetime(2026, 12, 1, 0, 0, tzinfo=tokyo).astimezone(timezone.utc)
    g = await harness(clock=FakeClock(start))
    await g.advance(days=1)  # one prompt already posted: the preview reads where the cycle stands
    lines = await preview_lines(g.config, g.clock.now(), timedelta(days=3), tokyo, db_path=str(g.db_path),
                                guild_id=g.world.guild_id)
    predicted = [line.split("  ")[3] for line in lines[1:] if line.split("  ")[1] == "daily-prompt"]
    await g.advance(days=3)
    posted = [m.embeds[0]["description"] for m in g.channel("daily-prompt").messages if m.embeds]
    assert len(posted) == 4 and predicted == posted[1:]


# --- every database keeps its own last good config -----------------------------------------------------
def _rename(folder: Path, name: str) -> Path:
    path = folder / "community.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("name: Sakura Tea House", f"name: {name}", 1), encoding="utf-8")
    return folder


def test_two_databases_in_one_folder_keep_their_own_last_good_config(tmp_path, capsys):
    from bot.cli.run import load_with_fallback
    from tests.helpers import config_dir_with

    salon = _rename(config_dir_with(tmp_path), "Sakura Salon")
    shop = _rename(config_dir_with(tmp_path), "Sakura Shop")
    data = tmp_path / "data"
    assert load_with_fallback(str(salon), str(data / "salon.db")).community.info.name == "Sakura Salon"
    assert load_with_fallback(str(shop), str(data / "shop.db")).community.info.name == "Sakura Shop"
    # the salon's brand team breaks their config: the salon falls back to the salon's last good one
    (salon / "community.yaml").write_text("community: [broken\n", encoding="utf-8")
    config = load_with_fallback(str(salon), str(data / "salon.db"))
    assert config is not None and config.community.info.name == "Sakura Salon"
    assert "running on the last good config saved in" in capsys.readouterr().err


async def test_the_app_saves_its_last_good_config_beside_its_own_database(tmp_path):
    from bot.app import App
    from bot.config import load_config

    config = load_config(ROOT / "config")
    first = await App.open(config, db_path=tmp_path / "salon.db", real_scheduler=False)
    second = await App.open(config, db_path=tmp_path / "shop.db", real_scheduler=False)
    try:
        assert first.last_good_dir != second.last_good_dir
        assert first.last_good_dir.parent == tmp_path and first.last_good_dir.name.startswith("salon")
    finally:
        await first.close()
        await second.close()


ACTION_SCHEDULES = {  # action -> (params, the channel the preview must name)
    "prompt.post": ({}, "#daily-prompt"),
    "quiz.start": ({"bank": "tea", "questions": 3}, "#quiz"),
    "content.reveal": ({"id": "weekly-tip"}, "#leaf-lounge"),  # an item with no `at:` (added below)
    "drop.open": ({"id": "prompt-champions"}, "#announcements"),
    "feedback.digest": ({"days": 7, "channel": "mod-log"}, "#mod-log"),
    "stats.digest": ({"period": "week"}, "#mod-log"),
    "ama.announce": ({"topic": "Tea farming", "channel": "lounge"}, "#lounge"),
}


@pytest.mark.parametrize("action", sorted(ACTION_SCHEDULES))
def test_preview_names_where_every_action_posts(action, tmp_path, monkeypatch, capsys):
    from bot.__main__ import main
    from bot.config.schedules import KNOWN_ACTIONS
    from tests.helpers import config_dir_with

    assert set(ACTION_SCHEDULES) == set(KNOWN_ACTIONS)  # a new action needs a line here
    params, channel = ACTION_SCHEDULES[action]
    folder = config_dir_with(tmp_path, {"schedules.yaml": {"pools": None, "schedules": [
        {"id": "only", "daily": "07:00", "action": action, "params": params}]}})
    content = yaml.safe_load((folder / "content.yaml").read_text(encoding="utf-8"))
    content["content"].append({"id": "weekly-tip", "tier": "leaf", "channel": "leaf-lounge",
                               "title": "Weekly tip", "text": "Warm the pot first."})
    (folder / "content.yaml").write_text(yaml.safe_dump(content, allow_unicode=True), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["preview", "--config", str(folder), "--from", "2026-12-01T00:00", "--days", "1"]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if "  only  " in line)
    when, _, where, text, tag = line.split("  ")
    assert (when, where, tag) == ("2026-12-01 Tue 07:00", channel, f"[{action}]")
    assert text != "-"


@pytest.mark.sqlite_only("SQLite's WAL readers beside the writer, read with sqlite3")
def test_stats_reads_while_the_bot_is_writing(tmp_path, monkeypatch, capsys):
    import sqlite3

    from bot.__main__ import main

    monkeypatch.chdir(tmp_path)
    db = _seeded_db(tmp_path / "k.db")
    bot = sqlite3.connect(db, isolation_level=None)  # the running bot, in the middle of a write
    try:
        bot.execute("PRAGMA journal_mode=WAL")
        bot.execute("BEGIN IMMEDIATE")
        bot.execute("INSERT INTO audit_log (guild_id, actor_id, action, target, detail, created_at)"
                    " VALUES (1, 2, 'x', '', '', '2026-12-01T00:00:00.000000Z')")
        assert main(["stats", "--config", str(ROOT / "config"), "--db", str(db)]) == 0
        assert "Community stats" in capsys.readouterr().out
    finally:
        bot.execute("ROLLBACK")
        bot.close()
