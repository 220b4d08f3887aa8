"""The kept point windows (issue 17): leaderboards and ranks read per-member totals kept on every award
and moved as entries leave a window. Whatever happens, they must equal a recomputation from the ledger."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from bot.app import App
from bot.clock import FakeClock
from bot.config import load_config
from bot.db import participation as repo
from bot.services.participation.ledger import PERIODS

T0 = datetime(2026, 12, 1, 3, 0, tzinfo=timezone.utc)
GUILD = 1000
MEMBERS = [431000000000000100 + i for i in range(12)]


@pytest.fixture
async def app(tmp_path):
    app = await App.open(load_config("config"), db_path=tmp_path / "k.db", clock=FakeClock(T0), real_scheduler=False)
    yield app
    await app.close()


async def assert_windows_match_the_ledger(app, where: str) -> None:
    ledger = app.participation.ledger
    for period, days in PERIODS.items():
        board = await ledger.leaderboard(GUILD, period, limit=1000)
        expected = await repo.leaderboard_from_ledger(app.db, GUILD, ledger.since(days), 1000)
        got = [(s.rank, s.user_id, s.points) for s in board.rows]
        assert got == [(r["rank"], r["user_id"], r["points"]) for r in expected], f"{where}: {period}"
        ranks = {r["user_id"]: r["rank"] for r in expected}
        for user_id in MEMBERS:
            assert await ledger.rank(GUILD, user_id, period) == (ranks.get(user_id), len(expected)), \
                f"{where}: rank of {user_id} in {period}"


@pytest.mark.parametrize("seed", range(6))
async def test_kept_windows_equal_the_ledger_after_random_awards_and_time(app, seed):
    rng = random.Random(seed)
    clock = app.clock
    n = 0
    for step in range(60):
        for _ in range(rng.randrange(4)):
            n += 1
            points = rng.choice([0, 1, 5, 10, 10, 25, -3])  # zero and negative entries too
            at = clock.now() - timedelta(seconds=rng.choice([0, 0, 0, 30, 3600]))  # late, like a quiz close
            await app.participation.ledger.award(GUILD, rng.choice(MEMBERS), "x", f"r{n}", points, at=at)
        if rng.random() < 0.5:
            await assert_windows_match_the_ledger(app, f"seed {seed} step {step}")
        # move time: small steps, whole days, and exactly onto a window's edge (an entry at `since`)
        choice = rng.random()
        if choice < 0.4:
            clock.advance(minutes=rng.randrange(1, 600))
        elif choice < 0.7:
            clock.advance(days=rng.choice([1, 2, 5]))
        else:
            clock.advance(days=rng.choice([7, 30]))
    await assert_windows_match_the_ledger(app, f"seed {seed} end")


async def test_an_entry_exactly_at_the_window_start_is_in_then_out(app):
    ledger, clock = app.participation.ledger, app.clock
    alice = MEMBERS[0]
    await ledger.award(GUILD, alice, "x", "1", 10)
    assert (await ledger.leaderboard(GUILD, "week")).rows[0].points == 10
    clock.advance(days=7)                                   # now - 7 days == the entry's time: still in
    assert [s.points for s in (await ledger.leaderboard(GUILD, "week")).rows] == [10]
    clock.advance(microseconds=1)                           # one tick later: out
    assert (await ledger.leaderboard(GUILD, "week")).rows == ()
    assert [s.points for s in (await ledger.leaderboard(GUILD, "all")).rows] == [10]


async def test_a_clock_set_back_rebuilds_the_window(app):
    ledger, clock = app.participation.ledger, app.clock
    await ledger.award(GUILD, MEMBERS[0], "x", "1", 10)
    clock.advance(days=10)
    assert (await ledger.leaderboard(GUILD, "week")).rows == ()
    clock.set(T0 + timedelta(days=1))
    await assert_windows_match_the_ledger(app, "after the clock went back")


async def test_windows_built_from_an_existing_ledger_match_it(app):
    """Rows written before a window was kept (an upgrade, or rows imported in bulk): the first read
    builds the window from the ledger."""
    rng = random.Random(5)
    async with app.db.transaction() as tx:
        for i in range(200):
            at = T0 - timedelta(hours=rng.randrange(24 * 60))
            await tx.execute("INSERT INTO participation_ledger (guild_id, user_id, action, ref, points, day, at)"
                             " VALUES (?, ?, 'x', ?, ?, '2026-01-01', ?)",
                             (GUILD, rng.choice(MEMBERS), f"b{i}", rng.choice([1, 5, 10]),
                              at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")))
        await tx.execute("DELETE FROM points_window_state")
    await assert_windows_match_the_ledger(app, "built")
    app.clock.advance(days=3)
    await app.participation.ledger.award(GUILD, MEMBERS[1], "x", "late", 50)
    await assert_windows_match_the_ledger(app, "moved")
