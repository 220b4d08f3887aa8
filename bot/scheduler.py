"""Scheduler wiring: APScheduler triggers decide *when*; the database decides *whether*.

Every job is an APScheduler trigger plus an async callback that receives the occurrence time. In
production an `AsyncIOScheduler` wakes the job; the callback then runs every occurrence that is due
since the job last looked (`run_due`), so the same engine serves the real clock and the fake one.
With a `FakeClock`, `advance_to` walks time forward occurrence by occurrence (tests, playground).
Callbacks must be idempotent per occurrence (claim a ledger row first): this layer never promises
exactly-once, the database does.

In production APScheduler holds one wake-up job at the earliest `next_fire` of all jobs (not one
APScheduler job per Kizuna job: with 10,000 schedules its per-job bookkeeping dominated start-up).
"""
from __future__ import annotations

import heapq
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Awaitable, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_STOPPED
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.date import DateTrigger

from bot.clock import Clock, FakeClock

log = logging.getLogger(__name__)

Callback = Callable[[datetime], Awaitable[None]]
_TINY = timedelta(microseconds=1)


@dataclass
class Job:
    id: str
    trigger: BaseTrigger
    callback: Callback
    checked_until: datetime  # every occurrence <= this has been handed to the callback
    last_fire: datetime | None = None
    next_fire: datetime | None = None

    def compute_next(self) -> datetime | None:
        self.next_fire = self.trigger.get_next_fire_time(self.last_fire, self.checked_until + _TINY)
        while self.next_fire is not None and self.next_fire <= self.checked_until:
            # a DateTrigger answers its run date whatever "now" is; a past one is simply done
            self.last_fire = self.next_fire
            self.next_fire = self.trigger.get_next_fire_time(self.last_fire, self.checked_until + _TINY)
        return self.next_fire


class KizunaScheduler:
    def __init__(self, clock: Clock, *, real: bool = True) -> None:
        self.clock = clock
        self.jobs: dict[str, Job] = {}
        self._aps = AsyncIOScheduler(timezone=timezone.utc) if real else None
        self.running = False
        self._armed_for: datetime | None = None  # run date of the APScheduler wake-up job
        self._changed = False  # a job was added since run_due last looked

    def add_job(self, job_id: str, trigger: BaseTrigger, callback: Callback, *,
                since: datetime | None = None) -> Job:
        """(Re)place a job. Occurrences after `since` (default: now) are delivered."""
        job = Job(job_id, trigger, callback, checked_until=since or self.clock.now())
        job.compute_next()
        self.jobs[job_id] = job
        self._changed = True
        if self._aps is not None and job.next_fire is not None and (
                self._armed_for is None or job.next_fire < self._armed_for):
            self._arm(job.next_fire)
        return job

    def add_timer(self, job_id: str, when: datetime, callback: Callback) -> Job:
        """A one-off at `when` (a quiz question closing, an application expiring)."""
        return self.add_job(job_id, DateTrigger(run_date=when, timezone=timezone.utc), callback,
                            since=min(self.clock.now(), when - _TINY))

    def remove_job(self, job_id: str) -> None:
        self.jobs.pop(job_id, None)  # an early wake-up left armed for it is harmless

    def remove_prefix(self, prefix: str) -> None:
        for job_id in [j for j in self.jobs if j.startswith(prefix)]:
            self.remove_job(job_id)

    def _arm(self, when: datetime) -> None:
        assert self._aps is not None
        self._armed_for = when
        if self._aps.state == STATE_STOPPED and self._aps.get_job("kizuna-wake") is not None:  # not started: drop the pending one
            self._aps.remove_job("kizuna-wake")
        self._aps.add_job(self._wake, DateTrigger(run_date=when, timezone=timezone.utc), id="kizuna-wake",
                          replace_existing=True, misfire_grace_time=None, coalesce=True, max_instances=1)

    async def _wake(self) -> None:
        armed, self._armed_for = self._armed_for, None
        ran = 0
        try:
            ran = await self.run_due()
        finally:
            nxt = min((j.next_fire for j in self.jobs.values() if j.next_fire is not None), default=None)
            stalled = ran == 0 and armed is not None and nxt is not None and nxt <= armed  # a clock behind APScheduler's
            if nxt is not None and not stalled and (self._armed_for is None or nxt < self._armed_for):
                self._arm(nxt)

    async def run_due(self, now: datetime | None = None, *, only: str | None = None) -> int:
        """Run every occurrence due by `now`, oldest first (ties by job id). Returns how many ran."""
        now = now or self.clock.now()
        ran = 0
        if only is not None:
            while True:
                job = self._earliest(only)
                if job is None or job.next_fire is None or job.next_fire > now:
                    return ran
                await self._fire(job)
                ran += 1
        # a heap of the due jobs, not a scan of every job per occurrence: 1,000 posts due in the same
        # minute among 10,000 jobs. A callback that adds or replaces jobs triggers a rescan.
        while True:
            heap = sorted((j.next_fire, j.id) for j in self.jobs.values() if j.next_fire is not None and j.next_fire <= now)
            if not heap:
                return ran
            self._changed = False
            while heap:
                fire, job_id = heapq.heappop(heap)
                job = self.jobs.get(job_id)
                if job is None or job.next_fire != fire:
                    continue
                await self._fire(job)
                ran += 1
                if self._changed:
                    break
                if job.next_fire is not None and job.next_fire <= now and self.jobs.get(job_id) is job:
                    heapq.heappush(heap, (job.next_fire, job_id))

    async def advance_to(self, target: datetime) -> int:
        """Fake clock only: move time to `target`, stopping at each occurrence to run it."""
        if not isinstance(self.clock, FakeClock):
            raise RuntimeError("advance_to needs a FakeClock")
        ran = 0
        while True:
            job = self._earliest(None)
            if job is None or job.next_fire is None or job.next_fire > target:
                break
            if job.next_fire > self.clock.now():
                self.clock.set(job.next_fire)
            await self._fire(job)
            ran += 1
        if target > self.clock.now():
            self.clock.set(target)
        return ran

    def _earliest(self, only: str | None) -> Job | None:
        candidates = [self.jobs[only]] if only and only in self.jobs else (
            [] if only else list(self.jobs.values()))
        candidates = [j for j in candidates if j.next_fire is not None]
        return min(candidates, key=lambda j: (j.next_fire, j.id), default=None)

    async def _fire(self, job: Job) -> None:
        fire = job.next_fire
        assert fire is not None
        job.last_fire = fire
        job.checked_until = fire
        job.compute_next()
        if job.next_fire is None and self.jobs.get(job.id) is job:
            self.jobs.pop(job.id, None)
        try:
            await job.callback(fire)
        except Exception:
            log.exception("scheduled job %s failed at %s", job.id, fire.isoformat())

    def start(self) -> None:
        if self._aps is not None and not self.running:
            self._aps.start()
        self.running = True

    def shutdown(self) -> None:
        if self._aps is not None and self.running:
            self._aps.shutdown(wait=False)
        self.running = False
