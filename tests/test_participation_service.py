"""The participation ledger, streaks, leaderboards, activity counts and the membership feed, on SQLite."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.app import App
from bot.clock import FakeClock
from bot.config import load_config
from bot.db import participation as repo
from bot.errors import UserError
from bot.services.participation.ledger import compute_streak

T0 = datetime(2026, 12, 1, 3, 0, tzinfo=timezone.utc)  # 12:00 in Tokyo (the example's time zone)
GUILD = 1000
ALICE, BOB, CAROL = 431000000000000011, 431000000000000012, 431000000000000013


@pytest.fixture
async def app(tmp_path):
    app = await App.open(load_config("config"), db_path=tmp_path / "k.db", clock=FakeClock(T0), real_scheduler=False)
    yield app
    await app.close()


async def test_an_action_on_the_same_thing_counts_once_and_announces_once(app):
    changed = []

    async def on_changed(guild_id, user_id, **_):
        changed.append((guild_id, user_id))

    app.events.on("points.changed", on_changed)
    assert await app.participation.award(GUILD, ALICE, "feedback", "feedback:1") == 5  # from participation.yaml
    assert await app.participation.award(GUILD, ALICE, "feedback", "feedback:1") is None
    assert await app.participation.award(GUILD, ALICE, "feedback", "feedback:2", points=7) == 7
    assert await app.participation.points(GUILD, ALICE) == 12
    assert changed == [(GUILD, ALICE), (GUILD, ALICE)]


async def test_an_unknown_action_is_recorded_with_zero_points_unless_given(app):
    assert await app.participation.award(GUILD, BOB, "meetup", "meetup:1") == 0
    assert await app.participation.award(GUILD, BOB, "meetup", "meetup:2", points=3) == 3
    assert await app.participation.points(GUILD, BOB) == 3


async def test_the_leaderboard_ranks_ties_by_who_got_there_first_then_by_id(app):
    clock = app.clock
    await app.participation.award(GUILD, CAROL, "x", "1", points=20)   # carol reaches 20 first
    clock.advance(minutes=5)
    await app.participation.award(GUILD, BOB, "x", "1", points=20)     # bob and alice reach 20 together
    await app.participation.award(GUILD, ALICE, "x", "1", points=20)
    clock.advance(minutes=5)
    await app.participation.award(GUILD, 5, "x", "1", points=30)
    await app.participation.award(GUILD, 6, "x", "1", points=0)         # no points: not ranked
    board = await app.participation.leaderboard(GUILD, "all")
    assert [(s.rank, s.user_id, s.points) for s in board.rows] == [
        (1, 5, 30), (2, CAROL, 20), (3, ALICE, 20), (4, BOB, 20)]


async def test_week_and_month_are_rolling_windows(app):
    await app.participation.award(GUILD, ALICE, "x", "old", points=50)
    app.clock.advance(days=10)
    await app.participation.award(GUILD, BOB, "x", "new", points=5)
    week = await app.participation.leaderboard(GUILD, "week")
    month = await app.participation.leaderboard(GUILD, "month")
    assert [s.user_id for s in week.rows] == [BOB]
    assert [s.user_id for s in month.rows] == [ALICE, BOB]
    with pytest.raises(UserError) as info:
        await app.participation.leaderboard(GUILD, "decade")
    assert info.value.key == "participation.bad_period"


async def test_streak_days_follow_the_community_time_zone(app):
    # 23:30 Tokyo on Dec 1 and 00:30 Tokyo on Dec 2 are one hour apart but two days
    app.clock.set(datetime(2026, 12, 1, 14, 30, tzinfo=timezone.utc))
    await app.participation.award(GUILD, ALICE, "x", "a", points=1)
    app.clock.set(datetime(2026, 12, 1, 15, 30, tzinfo=timezone.utc))
    await app.participation.award(GUILD, ALICE, "x", "b", points=1)
    streak = await app.participation.streak(GUILD, ALICE)
    assert (streak.current, streak.best, streak.active_today) == (2, 2, True)
    app.clock.advance(days=1)  # Dec 3: nothing yet today, the streak still stands
    assert (await app.participation.streak(GUILD, ALICE)).current == 2
    app.clock.advance(days=1)  # Dec 4: a day was missed
    streak = await app.participation.streak(GUILD, ALICE)
    assert (streak.current, streak.best) == (0, 2)


def test_streak_arithmetic():
    d = lambda n: datetime(2026, 12, n).date()  # noqa: E731
    assert compute_streak([d(5), d(4), d(3), d(1)], d(5)).current == 3
    assert compute_streak([d(4), d(3)], d(5)).current == 2
    assert compute_streak([d(3), d(2), d(1)], d(6)) .best == 3
    assert compute_streak([], d(6)).current == 0


async def test_messages_are_counted_per_member_per_local_day_and_flushed_in_one_batch(app):
    before_midnight = datetime(2026, 12, 1, 14, 59, tzinfo=timezone.utc)  # 23:59 Dec 1 in Tokyo
    after_midnight = before_midnight + timedelta(minutes=2)
    for _ in range(3):
        app.participation.record_message(GUILD, ALICE, 77, before_midnight)
    app.participation.record_message(GUILD, ALICE, 77, after_midnight)
    app.participation.record_message(GUILD, BOB, 78, after_midnight)
    assert await repo.activity_total(app.db, GUILD) == 0  # buffered, not yet written
    assert await app.participation.flush_activity() == 5
    assert await repo.activity_total(app.db, GUILD, user_id=ALICE, day="2026-12-01") == 3
    assert await repo.activity_total(app.db, GUILD, user_id=ALICE, day="2026-12-02") == 1
    app.participation.record_message(GUILD, ALICE, 77, after_midnight)
    await app.participation.flush_activity()
    assert await repo.activity_total(app.db, GUILD, user_id=ALICE, day="2026-12-02") == 2  # added, not replaced


async def test_buffered_messages_are_flushed_by_the_timer_and_on_shutdown(tmp_path):
    path = tmp_path / "k.db"
    app = await App.open(load_config("config"), db_path=path, clock=FakeClock(T0), real_scheduler=False)
    app.participation.record_message(GUILD, ALICE, 77, T0)
    await app.scheduler.advance_to(T0 + timedelta(seconds=31))  # flush_seconds: 30
    assert await repo.activity_total(app.db, GUILD) == 1
    app.participation.record_message(GUILD, BOB, 77, T0)
    await app.close()  # stop() flushes what is left
    app = await App.open(load_config("config"), db_path=path, clock=FakeClock(T0), real_scheduler=False)
    assert await repo.activity_total(app.db, GUILD) == 2
    await app.close()


async def test_only_community_channels_are_counted(app):
    activity = app.participation.activity
    assert activity.counts_channel("lounge") and activity.counts_channel("leaf-lounge")
    assert not activity.counts_channel("mod-log") and not activity.counts_channel("announcements")
    assert not activity.counts_channel(None)


async def test_membership_tiers_read_points_and_streaks_from_the_ledger(app):
    await app.start()
    tiers = app.membership.tiers
    assert tiers.points_provider is not None and tiers.streak_provider is not None
    await app.participation.award(GUILD, ALICE, "x", "old", points=80)
    app.clock.advance(days=31)
    await app.participation.award(GUILD, ALICE, "x", "new", points=30)
    assert await tiers.points_provider(GUILD, ALICE, 30) == 30  # the leaf rule's window
    assert await tiers.points_provider(GUILD, ALICE, 60) == 110
    assert await tiers.streak_provider(GUILD, ALICE) == 1


async def test_a_profile_shows_points_rank_streak_and_tier_progress(app):
    await app.participation.award(GUILD, BOB, "x", "1", points=200)
    await app.participation.award(GUILD, ALICE, "x", "1", points=40)
    me = await app.participation.profile(GUILD, ALICE)
    assert (me.points_all, me.points_week, me.rank, me.ranked) == (40, 40, 2, 2)
    assert me.streak.current == 1
    progress = {(p.tier_key, p.way): (p.have, p.need, p.reached) for p in me.progress}
    assert progress[("leaf", "points")] == (40, 100, False)
    assert progress[("leaf", "streak")] == (1, 7, False)
    assert progress[("blossom", "points")] == (40, 500, False)
    nobody = await app.participation.profile(GUILD, CAROL)
    assert (nobody.points_all, nobody.rank) == (0, None)
