"""The stats rollups built in steps (migration 0029, bot/db/stats_build.py): a community that upgrades
with its history (or a bulk load) gets its member-days, kept windows and quiz days built in short
transactions, resumable after a crash at any step, exact while the bot writes during the build, and
/stats answers correctly (from the raw rows) until they are done.

The histories are written through the real writers (tests/test_stats_windows.py), then the rollups
are wiped, as on a database that never had them; every figure is compared with a count straight from
the raw rows, and the rollups' rows themselves with what the raw rows say they must hold."""
from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import timedelta

import pytest

from bot.app import App
from bot.db import stats_build
from bot.db.connection import to_db_time
from bot.services import stats as stats_service

from tests.test_stats_windows import GUILD, USERS, assert_reports_equal_recount, figures, open_app, recount, write_some

ROLLUPS = ("stats_member_days", "stats_member_days_state", "stats_member_days_build", "stats_days", "stats_windows",
           "stats_window_state", "stats_quiz_days", "stats_quiz_state")


async def never_built(tmp_path, tz: str, seed, steps: int = 30) -> tuple[App, random.Random, list[int]]:
    """An app on a database with a history and no stats rollups at all (an upgrade, a bulk load)."""
    app = await open_app(tmp_path, tz)
    rng, serial = random.Random(seed), [0]
    for _ in range(steps):
        await write_some(app, rng, serial)
        app.clock.advance(hours=rng.choice([5, 11, 13]))
    for table in ROLLUPS:
        await app.db.execute(f"DELETE FROM {table}")
    return app, rng, serial


async def reopen(app: App, tmp_path) -> App:
    """The process ends (as after kill -9, nothing is kept in memory) and starts again on the same file."""
    clock, config = app.clock, app.config
    await app.close()
    return await App.open(config, db_path=tmp_path / "k.db", clock=clock, real_scheduler=False)


async def assert_rollups_equal_raw(app: App) -> None:
    """The rollups' rows are what the raw rows say: the member-days set and its counts per day, and
    each kept window's per-member sums and totals."""
    db = app.db
    want_days = {(d, u) for u, d, m in await db.fetchall(
        "SELECT user_id, day, messages FROM activity_daily WHERE guild_id = ?", (GUILD,)) if m > 0}
    want_days |= {(d, u) for u, d in await db.fetchall(
        "SELECT user_id, day FROM participation_ledger WHERE guild_id = ?", (GUILD,))}
    got_days = {(d, u) for d, u in await db.fetchall(
        "SELECT day, user_id FROM stats_member_days WHERE guild_id = ?", (GUILD,))}
    assert got_days == want_days
    counts = {d: n for d, n in await db.fetchall("SELECT day, active FROM stats_days WHERE guild_id = ?", (GUILD,))
              if n}
    assert counts == dict(Counter(d for d, _ in want_days))
    windows = await db.fetchall(
        "SELECT window_days, first_day, start_at, target_first_day, target_start_at, active, posters, participants,"
        " messages, prompt_answers, prompt_people FROM stats_window_state WHERE guild_id = ?", (GUILD,))
    assert windows, "no window was kept"
    for n, first_day, start_at, target_day, target_at, *totals in windows:
        assert (first_day, start_at) == (target_day, target_at), n
        sums: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        for u, d, m in await db.fetchall("SELECT user_id, day, messages FROM activity_daily WHERE guild_id = ?",
                                         (GUILD,)):
            if d >= first_day and m > 0:
                sums[u][0] += m
        for u, at, action, points in await db.fetchall(
                "SELECT user_id, at, action, points FROM participation_ledger WHERE guild_id = ?", (GUILD,)):
            if at >= start_at:
                sums[u][1] += 1
                sums[u][2] += points
                sums[u][3] += action == "prompt_answer"
        want = {u: (m, p, pts, pr, m + p) for u, (m, p, pts, pr) in sums.items()}
        got = {r[0]: tuple(r[1:]) for r in await db.fetchall(
            "SELECT user_id, messages, parts, points, prompts, score FROM stats_windows"
            " WHERE guild_id = ? AND window_days = ?", (GUILD, n))}
        assert got == want, n
        rows = list(want.values())
        assert list(totals) == [len(rows), sum(r[0] > 0 for r in rows), sum(r[1] > 0 for r in rows),
                                sum(r[0] for r in rows), sum(r[3] for r in rows), sum(r[3] > 0 for r in rows)], n


def by_hand(monkeypatch) -> None:
    """No step runs unless the test takes it: none inline in a report, none in the background."""
    monkeypatch.setattr(stats_service, "INLINE_STEPS", 0)
    monkeypatch.setattr(stats_service.StatsService, "_build_in_background", lambda self, guild_id: None)


async def step(app: App, rows: int = 3) -> bool:
    return await stats_build.step(app.db, await app.stats.tables(), GUILD, app.clock.now(), rows)


async def assert_reports_correct_while_building(app: App) -> None:
    """Until the rollups are built, /stats reads the raw rows: the figures are right all along."""
    for period in ("week", "month"):
        report = await app.stats.report(GUILD, period)
        assert figures(report) == await recount(app, report.first_day, report.last_day), period


@pytest.mark.parametrize("tz,seed_no", [("Asia/Tokyo", 0), ("America/New_York", 1), ("America/New_York", 2)])
async def test_a_build_cut_short_at_random_steps_and_restarted_equals_a_fresh_recount(tmp_path, monkeypatch, tz,
                                                                                        seed_no):
    by_hand(monkeypatch)
    app, rng, _ = await never_built(tmp_path, tz, f"crash{tz}{seed_no}")
    try:
        await assert_reports_correct_while_building(app)  # (asks for the week and the month)
        assert await app.stats.rollups_building(GUILD)
        restarts = 0
        while True:
            for _ in range(rng.randrange(1, 5)):
                if not await step(app):
                    break
            else:
                app = await reopen(app, tmp_path)  # cut short: the steps so far are all that is left
                restarts += 1
                continue
            break
        assert restarts >= 3
        assert not await app.stats.rollups_building(GUILD)
        await assert_rollups_equal_raw(app)
        await assert_reports_equal_recount(app)
    finally:
        await app.close()


@pytest.mark.parametrize("tz,seed_no", [("Asia/Tokyo", 0), ("America/New_York", 1)])
async def test_writes_during_the_build_are_counted_once(tmp_path, monkeypatch, tz, seed_no):
    """Message counts, awards, quiz answers (some dated up to 30 hours back, some near a midnight) written
    between every step of the build, days passing and the windows asked to move meanwhile, a restart
    in the middle: every row is counted once, and /stats is right at every moment."""
    by_hand(monkeypatch)
    app, rng, serial = await never_built(tmp_path, tz, f"writes{tz}{seed_no}")
    try:
        await assert_reports_correct_while_building(app)
        for i in range(10_000):
            await write_some(app, rng, serial)
            if not await step(app, rows=rng.choice([2, 5])):
                break
            if i % 7 == 3:
                app.clock.advance(hours=rng.choice([3, 11]))
                await assert_reports_correct_while_building(app)  # (asks the windows to move)
            if i == 20:
                app = await reopen(app, tmp_path)
        await write_some(app, rng, serial)
        await assert_rollups_equal_raw(app)
        await assert_reports_equal_recount(app)
    finally:
        await app.close()


async def test_a_restarted_bot_finishes_the_build_in_the_background(tmp_path, monkeypatch):
    app, _, _ = await never_built(tmp_path, "Asia/Tokyo", "resume")
    with monkeypatch.context() as m:
        by_hand(m)
        await assert_reports_correct_while_building(app)
        for _ in range(4):
            await step(app)
        app = await reopen(app, tmp_path)
    try:
        assert await app.stats.rollups_building(GUILD)
        # the health page's retention by join cohort reads the raw rows while the member-days are built
        for i, user in enumerate(USERS):
            await app.db.execute("INSERT INTO members (guild_id, user_id, status, via, joined_at) VALUES"
                                 " (?, ?, 'member', 'open', ?)",
                                 (GUILD, user, to_db_time(app.clock.now() - timedelta(days=2 * i + 1))))
        while_building = await app.stats._compute_health(GUILD, "month")
        await app.stats.start()  # (what App.start runs for it) the build goes on by itself
        await app.stats.rollups_settled()
        assert not await app.stats.rollups_building(GUILD)
        built = await app.stats._compute_health(GUILD, "month")
        assert built["cohorts"] == while_building["cohorts"]
        assert any(any(r for r in c["rates"] if r) for c in built["cohorts"])
        await assert_rollups_equal_raw(app)
        await assert_reports_equal_recount(app)
    finally:
        await app.close()


@pytest.mark.sqlite_only("it counts the rows each SQLite transaction changes")
async def test_the_first_report_on_a_never_built_database_writes_in_small_transactions(tmp_path, monkeypatch):
    """On today's code before the fix, the first /stats built every member-day and window in one
    transaction (a minute of the writer at 100,000 members): now no transaction of the build changes
    more than a few chunks' worth of rows, however long the history."""
    monkeypatch.setattr(stats_build, "CHUNK_ROWS", 5)
    monkeypatch.setattr(stats_service, "STEP_SECONDS", 0)  # (the background steps' chunks: not grown)
    app, _, _ = await never_built(tmp_path, "Asia/Tokyo", "small", steps=60)
    # (the answers of questions still open are counted in one go when the quiz days' fill starts: a
    # community has one or two open, the generated history leaves dozens)
    await app.db.execute("UPDATE quiz_questions SET status = 'closed'")
    changes: list[int] = []
    original = app.db.transaction

    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def counted():
        async with original() as tx:
            before = app.db.conn.total_changes
            yield tx
            changes.append(app.db.conn.total_changes - before)

    monkeypatch.setattr(app.db, "transaction", counted)
    try:
        for period in ("week", "month"):
            await app.stats.report(GUILD, period)
        await app.stats.rollups_settled()
        assert sum(changes) > 400  # (the history is long enough for the bound to mean something)
        assert max(changes) <= 60, sorted(changes)[-5:]
        await assert_rollups_equal_raw(app)
        await assert_reports_equal_recount(app)
    finally:
        await app.close()
