"""Fixtures shared by every test: the offline harness (docs/HARNESS.md)."""
from __future__ import annotations

import pytest

from bot.db.connection import Database
from bot.offline import Harness
from tests.helpers import CONFIG


@pytest.fixture(autouse=True)
async def _close_databases_left_open(monkeypatch):
    """A test that fails before closing its database must fail, not hang pytest at exit (an open
    aiosqlite connection's thread keeps the process alive). The databases a test opens are noted here,
    not in bot/db (which keeps no module state)."""
    opened: list[Database] = []
    init = Database.__init__

    def noting(self, *args, **kwargs):
        init(self, *args, **kwargs)
        opened.append(self)

    monkeypatch.setattr(Database, "__init__", noting)
    yield
    for db in opened:
        try:
            await db.close()
        except Exception:  # opened on a loop that is gone: nothing more to do
            pass


@pytest.fixture
async def harness(tmp_path):
    """A factory: `g = await harness()` starts the real bot against the fake Discord on a fresh SQLite
    file in tmp_path; `await harness(config=my_config, users={...}, clock=...)` to change things.
    Every harness is closed at teardown (and a pending spec violation or bot error fails the test)."""
    started: list[Harness] = []

    async def start(**kwargs) -> Harness:
        kwargs.setdefault("config", CONFIG)
        kwargs.setdefault("db_path", tmp_path / f"kizuna-{len(started) + 1}.db")
        g = await Harness.start(**kwargs)
        started.append(g)
        return g

    yield start
    for g in reversed(started):
        await g.close()
