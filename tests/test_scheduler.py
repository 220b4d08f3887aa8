"""The scheduler engine walks fake time and hands each occurrence to its job once, in order."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from apscheduler.triggers.cron import CronTrigger

from bot.clock import FakeClock
from bot.scheduler import KizunaScheduler

T0 = datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc)


async def test_advance_fires_each_occurrence_once_with_the_clock_at_it():
    clock = FakeClock(T0)
    sched = KizunaScheduler(clock, real=False)
    seen = []

    async def job(fire):
        seen.append((fire, clock.now()))

    sched.add_job("daily", CronTrigger(hour=9, minute=0, timezone="Asia/Tokyo"), job)
    await sched.advance_to(T0 + timedelta(days=3))
    # 09:00 JST = 00:00 UTC; Dec 1 00:00 UTC is "now" when the job is added, so it is not delivered
    assert [f for f, _ in seen] == [datetime(2026, 12, d, 0, 0, tzinfo=timezone.utc) for d in (2, 3, 4)]
    assert all(f == now for f, now in seen)
    assert clock.now() == T0 + timedelta(days=3)


async def test_timers_and_jobs_interleave_in_time_order():
    clock = FakeClock(T0)
    sched = KizunaScheduler(clock, real=False)
    order = []

    async def record(name):
        async def cb(fire):
            order.append((name, fire))
        return cb

    sched.add_timer("t2", T0 + timedelta(hours=2), await record("t2"))
    sched.add_timer("t1", T0 + timedelta(hours=1), await record("t1"))
    sched.add_job("hourly", CronTrigger(minute=30, timezone="UTC"), await record("h"))
    await sched.advance_to(T0 + timedelta(hours=2, minutes=1))
    assert [n for n, _ in order] == ["h", "t1", "h", "t2"]
    assert "t1" not in sched.jobs  # one-off timers go away once fired


async def test_a_timer_in_the_past_fires_on_the_next_run():
    clock = FakeClock(T0)
    sched = KizunaScheduler(clock, real=False)
    fired = []

    async def cb(fire):
        fired.append(fire)

    sched.add_timer("late", T0 - timedelta(minutes=5), cb)
    assert await sched.run_due() == 1
    assert fired == [T0 - timedelta(minutes=5)]
