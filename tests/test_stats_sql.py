"""/stats aggregates in SQL (issue 17): on random activity, ledger rows and quiz answers (around the
period's local-day edges too) the report must equal the straightforward count over the raw rows."""
from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone

import pytest

from bot.app import App
from bot.clock import FakeClock
from bot.config import load_config
from bot.db.connection import to_db_time

T0 = datetime(2026, 12, 20, 3, 0, tzinfo=timezone.utc)
GUILD = 1000
USERS = [431000000000000300 + i for i in range(15)]


@pytest.fixture
async def app(tmp_path):
    app = await App.open(load_config("config"), db_path=tmp_path / "k.db", clock=FakeClock(T0), real_scheduler=False)
    yield app
    await app.close()


async def seed(app, rng) -> tuple[list, list, list]:
    tz = app.config.timezone
    posts, ledger, answers = [], [], []
    async with app.db.transaction() as tx:
        run_id = await tx.fetchval("INSERT INTO quiz_runs (guild_id, bank, channel, seconds, pause_seconds, speed_bonus,"
                                   " status, started_at) VALUES (?, 'tea', 'quiz', 60, 10, 0, 'finished', ?) RETURNING id",
                                   (GUILD, to_db_time(T0 - timedelta(days=40))))
        for day_back in range(40):
            day = (T0.astimezone(tz) - timedelta(days=day_back)).date().isoformat()
            for user in rng.sample(USERS, rng.randrange(0, 6)):
                messages = rng.choice([0, 1, 3, 12])
                await tx.execute("INSERT INTO activity_daily (guild_id, user_id, day, messages) VALUES (?, ?, ?, ?)",
                                 (GUILD, user, day, messages))
                posts.append((user, day, messages))
        for i in range(150):
            # times spread over 40 days, many right at a local midnight (a period's edge)
            at = T0 - timedelta(days=rng.randrange(40), hours=rng.randrange(24))
            if rng.random() < 0.3:
                local = at.astimezone(tz)
                at = local.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(microseconds=rng.choice([0, 1]))
            at = at.astimezone(timezone.utc)
            user, action = rng.choice(USERS), rng.choice(["prompt_answer", "quiz_answer", "feedback"])
            points = rng.choice([0, 2, 5, 10])
            await tx.execute("INSERT INTO participation_ledger (guild_id, user_id, action, ref, points, day, at)"
                             " VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (GUILD, user, action, f"r{i}", points, at.astimezone(tz).date().isoformat(), to_db_time(at)))
            ledger.append((user, at, action, points))
        for q in range(12):
            qid = await tx.fetchval("INSERT INTO quiz_questions (run_id, position, snapshot, status) VALUES"
                                    " (?, ?, '{}', 'closed') RETURNING id", (run_id, q + 1))
            base = T0 - timedelta(days=rng.randrange(40), hours=rng.randrange(24))
            for user in rng.sample(USERS, rng.randrange(1, 8)):
                at = base + timedelta(seconds=rng.randrange(120))
                await tx.execute("INSERT INTO quiz_answers (question_id, user_id, choice, correct, points, answered_at)"
                                 " VALUES (?, ?, 0, 1, 5, ?)", (qid, user, to_db_time(at)))
                answers.append((user, at))
    return posts, ledger, answers


def expected(app, posts, ledger, answers, first, last):
    """The report's figures counted straight from the raw rows (what the Python aggregation did)."""
    tz = app.config.timezone
    in_days = lambda day: first.isoformat() <= day <= last.isoformat()  # noqa: E731
    active_by_day: dict[str, set[int]] = defaultdict(set)
    messages, parts, points = Counter(), Counter(), Counter()
    for user, day, count in posts:
        if in_days(day) and count > 0:
            active_by_day[day].add(user)
            messages[user] += count
    prompt_rows = []
    participants = set()
    for user, at, action, pts in ledger:
        day = at.astimezone(tz).date().isoformat()
        if in_days(day):
            active_by_day[day].add(user)
            parts[user] += 1
            points[user] += pts
            participants.add(user)
            if action == "prompt_answer":
                prompt_rows.append(user)
    quiz = [(u, at.astimezone(tz).date().isoformat()) for u, at in answers if in_days(at.astimezone(tz).date().isoformat())]
    for user, day in quiz:
        active_by_day[day].add(user)
        participants.add(user)
    everyone = set(messages) | set(parts)
    top = sorted(everyone, key=lambda u: (-(messages[u] + parts[u]), -points[u], u))[:5]
    return {
        "active": len(set().union(*active_by_day.values())) if active_by_day else 0,
        "posters": len(messages), "participants": len(participants), "messages": sum(messages.values()),
        "prompts": (len(prompt_rows), len(set(prompt_rows))), "quizzes": (len(quiz), len({u for u, _ in quiz})),
        "top": [(u, messages[u], parts[u], points[u]) for u in top],
        "days": {d: len(us) for d, us in active_by_day.items()},
    }


@pytest.mark.parametrize("seed_no", range(5))
@pytest.mark.parametrize("period", ["week", "month"])
async def test_the_sql_report_equals_counting_the_raw_rows(app, seed_no, period):
    posts, ledger, answers = await seed(app, random.Random(seed_no))
    for last_day_back in (0, 3):
        last = app.stats.today() - timedelta(days=last_day_back)
        r = await app.stats.report(GUILD, period, last_day=last)
        want = expected(app, posts, ledger, answers, r.first_day, r.last_day)
        assert (r.active, r.posters, r.participants, r.messages) == \
               (want["active"], want["posters"], want["participants"], want["messages"])
        assert (r.prompts.answers, r.prompts.participants) == want["prompts"]
        assert (r.quizzes.answers, r.quizzes.participants) == want["quizzes"]
        assert [(c.user_id, c.messages, c.participations, c.points) for c in r.top] == want["top"]
        assert {d.day.isoformat(): d.active for d in r.days if d.active} == want["days"]
