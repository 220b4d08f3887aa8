"""Messages per member per day, for the stats: counted in memory, flushed to `activity_daily` in batches.

A commit per message would cap ingestion at a few thousand messages a second; here an event is one
dict increment. A flush is armed (a scheduler timer) when the first event lands in an empty buffer,
happens early when the buffer holds `max_buffered` pairs, and always on stop(). Readers that need
exact figures call `flush()` first.
"""
from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from bot.db import participation as repo

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

FLUSH_JOB = "participation:activity-flush"


class ActivityCounter:
    def __init__(self, app: "App") -> None:
        self.app = app
        self._buffer: dict[tuple[int, int, str], int] = defaultdict(int)
        self._channel_hours: dict[tuple[int, str, int], int] = defaultdict(int)  # (guild, local hour, channel)
        self._hour_window: tuple[datetime, datetime, str] | None = None  # [start, end) of the cached hour
        self._day_window: tuple[datetime, datetime, str] | None = None  # [start, end) of the cached day
        self._timer_armed = False
        self._early: asyncio.Task | None = None
        self._flush_lock = asyncio.Lock()
        self.counted_channel_keys = self._counted_keys()
        self._max_buffered = app.config.participation.activity.max_buffered

    def config_changed(self) -> None:
        self.counted_channel_keys = self._counted_keys()
        self._max_buffered = self.app.config.participation.activity.max_buffered

    def _counted_keys(self) -> frozenset[str]:
        community = self.app.config.community
        chosen = self.app.config.participation.activity.channels
        if chosen:
            return frozenset(chosen)
        return frozenset(k for k, spec in community.channels.items() if spec.kind in ("public", "exclusive"))

    def counts_channel(self, channel_key: str | None) -> bool:
        return channel_key is not None and channel_key in self.counted_channel_keys

    def _day(self, at: datetime) -> str:
        """The community-local day of `at`; the window is kept in UTC so the common case is two cheap
        comparisons of datetimes with the same tzinfo."""
        local = at.astimezone(self.app.config.timezone)
        start_local = local.replace(hour=0, minute=0, second=0, microsecond=0)
        end_local = start_local + timedelta(days=1)  # wall-clock arithmetic: the next local midnight
        self._day_window = (start_local.astimezone(timezone.utc), end_local.astimezone(timezone.utc),
                            start_local.date().isoformat())
        return self._day_window[2]

    def _hour(self, at: datetime) -> str:
        """The community-local hour of `at` ('YYYY-MM-DD HH'), its window cached in UTC like the day's."""
        local = at.astimezone(self.app.config.timezone)
        start = local.replace(minute=0, second=0, microsecond=0).astimezone(timezone.utc)
        self._hour_window = (start, start + timedelta(hours=1), local.strftime("%Y-%m-%d %H"))
        return self._hour_window[2]

    def record_message(self, guild_id: int, user_id: int, channel_id: int | None, at: datetime) -> None:
        """Count one message (no content). Synchronous and O(1): call it straight from on_message."""
        window = self._day_window
        day = window[2] if window is not None and window[0] <= at < window[1] else self._day(at)
        buffer = self._buffer
        if not buffer:
            self._arm()
        buffer[(guild_id, user_id, day)] += 1
        if channel_id is not None:
            hours = self._hour_window
            hour = hours[2] if hours is not None and hours[0] <= at < hours[1] else self._hour(at)
            self._channel_hours[(guild_id, hour, channel_id)] += 1
        if len(buffer) >= self._max_buffered:
            self._flush_early()

    def _flush_early(self) -> None:
        if self._early is None or self._early.done():
            self._early = asyncio.get_running_loop().create_task(self.flush(), name="kizuna-activity-flush")

    @property
    def pending(self) -> int:
        return sum(self._buffer.values())

    def _arm(self) -> None:
        if self._timer_armed:
            return
        self._timer_armed = True
        when = self.app.clock.now() + timedelta(seconds=self.app.config.participation.activity.flush_seconds)
        self.app.scheduler.add_timer(FLUSH_JOB, when, self._on_timer)

    async def _on_timer(self, fire_time: datetime) -> None:
        self._timer_armed = False
        await self.flush()

    async def flush(self) -> int:
        """Write the buffered counts in one transaction; returns how many messages were written."""
        async with self._flush_lock:
            if not self._buffer:
                return 0
            batch, self._buffer = self._buffer, defaultdict(int)
            hours, self._channel_hours = self._channel_hours, defaultdict(int)
            try:
                await repo.add_activity(self.app.db, [(g, u, d, n) for (g, u, d), n in batch.items()],
                                        [(g, h, c, n) for (g, h, c), n in hours.items()])
            except Exception:
                # keep the counts for the next flush rather than lose them
                for key, n in batch.items():
                    self._buffer[key] += n
                for hkey, n in hours.items():
                    self._channel_hours[hkey] += n
                log.exception("activity flush failed; %d pairs kept for the next try", len(batch))
                raise
            if self._buffer:
                self._arm()
            return sum(batch.values())

    async def stop(self) -> None:
        if self._early is not None:
            await asyncio.gather(self._early, return_exceptions=True)
        try:
            await self.flush()
        except Exception:
            log.exception("final activity flush failed")
