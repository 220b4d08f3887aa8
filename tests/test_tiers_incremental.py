"""The daily tier review is incremental (issue 17): it re-checks only the members whose rule inputs can
have changed since the last review. On random histories (awards, time passing, points leaving the
30-day window, streaks ending, holder roles coming and going) it must leave every member exactly where
a full evaluation of everyone would put them."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from bot.app import App
from bot.clock import FakeClock
from bot.config import load_config
from bot.db import membership as repo
from tests.test_membership_service import FakeGuild, RecordingSender

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
GUILD = 1000
MEMBERS = [431000000000000200 + i for i in range(16)]


@pytest.fixture
async def app(tmp_path):
    app = await App.open(load_config("config"), db_path=tmp_path / "k.db", clock=FakeClock(T0), real_scheduler=False)
    app.outbox.sender = RecordingSender()
    app.guild = FakeGuild({u: {"member"} for u in MEMBERS})
    app.guild_id = GUILD
    await app.start()
    yield app
    await app.close()


async def stored_tiers(app) -> dict[int, str | None]:
    return {u: (await repo.get_tier_row(app.db, GUILD, u) or {}).get("tier") for u in MEMBERS}


async def full_evaluation_changes_nothing(app) -> list[int]:
    """Members a full evaluation would still change (after the incremental review: none)."""
    tiers = app.membership.tiers
    wrong = []
    for user_id in MEMBERS:
        keys = await tiers.roster.role_keys(GUILD, user_id)
        row = await repo.get_tier_row(app.db, GUILD, user_id) or {}
        rule = await tiers.rule_tier(GUILD, user_id, keys)
        target = max([k for k in (row.get("manual_tier"), rule) if tiers.rank(k)], key=tiers.rank, default=None)
        if target != row.get("tier"):
            wrong.append(user_id)
    return wrong


@pytest.mark.parametrize("seed", range(8))
async def test_the_incremental_daily_review_matches_a_full_evaluation(app, seed):
    rng = random.Random(seed)
    clock, ledger = app.clock, app.participation.ledger
    await app.membership.daily_review()  # the first review looks at everyone and records itself
    n = 0
    for day in range(50):
        for _ in range(rng.randrange(6)):
            n += 1
            user_id = rng.choice(MEMBERS)
            action = rng.choice(["prompt_answer", "quiz_correct", "event_attend"])
            await ledger.award(GUILD, user_id, action, f"r{n}", rng.choice([5, 10, 40, 120]))
            clock.advance(minutes=rng.randrange(1, 240))
        if rng.random() < 0.15:  # another bot syncs a holder role; sometimes the bot misses the event
            user_id = rng.choice(MEMBERS)
            roles = app.guild.roles[user_id]
            roles.symmetric_difference_update({"holder"})
            if rng.random() < 0.5:
                await app.membership.evaluate_tiers(GUILD, user_id)
        clock.set(datetime(2026, 12, 1, 19, 0, tzinfo=timezone.utc) + timedelta(days=day + rng.choice([0, 0, 1, 3])))
        await app.membership.daily_review()
        assert await full_evaluation_changes_nothing(app) == [], f"seed {seed}, day {day}"


async def test_the_review_after_a_quiet_day_looks_only_at_who_can_have_changed(app):
    ledger = app.participation.ledger
    await ledger.award(GUILD, MEMBERS[0], "event_attend", "e1", 120)   # leaf by points (100 in 30 days)
    await app.membership.daily_review()
    looked: list[int] = []
    tiers = app.membership.tiers
    original = tiers.evaluate

    async def spy(guild_id, user_id, **kwargs):
        looked.append(user_id)
        return await original(guild_id, user_id, **kwargs)

    tiers.evaluate = spy
    app.clock.advance(days=1)
    await app.membership.daily_review()
    assert looked == [MEMBERS[0]]                          # the tier holder, not all 16 members
    looked.clear()
    app.clock.advance(days=30)
    await app.membership.daily_review()                    # the 120 points left the window: demoted
    assert looked == [MEMBERS[0]]
    assert (await stored_tiers(app))[MEMBERS[0]] is None


async def test_changed_tier_rules_make_the_next_review_look_at_everyone(app):
    await app.membership.daily_review()
    tiers = app.membership.tiers
    looked: list[int] = []
    original = tiers.evaluate

    async def spy(guild_id, user_id, **kwargs):
        looked.append(user_id)
        return await original(guild_id, user_id, **kwargs)

    tiers.evaluate = spy
    await repo.set_state(app.db, GUILD, "tier_review_rules", "[]")  # as if the rules were different then
    await app.membership.daily_review()
    assert set(MEMBERS) <= set(looked)
