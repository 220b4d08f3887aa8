"""kill -9 of a real process in the middle of a step of the stats rollups' build (bot/db/stats_build.py),
then a restart that finishes it: the rollups hold exactly what a fresh count of the raw rows gives, and
every /stats figure equals that count (nothing lost, nothing counted twice)."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import App
from tests.faults.kill import run_child
from tests.test_stats_build import (GUILD, assert_reports_correct_while_building, assert_rollups_equal_raw, by_hand,
                                    never_built, step)
from tests.test_stats_windows import assert_reports_equal_recount

pytestmark = pytest.mark.sqlite_only("a child process killed while writing a SQLite file")

CHILD = Path(__file__).with_name("stats_build_child.py")


@pytest.mark.parametrize("kill_at", [2, 9, 40, 130, 400])
async def test_kill_9_in_the_middle_of_a_build_step_then_a_restart_equals_a_fresh_recount(tmp_path, monkeypatch,
                                                                                         kill_at):
    by_hand(monkeypatch)
    app, _, _ = await never_built(tmp_path, "America/New_York", f"kill{kill_at}")
    await assert_reports_correct_while_building(app)  # (asks for the week and the month)
    config_dir, clock, config = tmp_path / "config", app.clock, app.config
    await app.close()
    proc = run_child(CHILD, tmp_path / "k.db", config_dir, clock.now().isoformat(), kill_at, timeout=120,
                     never_reached=f"the build finished before statement {kill_at}")
    assert proc.returncode == -9, proc.stderr[-2000:]

    app = await App.open(config, db_path=tmp_path / "k.db", clock=clock, real_scheduler=False)  # the restart
    try:
        assert await app.stats.rollups_building(GUILD)
        while await step(app):
            pass
        await assert_rollups_equal_raw(app)
        await assert_reports_equal_recount(app)
    finally:
        await app.close()
