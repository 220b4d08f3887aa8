"""Time rules: the wall-clock trigger agrees with APScheduler's CronTrigger and handles DST once."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from bot.config.schedules import Schedule
from bot.triggers import WallClockTrigger, cron_fields, local_to_utc, occurrences

UTC = timezone.utc
ZONES = ["Asia/Tokyo", "America/New_York", "Europe/London", "Australia/Lord_Howe", "UTC"]


def test_the_daily_weekly_fast_path_answers_like_the_cron_trigger():
    rng = random.Random(4)
    for _ in range(400):
        days = sorted(rng.sample(["mon", "tue", "wed", "thu", "fri", "sat", "sun"], rng.randint(1, 7)))
        fields = {"hour": str(rng.randint(0, 23)), "minute": str(rng.choice([0, 15, 30, 45, rng.randint(0, 59)]))}
        if rng.random() < 0.6:
            fields["day_of_week"] = ",".join(days)
        start = date(2026, rng.randint(1, 12), rng.randint(1, 28)) if rng.random() < 0.3 else None
        end = start + timedelta(days=rng.randint(0, 60)) if start and rng.random() < 0.7 else None
        tz = ZoneInfo(rng.choice(ZONES))
        fast = WallClockTrigger(fields, tz, start, end)
        slow = WallClockTrigger(fields, tz, start, end)
        slow.simple = None  # force the CronTrigger path
        assert fast.simple is not None
        now = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randint(0, 365 * 86400),
                                                           microseconds=rng.choice([0, 500]))
        expected = occurrences(slow, now, now + timedelta(days=20))
        assert occurrences(fast, now, now + timedelta(days=20)) == expected, (fields, tz, start, end, now)
        for exact in expected[:2]:  # asked exactly at a fire time, and just after it
            for probe in (exact, exact + timedelta(microseconds=500), exact - timedelta(seconds=1)):
                assert fast.get_next_fire_time(None, probe) == slow.get_next_fire_time(None, probe), (fields, probe)


def test_crontab_weekday_numbers_mean_what_crontab_means():
    assert cron_fields("0 9 * * 0")["day_of_week"] == "sun"
    assert cron_fields("0 9 * * 1-5")["day_of_week"] == "mon,tue,wed,thu,fri"
    assert cron_fields("0 9 * * 7")["day_of_week"] == "sun"
    s = Schedule(id="x", channel="lounge", cron="0 9 * * 0", text="hi", timezone="Asia/Tokyo")
    first = s.trigger("UTC").get_next_fire_time(None, datetime(2026, 12, 1, tzinfo=UTC))  # a Tuesday
    assert first.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%a %H:%M") == "Sun 09:00"


def test_a_time_in_the_spring_forward_gap_maps_to_the_end_of_the_gap():
    ny = ZoneInfo("America/New_York")
    assert local_to_utc(datetime(2026, 3, 8, 2, 30), ny) == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    assert local_to_utc(datetime(2026, 11, 1, 1, 30), ny) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # first pass
    lord_howe = ZoneInfo("Australia/Lord_Howe")  # a 30-minute change
    assert local_to_utc(datetime(2026, 10, 4, 2, 10), lord_howe).astimezone(lord_howe).strftime("%H:%M") == "02:30"


def test_every_quarter_hour_across_fall_back_fires_each_wall_time_once():
    s = Schedule(id="x", channel="lounge", cron="*/15 1 * * *", text="hi", timezone="America/New_York")
    fired = occurrences(s.trigger("UTC"), datetime(2026, 11, 1, 4, tzinfo=UTC), datetime(2026, 11, 1, 8, tzinfo=UTC))
    assert [f.astimezone(ZoneInfo("America/New_York")).strftime("%H:%M") for f in fired] == [
        "01:00", "01:15", "01:30", "01:45"]


def test_campaign_dates_are_inclusive_local_dates():
    s = Schedule(id="x", channel="lounge", daily="18:00", text="hi", timezone="Asia/Tokyo",
                 start=date(2026, 12, 10), end=date(2026, 12, 12))
    fired = occurrences(s.trigger("UTC"), datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC))
    assert [f.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%m-%d %H:%M") for f in fired] == [
        "12-10 18:00", "12-11 18:00", "12-12 18:00"]


async def test_the_real_scheduler_keeps_one_wake_up_at_the_earliest_occurrence():
    from apscheduler.triggers.date import DateTrigger

    from bot.clock import FakeClock
    from bot.scheduler import KizunaScheduler

    clock = FakeClock(datetime(2026, 12, 1, tzinfo=UTC))
    sched = KizunaScheduler(clock, real=True)
    fired = []

    async def cb(when):
        fired.append(when)

    t1, t2 = datetime(2026, 12, 1, 9, tzinfo=UTC), datetime(2026, 12, 1, 8, tzinfo=UTC)
    sched.add_job("a", DateTrigger(run_date=t1, timezone=UTC), cb)
    sched.add_job("b", DateTrigger(run_date=t2, timezone=UTC), cb)
    assert [j.id for j in sched._aps.get_jobs()] == ["kizuna-wake"] and sched._armed_for == t2
    clock.set(t2)
    await sched._wake()  # what APScheduler calls at t2
    assert fired == [t2] and sched._armed_for == t1
    clock.set(t1 + timedelta(minutes=1))
    await sched._wake()
    assert fired == [t2, t1] and sched._armed_for is None


def test_asked_exactly_at_a_fire_time_the_trigger_answers_it_even_at_the_end_of_a_gap():
    s = Schedule(id="x", channel="lounge", daily="02:30", text="hi", timezone="America/New_York")
    trigger = s.trigger("UTC")
    gap_end = datetime(2026, 3, 8, 7, 0, tzinfo=UTC)  # 02:30 does not exist that day: 03:00 EDT
    assert trigger.get_next_fire_time(None, gap_end) == gap_end
    assert trigger.get_next_fire_time(None, gap_end + timedelta(seconds=1)) == datetime(2026, 3, 9, 6, 30, tzinfo=UTC)


def test_weekly_repeating_cron_rules_take_the_fast_path_and_answer_like_the_cron_trigger():
    rng = random.Random(7)
    minutes = ["0", "*/15", "5,35", "17", "*/7", "10-20/5", "*"]
    hours = ["9", "*/2", "8-18", "0,12,23", "*", "1-5/2"]
    days = ["*", "mon-fri", "0", "sat,sun", "1-5", "5-7", "*/2", "mon,wed-fri"]
    for _ in range(300):
        expr = f"{rng.choice(minutes)} {rng.choice(hours)} * * {rng.choice(days)}"
        fields = cron_fields(expr)
        start = date(2026, rng.randint(1, 12), rng.randint(1, 28)) if rng.random() < 0.3 else None
        end = start + timedelta(days=rng.randint(0, 60)) if start and rng.random() < 0.7 else None
        tz = ZoneInfo(rng.choice(ZONES))
        fast = WallClockTrigger(fields, tz, start, end)
        slow = WallClockTrigger(fields, tz, start, end)
        slow.simple = None  # force the CronTrigger path
        assert fast.simple is not None, expr
        now = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randint(0, 365 * 86400),
                                                           microseconds=rng.choice([0, 500]))
        expected = occurrences(slow, now, now + timedelta(days=3), limit=300)
        assert occurrences(fast, now, now + timedelta(days=3), limit=300) == expected, (expr, tz, start, end, now)
        for exact in expected[:2] + expected[-1:]:
            for probe in (exact, exact + timedelta(microseconds=500), exact - timedelta(seconds=1)):
                assert fast.get_next_fire_time(None, probe) == slow.get_next_fire_time(None, probe), (expr, probe)
    # day or month restricted: not weekly, the CronTrigger answers
    assert WallClockTrigger(cron_fields("0 9 1 * *"), ZoneInfo("UTC")).simple is None
    assert WallClockTrigger(cron_fields("0 9 * 12 *"), ZoneInfo("UTC")).simple is None
