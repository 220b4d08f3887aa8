"""The one outbox: everything sent outside an interaction reply (scheduled posts, DMs, mod-log lines).

Rows are queued in the database under a dedupe key, so a restart or a second job never queues the same
thing twice; a worker drains them through a `Sender` (discord.py in production, the offline harness in
tests), paced per target and retried on temporary failures.

Exactly once across a crash: a row is claimed ('sending') only just before it goes out and marked sent
as soon as it has, so a crash leaves only the rows in flight. Each send carries a nonce derived from its
row (Discord's `enforce_nonce`: a resend within a few minutes returns the first message instead of
posting again). A row that was tried before is resent under the same nonce while that is trusted
(`NONCE_TRUST` after its first attempt); persona (webhook) posts, which cannot carry a nonce, and older
attempts are first looked for in the target channel or DM (`Sender.find`). Only when the bot cannot
look is the row marked 'unknown' and reported.

A replica that lost the lead sends nothing (PostgreSQL): with a `fence` (bot/db/leader.py `Fence`, set
by `App.open` for a leader) every claim checks the community's leader term in the claim statement, and
every request to Discord is preceded by `Fence.confirm()`; a deposed leader raises LeadershipLost
(`Fenced`) from there and its worker stops. Without a fence (SQLite, tests) nothing changes.

Failures: 4xx other than 429 are permanent (no retry; the cause is kept for the mod-log notice);
429 waits `retry_after` (the whole outbox for a global limit); 5xx, timeouts and network errors are
retried with backoff.

Pacing follows Discord's limits: at most `channel_burst` messages per `channel_window` seconds to one
target (~5 per 5 s per channel) and `global_per_second` requests overall (~50/s per bot token).
Messages to one target leave in queue order (sent one after another); different targets go in
parallel. Pacing waits on real time, so it is off by default with a `FakeClock` (tests, playground),
where there is no real Discord to protect.
"""
from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
from collections import defaultdict, deque
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Awaitable, Callable, Protocol

from bot.clock import Clock, FakeClock
from bot.db import Database
from bot.db import outbox as repo
from bot.db.connection import from_db_time
from bot.db.leader import Fence, Fenced, LeadershipLost

from .messages import OutMessage, Sent, Target

log = logging.getLogger(__name__)

# How long after a first attempt a resend is trusted to Discord's nonce check. Discord documents "the
# past few minutes"; after this the bot looks in the channel for the message instead.
NONCE_TRUST = timedelta(minutes=2)
NONCE_LENGTH = 24  # Discord allows 25 characters
# How often (seconds) a PostgreSQL leader takes back rows a deposed leader left 'sending' (recover_orphans)
ORPHANS_EVERY = 30.0

# why a message could not be delivered (Undeliverable.cause); each has a core.outbox_cause_* text
CAUSES = ("too_large", "invalid_form", "missing_permission", "unknown_channel", "unknown_user", "dms_closed",
          "refused", "gave_up")


class Undeliverable(Exception):
    """Permanent (Discord answered 4xx other than 429): closed DMs, a missing permission, a deleted
    channel, a message Discord refuses (too large, invalid). Never retried."""

    def __init__(self, message: str, *, cause: str = "refused", field: str | None = None) -> None:
        super().__init__(message)
        self.cause = cause if cause in CAUSES else "refused"
        self.field = field


class RateLimited(Exception):
    """429: wait `retry_after` seconds; `scope` "global" holds every send, "route" only this target."""

    def __init__(self, retry_after: float, *, scope: str = "route") -> None:
        super().__init__(f"rate limited ({scope}) for {retry_after:.2f}s")
        self.retry_after = retry_after
        self.scope = scope


class Sender(Protocol):
    async def send(self, guild_id: int, target: Target, message: OutMessage, *, nonce: str | None = None) -> Sent:
        """Post `message`. A sender that takes `nonce` passes it to Discord with enforce_nonce."""

    async def edit(self, guild_id: int, target: Target, message_id: int, message: OutMessage) -> Sent:
        """Replace a message the bot sent earlier (optional: without it replacements fail)."""

    async def find(self, guild_id: int, target: Target, message: OutMessage, *, since: datetime,
                   exclude: set[int]) -> Sent | None:
        """The bot's (or its persona's) message equal to `message` posted in `target` since `since`,
        not one of `exclude`; None if there is none. Optional: without it an interrupted send whose
        nonce is no longer trusted is reported as unknown."""


FailureHook = Callable[[dict, str], Awaitable[None]]
SentHook = Callable[[dict, Sent], Awaitable[None]]
UnknownHook = Callable[[dict], Awaitable[None]]


def nonce_for(row: dict) -> str:
    """The nonce of an outbox row: the same on every attempt, different for every row of every database."""
    seed = f"{row['id']}|{row['dedupe_key']}|{row.get('created_at')}"
    return hashlib.blake2b(seed.encode(), digest_size=NONCE_LENGTH // 2).hexdigest()


class _CannotTell(Exception):
    """An interrupted send whose fate cannot be checked."""


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
        self._sender: Sender | None = None
        self._sender_takes_nonce = False
        self._wake = asyncio.Event()
        self._failure_hooks: list[FailureHook] = []
        self._sent_hooks: list[SentHook] = []
        self._unknown_hooks: list[UnknownHook] = []
        self._last_send: dict[str, float] = defaultdict(float)
        self._worker: asyncio.Task | None = None
        self._target_windows: dict[str, SlidingWindow] = {}
        self._global_windows: dict[str, SlidingWindow] = {}
        self._held_until: datetime | None = None  # a global rate limit: nothing is sent before then
        # targets Discord rate-limited (429 on the route): their rows wait until then without being
        # claimed, sent and refused again (one token for many communities re-claimed them every drain)
        self._limited_until: dict[str, datetime] = {}
        self._journal_ops: list[tuple[tuple, asyncio.Future]] = []
        self._journal_task: asyncio.Task | None = None
        self._unrecorded: list[asyncio.Future] = []  # sent marks queued in this drain
        self.fence: Fence | None = None  # a PostgreSQL leader's proof that it still leads (App.open)
        self._orphans_checked: float | None = None  # when (the fence's monotonic clock) it last looked
        pace = self.settings.pace
        self.pacing = (not isinstance(clock, FakeClock)) if pace is None else pace

    @property
    def sender(self) -> Sender | None:
        return self._sender

    @sender.setter
    def sender(self, sender: Sender | None) -> None:
        self._sender = sender
        try:
            params = inspect.signature(sender.send).parameters if sender is not None else {}
        except (TypeError, ValueError):
            params = {}
        self._sender_takes_nonce = "nonce" in params

    def on_failure(self, hook: FailureHook) -> None:
        """Called with (row, error) when a message is given up on (e.g. closed DMs). The row carries
        `failure` (one of CAUSES) and `field` (the refused field, for invalid form bodies)."""
        self._failure_hooks.append(hook)

    def on_sent(self, hook: SentHook) -> None:
        self._sent_hooks.append(hook)

    def on_unknown(self, hook: UnknownHook) -> None:
        """Called with the row when an interrupted send could not be checked (marked 'unknown')."""
        self._unknown_hooks.append(hook)

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
        """At start-up: rows a crash left 'sending' go back to the queue; before any of them is sent
        again the outbox makes sure it did not go out (see `_deliver`). Returns them."""
        rows = await repo.recover_interrupted(self.db)
        if rows:
            log.info("outbox: %d message(s) were in flight at the last stop; checking them before resending",
                     len(rows))
        return rows

    async def _take_back_orphans(self) -> None:
        """Every ORPHANS_EVERY seconds, a leader takes back the rows a deposed leader left 'sending' (see
        bot/db/outbox.py recover_orphans): one statement, only with a fence (PostgreSQL replicas)."""
        fence = self.fence
        if fence.lost is not None:
            raise fence.lost
        now = fence.monotonic()
        term = fence.leadership.term
        if term is None or (self._orphans_checked is not None and now - self._orphans_checked < ORPHANS_EVERY):
            return
        self._orphans_checked = now
        rows = await repo.recover_orphans(self.db, term)
        if rows:
            log.warning("outbox: %d message(s) a deposed leader had claimed are back in the queue: %s",
                        len(rows), ", ".join(r["dedupe_key"] for r in rows))

    async def drain(self) -> int:
        """Send everything due now; returns how many were handled. Tests and the harness call this."""
        total = 0
        if self.fence is not None and self.sender is not None:
            await self._take_back_orphans()
        while self.sender is not None:
            if self.fence is not None and self.fence.lost is not None:
                raise self.fence.lost  # deposed: not even a look at the queue
            if self._held_until is not None and self.clock.now() < self._held_until:
                return total  # a global rate limit
            rows = await repo.due(self.db, self.clock.now(), self.settings.batch)
            if not rows:
                return total
            total += len(rows)
            sem = asyncio.Semaphore(self.settings.concurrency)
            by_target: dict[str, list[dict]] = defaultdict(list)
            for row in rows:  # one target's messages leave in queue order
                by_target[_target_key(row)].append(row)

            async def one_target(target_rows: list[dict]) -> None:
                limited = self._route_limited(target_rows[0])
                if limited is not None:  # held as a whole, in one statement; nothing is claimed
                    await repo.defer(self.db, [r["id"] for r in target_rows], limited)
                    return
                for i, row in enumerate(target_rows):
                    later = self._pace_later(row)
                    if later is not None:  # don't hold up other targets: this one's rows wait in the DB
                        await repo.defer(self.db, [r["id"] for r in target_rows[i:]],
                                         self.clock.now() + timedelta(seconds=later))
                        asyncio.get_running_loop().call_later(later, self._wake.set)
                        return
                    if self._held_until is not None and self.clock.now() < self._held_until:
                        return
                    await self._pace(row)
                    async with sem:
                        claimed = await self._commit(("claim", row["id"]))
                        if claimed is None:
                            continue
                        outcome = await self._send_one(claimed, wait=False)
                    if isinstance(outcome, RateLimited):  # the rest of this target waits too
                        await repo.defer(self.db, [r["id"] for r in target_rows[i + 1:]],
                                         self.clock.now() + timedelta(seconds=outcome.retry_after))
                        return

            try:
                await asyncio.gather(*(one_target(rs) for rs in by_target.values()))
            finally:  # this drain's sent marks are settled here even when a send raised: none is left
                marks, self._unrecorded = self._unrecorded, []  # for the next drain to raise again
                settled = await asyncio.gather(*marks, return_exceptions=True)
            failed = [result for result in settled if isinstance(result, BaseException)]
            if failed:
                raise failed[0]
        return total

    def _queue(self, op: tuple) -> asyncio.Future:
        """A claim or a sent mark for the journal, committed in queue order. The ones the parallel
        senders ask for at the same moment share one transaction (a group commit), and a target's
        sent mark goes with its next claim: 1,000 posts do not take 2,000 transactions
        (bench/bench_schedules.py measures it)."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._journal_ops.append((op, future))
        task = self._journal_task
        if task is None or task.done() or task.get_loop() is not loop:
            self._journal_task = asyncio.create_task(self._flush_journal())
        return future

    async def _commit(self, op: tuple):
        """`_queue` and wait until it is committed."""
        return await self._queue(op)

    async def _flush_journal(self) -> None:
        await asyncio.sleep(0)  # the other senders queue theirs
        while self._journal_ops:
            batch, self._journal_ops = self._journal_ops, []
            term = started = None
            if self.fence is not None and any(op[0] == "claim" for op, _ in batch):
                try:  # a leader claims under its term, checked in the claim statement itself
                    term, started = await self.fence.claim_term()
                except LeadershipLost as exc:  # deposed: no claim; what went out is still recorded
                    batch = _refuse_claims(batch, exc)
                    if not batch:
                        continue
            try:
                results = await repo.journal(self.db, [op for op, _ in batch], self.clock.now(), term=term)
            except Fenced as exc:  # another leader's term: nothing claimed, the sent marks committed
                refused = self.fence.deposed(exc.term, exc.seen)
                for _, future in _refuse_claims(batch, refused):
                    if not future.done():
                        future.set_result(None)
                continue
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            if started is not None:
                self.fence.proven(started)
            for (_, future), result in zip(batch, results):
                if not future.done():
                    future.set_result(result)

    def _route_limited(self, row: dict) -> datetime | None:
        """Until when Discord said this row's target is rate-limited, if that is still ahead."""
        until = self._limited_until.get(_target_key(row))
        if until is None:
            return None
        if self.clock.now() >= until:
            del self._limited_until[_target_key(row)]
            return None
        return until

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

    async def _send_one(self, row: dict, *, wait: bool = True) -> Sent | RateLimited | None:
        """Send one claimed row and record the outcome: sent (the Sent result is returned), failed,
        unknown, or back in the queue for later (a RateLimited is returned for a rate limit).
        Without `wait` the sent mark is queued (committed with the next claim; `drain` waits for it
        before returning) instead of waited for."""
        if self.sender is None:
            await repo.retry_later(self.db, row["id"], "no sender attached yet", self.clock.now(), count_attempt=False)
            return None
        message = OutMessage.from_json(row["payload"])
        try:
            sent = await (self._replace(row, message) if message.replaces else self._deliver(row, message))
        except LeadershipLost:  # deposed (a fence): the row is the new leader's now; touch nothing
            raise
        except Undeliverable as exc:
            await repo.mark_failed(self.db, row["id"], str(exc), exc.cause)
            await self._failed(row | {"failure": exc.cause, "field": exc.field}, message, str(exc))
            return None
        except RateLimited as exc:
            later = self.clock.now() + timedelta(seconds=exc.retry_after)
            await repo.retry_later(self.db, row["id"], str(exc), later, count_attempt=False)
            if exc.scope == "global":
                self._held_until = max(self._held_until or later, later)
            else:
                key = _target_key(row)
                self._limited_until[key] = max(self._limited_until.get(key, later), later)
            self._wake_after(exc.retry_after)
            return exc
        except _CannotTell as exc:
            log.warning("outbox %s (%s): %s", row["id"], row["dedupe_key"], exc)
            await repo.mark_unknown(self.db, row["id"], f"interrupted while sending; {exc}")
            for hook in self._unknown_hooks:
                await _safely(hook(row))
            return None
        except Exception as exc:  # temporary: network, timeouts, 5xx
            attempts = row["attempts"]  # this one included
            log.warning("outbox %s failed (attempt %s): %r", row["id"], attempts, exc)
            if attempts >= self.settings.max_attempts:
                error = f"gave up after {attempts} attempts: {exc}"
                await repo.mark_failed(self.db, row["id"], error, "gave_up")
                await self._failed(row | {"failure": "gave_up", "field": None}, message, error)
            else:
                delay = self.settings.backoff_seconds * 2 ** (attempts - 1)
                await repo.retry_later(self.db, row["id"], str(exc) or repr(exc),
                                       self.clock.now() + timedelta(seconds=delay))
                self._wake_after(delay)
            return None
        if sent is None:  # a replacement that waits, or has nothing to edit (already recorded)
            return None
        marked = self._queue(("sent", row["id"], sent.message_id))
        if wait:
            await marked
        else:
            self._unrecorded.append(marked)
        for hook in self._sent_hooks:
            await _safely(hook(row, sent))
        return sent

    async def _deliver(self, row: dict, message: OutMessage) -> Sent:
        """Post a new message exactly once. A row tried before may already have gone out: within
        NONCE_TRUST of its first attempt the same nonce makes Discord return that message; otherwise
        (and for persona posts, which cannot carry a nonce) look for it in the target first."""
        target = Target(row["target_kind"], row["target"])
        if row["attempts"] > 1:
            first = from_db_time(row.get("claimed_at")) or from_db_time(row.get("created_at")) or self.clock.now()
            # forum posts (they carry tags) take no nonce either: look for them like persona posts
            trusted = (self._sender_takes_nonce and not message.as_persona and not message.tags
                       and self.clock.now() - first < NONCE_TRUST)
            if not trusted:
                found = await self._look_for(row, target, message, first)
                if found is not None:
                    log.info("outbox %s (%s) had gone out before the interruption: recorded, not resent",
                             row["id"], row["dedupe_key"])
                    return found
        if self._sender_takes_nonce:
            nonce = nonce_for(row)
            await self.confirm_leading()  # nothing but the sender's own work from here to Discord
            return await self.sender.send(row["guild_id"], target, message, nonce=nonce)
        await self.confirm_leading()
        return await self.sender.send(row["guild_id"], target, message)

    async def confirm_leading(self) -> None:
        """Right before a request to Discord that must not be made twice: return only if this process
        still leads its community (PostgreSQL replicas, bot/db/leader.py Fence; LeadershipLost
        otherwise). Without a fence (SQLite, tests) it returns at once."""
        if self.fence is not None:
            await self.fence.confirm()

    async def _look_for(self, row: dict, target: Target, message: OutMessage, since: datetime) -> Sent | None:
        find = getattr(self.sender, "find", None)
        if find is None:
            raise _CannotTell("the sender cannot look for sent messages")
        exclude = await repo.sent_message_ids(self.db, row["guild_id"], row["target_kind"], row["target"],
                                              since - timedelta(minutes=1))
        try:
            return await find(row["guild_id"], target, message, since=since, exclude=exclude)
        except Undeliverable as exc:
            if exc.cause == "missing_permission":  # cannot read the channel: cannot tell
                raise _CannotTell(f"cannot read {target.kind} {target.value} to check: {exc}") from exc
            raise

    def _wake_after(self, seconds: float) -> None:
        try:
            asyncio.get_running_loop().call_later(max(0.0, seconds), self._wake.set)
        except RuntimeError:
            pass

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
        failed, logged) if that one never went out: there is nothing to edit. Editing is idempotent,
        so an interrupted edit is simply made again."""
        original = await repo.by_key(self.db, message.replaces)
        if original is not None and original["status"] in ("pending", "sending"):
            # due together with it (queue order then puts the original first), or a bit later if it is
            # due already (being sent, or held up by pacing)
            now = self.clock.now()
            later = original["not_before"] if original["not_before"] > now else (
                now + timedelta(seconds=self.settings.backoff_seconds))
            await repo.retry_later(self.db, row["id"], "waiting for the message it replaces", later,
                                   count_attempt=False)
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
        target, edited = Target(original["target_kind"], original["target"]), replace(message, as_persona=persona)
        await self.confirm_leading()
        return await edit(row["guild_id"], target, original["message_id"], edited)

    def start(self, poll_seconds: float = 1.0) -> None:
        """Run the worker in the background (production); tests call `drain()` instead."""
        async def worker() -> None:
            while True:
                try:
                    await self.drain()
                except LeadershipLost:  # deposed: this process stops sending for good
                    raise
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
        journal = self._journal_task
        if journal is not None and not journal.done() and journal.get_loop() is asyncio.get_running_loop():
            await asyncio.wait({journal}, timeout=5)  # what was sent is recorded before the database closes


def failure_notice(t: Callable[..., str], row: dict, error: str) -> str:
    """The mod-log line for a message given up on: what sent it (from its dedupe key: `schedule:<id>:...`
    names the schedule, any other key its feature), where to, and the real cause (row["failure"], one
    of CAUSES, with the refused field for a form error)."""
    key = str(row.get("dedupe_key", ""))
    parts = key.split(":")
    if parts[0] == "schedule" and len(parts) > 2:
        source = t("core.outbox_source_schedule", id=parts[1])
    else:
        source = t("core.outbox_source_feature", feature=parts[0] or "?", key=key)
    kind, value = row.get("target_kind"), row.get("target")
    where = f"#{value}" if kind == "channel" else f"<@{value}>" if kind == "dm" else f"<#{value}>"
    cause = row.get("failure") if row.get("failure") in CAUSES else "refused"
    field = f" ({row['field']})" if row.get("field") else ""
    reason = t(f"core.outbox_cause_{cause}", field=field, error=error[:300])
    return t("core.outbox_failed", source=source, where=where, reason=reason)


def _refuse_claims(batch: list[tuple[tuple, asyncio.Future]], exc: BaseException) -> list[tuple[tuple, asyncio.Future]]:
    """Fail the claims of a journal batch with `exc`; returns the rest (the sent marks)."""
    for op, future in batch:
        if op[0] == "claim" and not future.done():
            future.set_exception(exc)
    return [(op, future) for op, future in batch if op[0] != "claim"]


def _target_key(row: dict) -> str:
    return f"{row['guild_id']}:{row['target_kind']}:{row['target']}"


async def _safely(awaitable: Awaitable[None]) -> None:
    try:
        await awaitable
    except Exception:
        log.exception("outbox hook failed")
