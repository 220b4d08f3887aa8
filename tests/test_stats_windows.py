"""/stats from kept windows (issue 17, migration 0020): the week and the month ending today are read from
per-member sums and per-day counts kept on write, moved forward as days pass. On generated histories
(writes through the real writers, the clock walking forward over days and once back, time zones with and
without daylight saving, a time-zone change) every figure equals the one counted straight from the raw
rows; and the report's reads do not grow with the period's rows."""
from __future__ import annotations

import dataclasses
import random
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.app import App
from bot.clock import FakeClock
from bot.config import load_config
from bot.db import participation
from bot.db import quizzes
from bot.db.connection import from_db_time, to_db_time

from tests.helpers import config_dir_with, count_sqlite_steps

GUILD = 1000
USERS = [431000000000000300 + i for i in range(12)]
# the clock starts before the 2026-11-01 DST change in New York and walks past it
T0 = datetime(2026, 10, 20, 13, 0, tzinfo=timezone.utc)


async def open_app(tmp_path, tz: str) -> App:
    config = load_config(config_dir_with(tmp_path, {"community.yaml": {"community": {"timezone": tz}}}))
    return await App.open(config, db_path=tmp_path / "k.db", clock=FakeClock(T0), real_scheduler=False)


def local_day(at: datetime, tz) -> str:
    return at.astimezone(tz).date().isoformat()


def utc_midnight(day: date, tz) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(timezone.utc)


async def write_some(app: App, rng: random.Random, serial: list[int]) -> None:
    """A few writes through the real writers at (or a little before) the clock's time: message counts,
    single awards, batch awards (a quiz close), quiz answers, joins and leaves."""
    tz, now = app.config.timezone, app.clock.now()
    for _ in range(rng.randrange(1, 6)):
        serial[0] += 1
        at = now - timedelta(hours=rng.choice([0, 0, 1, 5, 20, 30]), microseconds=rng.choice([0, 1]))
        day = local_day(at, tz)
        kind = rng.randrange(5)
        if kind == 0:
            await participation.add_activity(app.db, [(GUILD, rng.choice(USERS), day, rng.choice([0, 1, 4, 9]))
                                                      for _ in range(rng.randrange(1, 4))])
        elif kind == 1:  # a repeated ref is not counted twice
            await participation.award(app.db, guild_id=GUILD, user_id=rng.choice(USERS),
                                      action=rng.choice(["prompt_answer", "feedback"]), ref=f"r{rng.randrange(40)}",
                                      points=rng.choice([0, 3, 10]), day=day, at=at)
        elif kind == 2:
            async with app.db.transaction() as tx:
                await participation.award_many_in(tx, [
                    (GUILD, rng.choice(USERS), rng.choice(["quiz_answer", "quiz_correct"]), f"q{serial[0]}:{k}",
                     rng.choice([2, 5]), day, at) for k in range(rng.randrange(1, 4))])
        elif kind == 3:
            async with app.db.transaction() as tx:
                run_id = await tx.fetchval(
                    "INSERT INTO quiz_runs (guild_id, bank, channel, seconds, pause_seconds, speed_bonus, status,"
                    " started_at) VALUES (?, 'tea', 'quiz', 60, 10, 0, 'running', ?) RETURNING id",
                    (GUILD, to_db_time(at)))
                qid = await tx.fetchval("INSERT INTO quiz_questions (run_id, position, snapshot, status) VALUES"
                                        " (?, 1, '{}', 'open') RETURNING id", (run_id,))
            # choice answers and free-text ones (choice -1, what was typed kept), some near a local midnight
            free = rng.random() < 0.5
            answers = [(qid, u, -1 if free else 0, 1, 5, at + timedelta(seconds=rng.randrange(90)),
                        f"tea {u % 7}" if free else None) for u in rng.sample(USERS, rng.randrange(1, 5))]
            await quizzes.add_answers(app.db, answers + answers[:1])  # (a second answer is not written)
            if rng.random() < 0.3:  # a member answering again, and an answer after the question closed
                await quizzes.add_answers(app.db, answers[:1])
                await app.db.execute("UPDATE quiz_questions SET status = 'closed' WHERE id = ?", (qid,))
                await quizzes.add_answers(app.db, [(qid, u, 1, 0, 0, at, None) for u in USERS])
        else:
            await app.db.execute("INSERT INTO member_events (guild_id, user_id, kind, at) VALUES (?, ?, ?, ?)",
                                 (GUILD, rng.choice(USERS), rng.choice(["joined", "left", "applied"]), to_db_time(at)))


async def recount(app: App, first: date, last: date) -> dict:
    """Every figure of the report, counted in Python straight from the raw rows. The days of the chart
    count a ledger row on its stored `day`; the period's totals take the rows whose time falls in it."""
    tz = app.config.timezone
    start, end = utc_midnight(first, tz), utc_midnight(last + timedelta(days=1), tz)
    in_days = lambda day: first.isoformat() <= day <= last.isoformat()  # noqa: E731
    in_time = lambda at: start <= at < end  # noqa: E731
    active_by_day: dict[str, set[int]] = defaultdict(set)
    messages, parts, points = Counter(), Counter(), Counter()
    participants, prompt_rows = set(), []
    for user, day, count in await app.db.fetchall(
            "SELECT user_id, day, messages FROM activity_daily WHERE guild_id = ?", (GUILD,)):
        if in_days(day) and count > 0:
            active_by_day[day].add(user)
            messages[user] += count
    for user, day, at, action, pts in await app.db.fetchall(
            "SELECT user_id, day, at, action, points FROM participation_ledger WHERE guild_id = ?", (GUILD,)):
        if in_days(day):
            active_by_day[day].add(user)
        if in_time(from_db_time(at)):
            parts[user] += 1
            points[user] += pts
            participants.add(user)
            if action == "prompt_answer":
                prompt_rows.append(user)
    quiz = []
    for user, at in await app.db.fetchall("SELECT user_id, answered_at FROM quiz_answers"):
        at = from_db_time(at)
        if in_time(at):
            quiz.append(user)
            participants.add(user)
            active_by_day[local_day(at, tz)].add(user)
    joins, leaves = Counter(), Counter()
    for kind, at in await app.db.fetchall("SELECT kind, at FROM member_events WHERE guild_id = ?", (GUILD,)):
        at = from_db_time(at)
        if in_time(at):
            {"joined": joins, "left": leaves}.get(kind, Counter())[local_day(at, tz)] += 1
    everyone = set(messages) | set(parts)
    top = sorted(everyone, key=lambda u: (-(messages[u] + parts[u]), -points[u], u))[:5]
    days = [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    return {
        "active": len(everyone | set(quiz)), "posters": len(messages), "participants": len(participants),
        "messages": sum(messages.values()), "prompts": (len(prompt_rows), len(set(prompt_rows))),
        "quizzes": (len(quiz), len(set(quiz))), "joined": sum(joins.values()), "left": sum(leaves.values()),
        "top": [(u, messages[u], parts[u], points[u]) for u in top],
        "days": [(d, len(active_by_day[d]), joins[d], leaves[d]) for d in days],
    }


def figures(r) -> dict:
    return {
        "active": r.active, "posters": r.posters, "participants": r.participants, "messages": r.messages,
        "prompts": (r.prompts.answers, r.prompts.participants), "quizzes": (r.quizzes.answers, r.quizzes.participants),
        "joined": r.joined, "left": r.left, "top": [(c.user_id, c.messages, c.participations, c.points) for c in r.top],
        "days": [(d.day.isoformat(), d.active, d.joined, d.left) for d in r.days],
    }


async def assert_quiz_days_equal_answers(app: App) -> None:
    """The kept quiz days (migration 0023) from the guild's earliest window on are the answers counted
    per member per local day of the app's zone."""
    first = await app.db.fetchval("SELECT MIN(first_day) FROM stats_window_state WHERE guild_id = ?", (GUILD,))
    if first is None:
        return
    tz, want = app.config.timezone, Counter()
    for user, at in await app.db.fetchall("SELECT user_id, answered_at FROM quiz_answers"):
        if local_day(from_db_time(at), tz) >= first:
            want[(local_day(from_db_time(at), tz), user)] += 1
    kept = await app.db.fetchall("SELECT day, user_id, answers FROM stats_quiz_days WHERE guild_id = ? AND day >= ?",
                                 (GUILD, first))
    assert {(d, u): n for d, u, n in kept} == dict(want)


async def assert_reports_equal_recount(app: App) -> None:
    await assert_quiz_days_equal_answers(app)
    for period in ("week", "month"):
        for back in (0, 1):  # today (the kept window) and yesterday (the digest's period: the rows)
            last = app.stats.today() - timedelta(days=back)
            report = await app.stats.report(GUILD, period, last_day=last)
            assert figures(report) == await recount(app, report.first_day, report.last_day), (period, back)


@pytest.mark.parametrize("seed_no", range(2))
@pytest.mark.parametrize("tz", ["Asia/Tokyo", "America/New_York", "Pacific/Chatham", "UTC"])
async def test_kept_windows_equal_counting_the_raw_rows_as_days_pass(tmp_path, tz, seed_no):
    app = await open_app(tmp_path, tz)
    rng, serial = random.Random(f"{tz}{seed_no}"), [0]
    try:
        for step in range(40):
            await write_some(app, rng, serial)
            if step % 3 == 0:
                await assert_reports_equal_recount(app)
            if step == 30:  # the clock set back: the windows are built again
                app.clock.advance(hours=-60)
            else:
                app.clock.advance(hours=rng.choice([2, 7, 13, 26]))
        await assert_reports_equal_recount(app)
        assert await app.db.fetchval("SELECT COUNT(*) FROM stats_window_state WHERE guild_id = ?", (GUILD,)) == 2
    finally:
        await app.close()


@pytest.mark.parametrize("zones", [("Asia/Tokyo", "America/Los_Angeles"), ("America/Los_Angeles", "Asia/Tokyo")])
async def test_a_time_zone_change_builds_the_windows_again(tmp_path, zones):
    """The week read first in the new zone, the month later: quiz answers written in between count on
    the new zone's days (the guild's windows are all kept in one zone)."""
    old, new = zones
    app = await open_app(tmp_path, old)
    rng, serial = random.Random(5), [0]
    try:
        for _ in range(12):
            await write_some(app, rng, serial)
            app.clock.advance(hours=9)
        await assert_reports_equal_recount(app)
        app.config = dataclasses.replace(app.config, community=app.config.community.model_copy(update={
            "info": app.config.community.info.model_copy(update={"timezone": new})}))
        assert app.config.timezone == ZoneInfo(new)
        for step in range(8):
            await write_some(app, rng, serial)
            app.clock.advance(hours=9)
            for period in ("week",) if step < 7 else ("week", "month"):
                report = await app.stats.report(GUILD, period)
                want = await recount(app, report.first_day, report.last_day)
                got = figures(report)
                # the chart's days count ledger rows on the day stored with them (the old zone's days)
                assert {k: v for k, v in got.items() if k != "days"} == {k: v for k, v in want.items() if k != "days"}
                await assert_quiz_days_equal_answers(app)
        assert await app.db.fetchval("SELECT MIN(time_zone) FROM stats_window_state") == new
        assert await app.db.fetchval("SELECT MAX(time_zone) FROM stats_window_state") == new
    finally:
        await app.close()


@pytest.mark.sqlite_only("it counts SQLite VM steps on the read connections")
async def test_the_report_reads_no_more_when_the_period_holds_ten_times_the_rows(tmp_path, monkeypatch):
    """The same members doing ten times as much in the week: the report's reads (SQLite VM steps on
    the read connections) stay the same size, instead of summing every ledger row of the period."""
    app = await open_app(tmp_path, "Asia/Tokyo")
    steps = count_sqlite_steps(monkeypatch)

    async def add(rounds: int, tag: str) -> None:
        tz, now = app.config.timezone, app.clock.now()
        times = [now - timedelta(hours=r % 30 * 3) for r in range(rounds)]
        async with app.db.transaction() as tx:
            await participation.award_many_in(tx, [(GUILD, u, "feedback", f"{tag}:{r}", 2, local_day(at, tz), at)
                                                   for r, at in enumerate(times) for u in USERS])
        await participation.add_activity(app.db, [(GUILD, u, local_day(at, tz), 3) for at in times for u in USERS])

    async def report_steps() -> int:
        await app.stats.report(GUILD, "week")  # (moves the windows, if they must)
        steps[0] = 0
        await app.stats.report(GUILD, "week")
        return steps[0]

    try:
        await add(30, "a")
        small = await report_steps()
        await add(270, "b")
        large = await report_steps()
        assert large < small * 1.5, (small, large)
    finally:
        await app.close()


@pytest.mark.sqlite_only("it counts SQLite VM steps on the read connections")
async def test_the_month_reads_no_more_when_the_period_holds_ten_times_the_quiz_answers(tmp_path, monkeypatch):
    """Quiz answers count from a row per member per local day kept with the answers (migration 0023):
    ten times the answers in the month, from the same members, and the month's report reads the same."""
    app = await open_app(tmp_path, "Asia/Tokyo")
    steps = count_sqlite_steps(monkeypatch)

    async def add(questions: int) -> None:
        now = app.clock.now()
        for q in range(questions):
            at = now - timedelta(hours=q % 25 * 24 + 1)
            async with app.db.transaction() as tx:
                run_id = await tx.fetchval(
                    "INSERT INTO quiz_runs (guild_id, bank, channel, seconds, pause_seconds, speed_bonus, status,"
                    " started_at) VALUES (?, 'tea', 'quiz', 60, 10, 0, 'running', ?) RETURNING id",
                    (GUILD, to_db_time(at)))
                qid = await tx.fetchval("INSERT INTO quiz_questions (run_id, position, snapshot, status) VALUES"
                                        " (?, 1, '{}', 'open') RETURNING id", (run_id,))
            await quizzes.add_answers(app.db, [(qid, u, -1 if q % 2 else 1, 1, 5, at, "tea" if q % 2 else None)
                                               for u in USERS])

    async def report_steps() -> tuple[int, int]:
        report = await app.stats.report(GUILD, "month")  # (builds or moves the windows, if they must)
        steps[0] = 0
        report = await app.stats.report(GUILD, "month")
        return steps[0], report.quizzes.answers

    try:
        await add(25)
        small, answers = await report_steps()
        assert answers == 25 * len(USERS)
        await add(225)
        large, answers = await report_steps()
        assert answers == 250 * len(USERS)
        assert large < small * 1.5, (small, large)
    finally:
        await app.close()
