"""Daily active members kept per (member, day) on write (issue 17, migration 0013): after random
activity and ledger writes through the real writers, before and after the first /stats builds the
table from the existing rows, the report equals the one recomputed from every row."""
from __future__ import annotations

import random
from datetime import timedelta

import pytest

from bot.app import App
from bot.clock import FakeClock
from bot.config import load_config
from bot.db import participation
from bot.db import stats as stats_repo

from tests.test_stats_sql import GUILD, T0, USERS, seed


@pytest.fixture
async def app(tmp_path):
    app = await App.open(load_config("config"), db_path=tmp_path / "k.db", clock=FakeClock(T0), real_scheduler=False)
    yield app
    await app.close()


async def write_through_the_writers(app, rng, n: int) -> None:
    tz = app.config.timezone
    for i in range(n):
        at = T0 - timedelta(days=rng.randrange(40), hours=rng.randrange(24), microseconds=rng.choice([0, 1]))
        day = at.astimezone(tz).date().isoformat()
        user = rng.choice(USERS)
        kind = rng.randrange(3)
        if kind == 0:
            await participation.add_activity(app.db, [(GUILD, user, day, rng.choice([0, 1, 4])),
                                                      (GUILD, rng.choice(USERS), day, rng.choice([0, 2]))])
        elif kind == 1:  # a repeated ref is not counted twice
            await participation.award(app.db, guild_id=GUILD, user_id=user, action=rng.choice(["prompt_answer", "x"]),
                                      ref=f"w{rng.randrange(n)}", points=rng.choice([0, 3]), day=day, at=at)
        else:
            async with app.db.transaction() as tx:
                await participation.award_many_in(tx, [(GUILD, rng.choice(USERS), "quiz_answer", f"m{i}:{k}", 2, day, at)
                                                       for k in range(rng.randrange(1, 4))])


def figures(r):
    return (r.active, r.posters, r.participants, r.messages, r.prompts, r.quizzes,
            [(c.user_id, c.messages, c.participations, c.points) for c in r.top],
            [(d.day, d.active) for d in r.days])


async def assert_equal_to_recomputing(app, monkeypatch):
    for period in ("week", "month"):
        for back in (0, 2, 9):
            last = app.stats.today() - timedelta(days=back)
            kept = await app.stats.report(GUILD, period, last_day=last)
            with monkeypatch.context() as m:
                async def never(*args, **kwargs):
                    return False
                m.setattr(stats_repo, "member_days_ready", never)
                full = await app.stats.report(GUILD, period, last_day=last)
            assert figures(kept) == figures(full)


@pytest.mark.parametrize("seed_no", range(4))
async def test_kept_daily_active_members_equal_recomputing_every_row(app, monkeypatch, seed_no):
    rng = random.Random(seed_no)
    await seed(app, rng)  # rows from before the table (or loaded in bulk): the first read builds it
    await write_through_the_writers(app, rng, 60)
    await assert_equal_to_recomputing(app, monkeypatch)
    assert await app.db.fetchval("SELECT COUNT(*) FROM stats_member_days_state") == 1
    await write_through_the_writers(app, rng, 120)  # kept on write from now on
    await assert_equal_to_recomputing(app, monkeypatch)
    assert await app.db.fetchval("SELECT COUNT(*) FROM stats_member_days") > 0


async def test_a_read_only_database_without_the_table_built_recomputes(tmp_path):
    path = tmp_path / "k.db"
    app = await App.open(load_config("config"), db_path=path, clock=FakeClock(T0), real_scheduler=False)
    await seed(app, random.Random(7))
    want = figures(await app.stats.report(GUILD, "month"))
    await app.db.execute("DELETE FROM stats_member_days_state")
    await app.db.execute("DELETE FROM stats_member_days")
    await app.close()
    ro = await App.open(load_config("config"), db_path=path, clock=FakeClock(T0), real_scheduler=False, read_only=True)
    try:
        assert figures(await ro.stats.report(GUILD, "month")) == want
        assert await ro.db.fetchval("SELECT COUNT(*) FROM stats_member_days") == 0
    finally:
        await ro.close()
