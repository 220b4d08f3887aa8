"""The schedules feature keeps its shape: models in config/, the trigger engine in bot/triggers.py, one
community per service (the bot serves one community per process: a process per community scales out)."""
from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from bot.app import App
from bot.clock import FakeClock
from bot.db import schedules as repo
from bot.services.schedules import ScheduleService
from tests.test_schedules import DAILY_9, FakeSender, jst, make_config, walk

ROOT = Path(__file__).resolve().parent.parent


def _engine_parts(path: Path) -> list[str]:
    """What in a module is trigger-engine machinery: apscheduler imports (outside TYPE_CHECKING),
    caches, and trigger classes."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                   and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
                   for n in ast.walk(node)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("apscheduler") \
                and id(node) not in typing_only:
            found.append(f"imports {node.module}")
        if isinstance(node, ast.Name) and node.id in ("lru_cache", "cache"):
            found.append(f"uses {node.id} (line {node.lineno})")
        if isinstance(node, ast.ClassDef) and any(getattr(b, "id", "") == "BaseTrigger" for b in node.bases):
            found.append(f"defines trigger class {node.name}")
    return found


@pytest.mark.parametrize("path", sorted((ROOT / "bot" / "config").glob("*.py")), ids=lambda p: p.name)
def test_the_config_layer_holds_no_trigger_engine(path):
    assert _engine_parts(path) == []


def test_the_service_keeps_no_memo_of_its_own():
    assert _engine_parts(ROOT / "bot" / "services" / "schedules.py") == []


def test_moderator_methods_act_on_the_apps_one_community():
    public = {name: fn for name, fn in inspect.getmembers(ScheduleService, inspect.isfunction)
              if not name.startswith("_")}
    assert {"pause", "resume", "run_now", "list", "reload", "timeline", "schedule_ids"} <= set(public)
    takes_guild = [name for name, fn in public.items() if "guild_id" in inspect.signature(fn).parameters]
    assert takes_guild == []


async def test_a_reload_before_the_guild_is_known_posts_nothing_to_guild_0(tmp_path):
    """The community's guild id is not configured and Discord has not said it yet; a moderator edits
    the files and the config reloads. Nothing may be scheduled for a made-up guild 0."""
    clock = FakeClock(jst(2026, 12, 1, 8, 0))
    config = make_config(tmp_path, DAILY_9)
    app = await App.open(config, db_path=tmp_path / "k.db", clock=clock, real_scheduler=False)
    app.guild_id = None
    sender = FakeSender(clock)
    app.outbox.sender = sender
    await app.start()  # waits for the guild id
    try:
        assert await app.reload_config() == []
        assert [j for j in app.scheduler.jobs if j.startswith("schedule:")] == []
        await walk(app, jst(2026, 12, 1, 10, 0))  # 09:00 passes
        assert sender.posts() == []
        assert await repo.last_entries(app.db, 0) == {}
    finally:
        await app.close()
