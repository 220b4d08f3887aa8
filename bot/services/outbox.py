"""The one outbox: everything sent outside an interaction reply (scheduled posts, DMs, mod-log lines).

Rows are queued in the database under a dedupe key, so a restart or a second job never sends the same
thing twice; a worker drains them through a `Sender` (discord.py in production, the offline harness in
tests), paced per target and retried on transient failures.

Pacing follows Discord's limits: at most `channel_burst` messages per `channel_window` seconds to one
target (~5 per 5 s per channel) and `global_per_second` requests overall (~50/s per bot token).
Messages to one target leave in queue order (sent one after another); different targets go in
parallel. Pacing waits on real time, so it is off by default with a `FakeClock` (tests, playground),
where there is no real Discord to protect.
"""
from __future__ import annotations

import asyncio
import logging
from collections import defaultdict, deque
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Awaitable, Callable, Protocol

from bot.clock import Clock, FakeClock
from bot.db import Database
from bot.db import outbox as repo

from .messages import OutMessage, Sent, Target

log = logging.getLogger(__name__)


class Undeliverable(Exception):
    """Permanent: closed DMs, a channel the bot cannot write to, a deleted channel."""


class RateLimited(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited for {retry_after:.2f}s")
        self.retry_after = retry_after


class Sender(Protocol):
    async def send(self, guild_id: int, target: Target, message: OutMessage) -> Sent: ...

    async def edit(self, guild_id: int, target: Target, message_id: int, message: OutMessage) -> Sent:
        """Replace a message the bot sent earlier (optional: without it replacements fail)."""


FailureHook = Callable[[dict, str], Awaitable[None]]
SentHook = Callable[[dict, Sent], Awaitable[None]]


@dataclass
class OutboxSettings:
    batch: int = 50
    concurrency: int = 8
    per_target_interval: float = 0.0  # extra minimum gap between two sends to one target (0 = none)
    max_attempts: int = 5
    backoff_seconds: float = 5.0
    pace: bool | None = None  # None: pace unless the clock is a FakeClock
    channel_burst: int = 5  # Discord: ~5 messages per 5 s per channel
    channel_window: float = 5.0
    global_per_second: int = 50  # Discord: ~50 requests/s per bot token
    global_scope: str = "bot"  # "bot" (one token for every guild) | "guild" (one bot per guild)
    max_inline_wait: float = 0.5  # a longer pacing wait puts the target's rows back for later instead


class SlidingWindow:
    """At most `limit` events in any `period` seconds. `reserve(now)` books the earliest free slot
    and returns how long to wait for it (0 when free now)."""

    def __init__(self, limit: int, period: float) -> None:
        self.limit = max(1, limit)
        self.period = period
        self._slots: deque[float] = deque()

    def reserve(self, now: float, *, book: bool = True) -> float:
        while self._slots and self._slots[0] <= now - self.period:
            self._slots.popleft()
        start = now
        if self._slots:
            start = max(start, self._slots[-1])
            if len(self._slots) >= self.limit:
                start = max(start, self._slots[-self.limit] + self.period)
        if book:
            self._slots.append(start)
        return start - now


class Outbox:
    def __init__(self, db: Database, clock: Clock, settings: OutboxSettings | None = None) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings or OutboxSettings()
        self.sender: Sender | None = None
        self._wake = asyncio.Event()
        self._failure_hooks: list[FailureHook] = []
        self._sent_hooks: list[SentHook] = []
        self._last_send: dict[str, float] = defaultdict(float)
        self._worker: asyncio.Task | None = None
        self._target_windows: dict[str, SlidingWindow] = {}
        self._sent_in_batch: dict[str, tuple[dict, Sent]] = {}  # dedupe key -> (row, result), not yet marked
        self._global_windows: dict[str, SlidingWindow] = {}
        pace = self.settings.pace
        self.pacing = (not isinstance(clock, FakeClock)) if pace is None else pace

    def on_failure(self, hook: FailureHook) -> None:
        """Called with (row, error) when a message is given up on (e.g. closed DMs)."""
        self._failure_hooks.append(hook)

    def on_sent(self, hook: SentHook) -> None:
        self._sent_hooks.append(hook)

    async def post(self, guild_id: int, target: Target, message: OutMessage, *, dedupe_key: str,
                   not_before: datetime | None = None) -> int | None:
        """Queue `message` once per dedupe_key. Returns the outbox id, or None if already queued."""
        now = self.clock.now()
        outbox_id = await repo.enqueue(
            self.db, dedupe_key=dedupe_key, guild_id=guild_id, target_kind=target.kind, target=target.value,
            payload=message.to_json(), not_before=not_before or now, now=now,
        )
        self._wake.set()
        return outbox_id

    async def post_in(self, tx, guild_id: int, target: Target, message: OutMessage, *, dedupe_key: str,
                      not_before: datetime | None = None) -> int | None:
        """`post` inside the caller's transaction (`async with db.transaction() as tx`), so the message
        is queued if and only if the caller's own writes commit (e.g. a schedule's ledger claim).
        Call `wake()` after the transaction."""
        now = self.clock.now()
        return await repo.enqueue_in(
            tx, dedupe_key=dedupe_key, guild_id=guild_id, target_kind=target.kind, target=target.value,
            payload=message.to_json(), not_before=not_before or now, now=now,
        )

    def wake(self) -> None:
        """Tell the background worker that something was queued."""
        self._wake.set()

    async def recover(self) -> list[dict]:
        """At start-up: handle rows a crash left half-sent. Returns channel posts of unknown fate."""
        return await repo.recover_interrupted(self.db)

    async def drain(self) -> int:
        """Send everything due now; returns how many were handled. Tests and the harness call this."""
        total = 0
        while True:
            rows = await repo.claim_due(self.db, self.clock.now(), self.settings.batch)
            if not rows:
                return total
            total += len(rows)
            sem = asyncio.Semaphore(self.settings.concurrency)
            by_target: dict[str, list[dict]] = defaultdict(list)
            for row in rows:  # one target's messages leave in queue order
                by_target[_target_key(row)].append(row)

            sent: list[tuple[dict, Sent]] = []

            async def one_target(target_rows: list[dict]) -> None:
                for i, row in enumerate(target_rows):
                    later = self._pace_later(row)
                    if later is not None:  # don't hold up other targets: this one's rows wait in the DB
                        await repo.defer(self.db, [r["id"] for r in target_rows[i:]],
                                         self.clock.now() + timedelta(seconds=later))
                        asyncio.get_running_loop().call_later(later, self._wake.set)
                        return
                    await self._pace(row)
                    async with sem:
                        result = await self._send_one(row)
                    if result is not None:
                        sent.append((row, result))
                        self._sent_in_batch[row["dedupe_key"]] = (row, result)

            try:
                await asyncio.gather(*(one_target(rs) for rs in by_target.values()))
            finally:
                # one write for the whole batch (a crash before it leaves rows 'sending': see recover)
                await repo.mark_sent_many(self.db, [(r["id"], m.message_id) for r, m in sent], self.clock.now())
                self._sent_in_batch.clear()
            for row, result in sent:
                for hook in self._sent_hooks:
                    await _safely(hook(row, result))

    def channel_delay(self, row: dict, now: float, *, book: bool = True) -> float:
        """Seconds before `row`'s target may take another message (monotonic time `now`)."""
        s = self.settings
        key = _target_key(row)
        wait = 0.0
        if s.per_target_interval:
            wait = max(0.0, self._last_send[key] + s.per_target_interval - now)
            if book:
                self._last_send[key] = now + wait
        if self.pacing:
            window = self._target_windows.get(key)
            if window is None:
                window = self._target_windows[key] = SlidingWindow(s.channel_burst, s.channel_window)
            wait = max(wait, window.reserve(now + wait, book=book) + wait)
        return wait

    def global_delay(self, row: dict, now: float, *, book: bool = True) -> float:
        """Seconds before the bot may make another request. Booked at the moment of sending, so a
        channel that waits never holds a global slot in the future."""
        if not self.pacing:
            return 0.0
        s = self.settings
        scope = str(row["guild_id"]) if s.global_scope == "guild" else "*"
        window = self._global_windows.get(scope)
        if window is None:
            window = self._global_windows[scope] = SlidingWindow(s.global_per_second, 1.0)
        return window.reserve(now, book=book)

    def _pace_later(self, row: dict) -> float | None:
        """The wait when it is too long to sleep through inside a drain, else None."""
        if not (self.pacing or self.settings.per_target_interval):
            return None
        now = asyncio.get_running_loop().time()
        wait = self.channel_delay(row, now, book=False)
        wait += self.global_delay(row, now + wait, book=False)
        return wait if wait > self.settings.max_inline_wait else None

    async def _pace(self, row: dict) -> None:
        if not (self.pacing or self.settings.per_target_interval):
            return
        loop = asyncio.get_running_loop()
        wait = self.channel_delay(row, loop.time())
        if wait > 0:
            await asyncio.sleep(wait)
        wait = self.global_delay(row, loop.time())
        if wait > 0:
            await asyncio.sleep(wait)

    async def _send_one(self, row: dict) -> Sent | None:
        """Send one claimed row; the Sent result when it went out (the caller marks it sent)."""
        if self.sender is None:
            await repo.retry_later(self.db, row["id"], "no sender attached yet", self.clock.now())
            return None
        target = Target(row["target_kind"], row["target"])
        message = OutMessage.from_json(row["payload"])
        try:
            if message.replaces:
                sent = await self._replace(row, message)
                if sent is None:
                    return None
            else:
                sent = await self.sender.send(row["guild_id"], target, message)
        except Undeliverable as exc:
            await repo.mark_failed(self.db, row["id"], str(exc))
            await self._failed(row, message, str(exc))
            return
        except RateLimited as exc:
            await repo.retry_later(self.db, row["id"], str(exc),
                                   self.clock.now() + timedelta(seconds=exc.retry_after))
            return
        except Exception as exc:  # transient: network, 5xx
            log.warning("outbox %s failed (attempt %s): %s", row["id"], row["attempts"] + 1, exc)
            if row["attempts"] + 1 >= self.settings.max_attempts:
                await repo.mark_failed(self.db, row["id"], f"gave up: {exc}")
                await self._failed(row, message, str(exc))
            else:
                delay = self.settings.backoff_seconds * 2 ** row["attempts"]
                await repo.retry_later(self.db, row["id"], str(exc), self.clock.now() + timedelta(seconds=delay))
            return
        return sent

    async def _failed(self, row: dict, message: OutMessage, error: str) -> None:
        """Tell the failure hooks (mod-log notes, the drops' closed-DM list). Not for a replacement:
        the message it edits went out, and a moderator may simply have deleted it."""
        if message.replaces:
            log.info("outbox %s: could not edit %s: %s", row["id"], message.replaces, error)
            return
        for hook in self._failure_hooks:
            await _safely(hook(row, error))

    async def _replace(self, row: dict, message: OutMessage) -> Sent | None:
        """Edit the message queued under `message.replaces` (posted the same way it was: as the
        persona or as the bot). It waits while that one is still queued, and is dropped (marked
        failed, logged) if that one never went out: there is nothing to edit."""
        just_sent = self._sent_in_batch.get(message.replaces)  # earlier in this batch (same target: in order)
        original = (dict(just_sent[0], status="sent", message_id=just_sent[1].message_id) if just_sent
                    else await repo.by_key(self.db, message.replaces))
        if original is not None and original["status"] in ("pending", "sending"):
            # due together with it (queue order then puts the original first), or a bit later if it is
            # due already (being sent, or held up by pacing)
            now = self.clock.now()
            later = original["not_before"] if original["not_before"] > now else (
                now + timedelta(seconds=self.settings.backoff_seconds))
            await repo.retry_later(self.db, row["id"], "waiting for the message it replaces", later)
            return None
        edit = getattr(self.sender, "edit", None)
        if original is None or original["status"] != "sent" or not original["message_id"] or edit is None:
            why = ("no such message" if original is None else
                   f"it was not sent ({original['status']})" if original["status"] != "sent" else
                   "the sender cannot edit messages")
            log.info("outbox %s: nothing to edit for %s: %s", row["id"], message.replaces, why)
            await repo.mark_failed(self.db, row["id"], f"nothing to edit: {why}")
            return None
        persona = OutMessage.from_json(original["payload"]).as_persona
        return await edit(row["guild_id"], Target(original["target_kind"], original["target"]),
                          original["message_id"], replace(message, as_persona=persona))

    def start(self, poll_seconds: float = 1.0) -> None:
        """Run the worker in the background (production); tests call `drain()` instead."""
        async def worker() -> None:
            while True:
                try:
                    await self.drain()
                except Exception:
                    log.exception("outbox worker error")
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=poll_seconds)
                except asyncio.TimeoutError:
                    pass

        self._worker = asyncio.create_task(worker(), name="kizuna-outbox")

    async def stop(self) -> None:
        if self._worker:
            # Python 3.11's wait_for swallows a cancel that lands just as the wake event ends its wait
            # (the worker then polls on and close() hung): cancel again until the worker is gone.
            while not self._worker.done():
                self._worker.cancel()
                await asyncio.wait({self._worker}, timeout=0.5)
            if not self._worker.cancelled():
                self._worker.exception()  # retrieved (the worker logs its own errors)
            self._worker = None


def _target_key(row: dict) -> str:
    return f"{row['guild_id']}:{row['target_kind']}:{row['target']}"


async def _safely(awaitable: Awaitable[None]) -> None:
    try:
        await awaitable
    except Exception:
        log.exception("outbox hook failed")
