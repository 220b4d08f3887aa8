"""The single claim writer: first-come claims are queued and written in batches, one database
transaction each, in arrival order. The rules are the planner's (`plan_claims`); the writer owns
the queue, the time checks and what is committed, kept in memory.

A claimer's future is resolved only after COMMIT, so whoever is told "it's yours" has it in the
database, and a crash loses only claims nobody was told about. The whole batch (read, plan, write)
is one hand-off to the database thread: while it works, the loop answers the previous batch.

What is committed, in memory: per run, units each member holds and who is on the waitlist, AS
COMMITTED. It is read inside a batch's transaction (under the write lock) and updated right after
that batch's COMMIT. Any other write to a run's claims or waitlist (a release, a draw) goes through
`outside_write(run_id)`, which forgets the run and keeps it forgotten until that write is over (and
a batch that overlapped it does not keep what it read): whoever holds the write lock sees either the
exact state or nothing (and then reads it). Readers outside the lock (`held`, the claim path's "you
hold it already") may see a state one batch old, never one that is not committed. The database
still has the last word: UNIQUE (drop, member, slot) and the conditional stock update refuse a plan
made from a wrong state; the batch then rolls back and is planned once more from a fresh read.

A run with no stock left (or closed) as committed is *settled*: a claim whose planned answer writes
nothing (sold out, already waiting, at the limit, closed) can no longer be changed by any claim queued
or in flight, so the planner answers it from memory, inline from the claim path (`decide_now`),
without queueing it or a transaction. On PostgreSQL, where the plan runs on the loop anyway, claims
queued before their run settled are answered the same way when their batch is planned (`_plan_from`,
one pass over the claims), so a batch holds only claims that write and the others wait for no round
trip. (On SQLite that was measured slower on the 200,000-claim burst: the plan then runs on the loop
instead of the database thread.)

A run the service has just opened is known from its opening (`opened`: nothing held), so the first
batch of a burst reads nothing before it plans.

On PostgreSQL the batches are pipelined (`_run_pipelined`): while one batch's statement is on the
server, the next batch is taken and planned against the state that batch leaves (`_Planned.after`),
so when its COMMIT comes back the next statement goes out at once and only then are the committed
batch's claimers answered. Nothing is sent before the previous statement has committed (one writer
connection, one statement at a time) and no answer is given before the state it rests on is committed;
a plan made ahead is dropped (its claims back at the head of the queue) when the batch before it
failed or a write outside the writer began since it was made.
"""
from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import AsyncIterator, Callable, Sequence

from bot.db import drops as repo
from bot.db.connection import to_db_time

from ._planner import ClaimOutcome, ClaimPlan, Holdings, Planner, RunFacts, plan_claims

log = logging.getLogger(__name__)

CLOSED, NOT_OPEN = ClaimOutcome("closed"), ClaimOutcome("not_open")


class _Overtaken(Exception):
    """A batch planned ahead was not written: a write outside the writer began since it was planned."""


def _is_settled(facts: RunFacts) -> bool:
    """No claim can take a unit any more: the run is closed or has no stock left (see `_settled`)."""
    return not facts.open or facts.remaining <= 0


def _writes(outcome: ClaimOutcome) -> bool:
    """Whether the planner's answer writes anything (a unit taken, or the waitlist joined)."""
    return outcome.status == "granted" or (outcome.waitlisted and not outcome.already_waiting)


@dataclass(slots=True)
class PendingClaim:
    run_id: int
    user_id: int
    future: "asyncio.Future[ClaimOutcome]"
    start: datetime  # when this member's window opens
    closes_at: datetime | None


AfterBatch = Callable[[list[PendingClaim], list[ClaimOutcome]], None]


@dataclass(slots=True)
class _Planned:
    """A batch taken from the queue and planned from a known state (PostgreSQL, `_plan_from`)."""
    taken: list[PendingClaim]  # every claim taken from the queue and not yet answered, in arrival order
    due: list[PendingClaim]  # those the statement decides (the others are `known`)
    known: list[tuple[PendingClaim, ClaimOutcome]]  # answered from the state planned from, once it is committed
    plan: ClaimPlan
    after: dict[int, tuple[RunFacts, Holdings]]  # run id -> its state once this batch is committed
    outside_started: int  # `_outside_started` when planned: any write outside the writer since voids it
    stamp: str


class ClaimWriter:
    """Queues claims and writes them in batches. The task runs only while claims are waiting (no idle
    task to cancel). The time checks happen here, once per batch, when the batch is decided: a claim
    whose window has not opened yet (or whose run has closed) by then is answered without the database."""

    def __init__(self, db, clock, max_batch: int = 2000) -> None:
        self.db = db
        self.clock = clock
        self.max_batch = max_batch
        self.after_batch: list[AfterBatch] = []  # called with (claims, outcomes) after each committed batch
        self._queue: list[PendingClaim] = []
        self._task: asyncio.Task | None = None
        self._committed: dict[int, Holdings] = {}  # run id -> holdings as committed (absent: not known)
        self._facts: dict[int, RunFacts] = {}  # run id -> its row as committed (known when holdings are)
        self._outside_active = 0  # writes in progress outside the writer
        self._outside_started = 0  # ... and how many ever began (a batch that overlapped one keeps nothing)

    # --- the claim path ------------------------------------------------------------------------------
    def submit(self, run_id: int, user_id: int, start: datetime, closes_at: datetime | None = None
               ) -> "asyncio.Future[ClaimOutcome]":
        """Queue a claim; the future resolves once its batch is committed (or refused)."""
        future = asyncio.get_running_loop().create_future()
        self._queue.append(PendingClaim(run_id, user_id, future, start, closes_at))
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="kizuna-drop-claims")
        return future

    def decide_now(self, run_id: int, user_id: int, start: datetime, closes_at: datetime | None
                   ) -> ClaimOutcome | None:
        """The claim's outcome without queueing it, when the committed state already decides it (see
        `_settled`): the run has no stock left or is closed, and the planner's answer writes nothing.
        None: queue it."""
        if not self._settled(run_id):
            return None
        now = self.clock.now()
        if closes_at is not None and now >= closes_at:
            return CLOSED
        if now < start:
            return NOT_OPEN
        outcome = plan_claims([(run_id, user_id)], {run_id: self._facts[run_id]},
                              {run_id: self._committed[run_id]}).outcomes[0]
        return None if _writes(outcome) else outcome

    def _settled(self, run_id: int) -> bool:
        """Whether the run is known as committed and has no stock left or is closed. Then a claim whose
        planned answer writes nothing (sold out, already waiting, at the limit, closed) cannot be changed
        by any claim still queued or in flight (those can only join the waitlist or take units, and
        none are left); releases and closes go through `outside_write`, which forgets the run."""
        known = self._facts.get(run_id)
        return known is not None and _is_settled(known) and run_id in self._committed

    def opened(self, run_id: int, facts: RunFacts) -> None:
        """A first-come run whose opening has just committed, with nothing claimed yet: known exactly
        as committed, so the burst's first batch reads nothing first (on PostgreSQL two round trips
        less, while every claim of that batch waits). Call it with no await since the commit."""
        self._facts[run_id] = facts
        self._committed[run_id] = Holdings()

    def held(self, run_id: int, user_id: int) -> int | None:
        """Units the member holds as last committed; None when the run is not known in memory."""
        known = self._committed.get(run_id)
        return None if known is None else known.held.get(user_id, 0)

    async def warm(self) -> None:
        """PostgreSQL: prepare the batch statement on the writer connection (at start-up), so the first
        batch of a burst is not the one that pays for it (about 7 ms measured, while every claim of
        that batch waits). Nothing on SQLite or a read-only database."""
        if self.db.dialect == "sqlite" or self.db.conn is None:
            return
        async with self.db.connection() as conn:
            await repo.prepare_batch_pg(conn)

    async def wait_idle(self) -> None:
        while self._task is not None:
            await asyncio.shield(self._task)

    async def _run(self) -> None:
        try:
            while self._queue:
                if self.db.dialect != "sqlite":
                    await self._run_pipelined()  # returns when a run must be read first
                    if not self._queue:
                        break
                due = self._next_batch()
                if due:
                    await self._write_due(due)
        finally:
            self._task = None

    async def _run_pipelined(self) -> None:
        """PostgreSQL: each batch is planned while the one before it is on the server (module doc).
        Returns when the queue is empty, or when a run of the next claims is not known in memory (the
        plain loop in `_run` then reads it)."""
        ahead: _Planned | None = None  # planned from the state the batch in flight leaves
        answered: tuple[list[PendingClaim], list[ClaimOutcome]] | None = None  # committed, not yet told
        try:
            while True:
                if ahead is not None and not self._still_valid(ahead):
                    self._put_back(ahead)
                    ahead = None
                batch = ahead or (self._plan_from(self._committed_states()) if self._queue else None)
                ahead = None
                if batch is None or not batch.due:
                    if answered is not None:
                        self._settle(*answered)
                        answered = None
                    if batch is None:
                        return  # the queue is empty, or it needs a run read from the database
                    self._tell_known(batch)
                    continue
                statement = asyncio.ensure_future(self._write_planned(batch))
                await asyncio.sleep(0)  # the statement leaves before anything else is done
                if answered is not None:
                    self._settle(*answered)
                    answered = None
                self._tell_known(batch)
                if self._queue:
                    ahead = self._plan_from(batch.after)
                try:
                    await statement
                except repo.StockInvariantBroken as exc:
                    log.warning("claim batch refused by the database (%s): re-reading holdings", exc)
                    if ahead is not None:
                        self._put_back(ahead)
                        ahead = None
                    self._committed.clear()
                    self._facts.clear()
                    await self._write_due(batch.due)  # read again, planned again, written
                    continue
                except _Overtaken:  # a write outside began since it was planned: the plain path waits it out
                    if ahead is not None:
                        self._put_back(ahead)
                        ahead = None
                    self._put_back(batch)
                    return
                except Exception as exc:
                    log.exception("claim batch of %d failed", len(batch.due))
                    if ahead is not None:
                        self._put_back(ahead)
                        ahead = None
                    for claim in batch.due:
                        claim.future.done() or claim.future.set_exception(exc)
                    continue
                answered = (batch.due, batch.plan.outcomes)
        finally:
            if answered is not None:
                self._settle(*answered)
            if ahead is not None:
                self._put_back(ahead)

    def _committed_states(self) -> dict[int, tuple[RunFacts, Holdings]]:
        return {run_id: (facts, self._committed[run_id]) for run_id, facts in self._facts.items()
                if run_id in self._committed}

    def _plan_from(self, states: dict[int, tuple[RunFacts, Holdings]]) -> _Planned | None:
        """Take the next batch from the queue and plan it from `states` (what is committed, or what the
        batch in flight leaves): up to `max_batch` claims that the statement decides, each claim decided
        once, in arrival order. A claim of a run settled in `states` whose answer writes nothing is
        answered from `states` (`known`) instead, so the batch fills with claims that write; an answer
        that rests on a join planned earlier in this batch ("already waiting", not yet committed) stays
        with the batch. None, with nothing taken, when a run of the next claims is not in `states` (it
        is read from the database first)."""
        queue = self._queue
        if not queue or any(claim.run_id not in states for claim in queue[: self.max_batch]):
            return None
        outside_started = self._outside_started
        now = self.clock.now()
        planner = Planner({r: s[0] for r, s in states.items()}, {r: s[1] for r, s in states.items()})
        settled = {run_id: state[1].waiting for run_id, state in states.items() if _is_settled(state[0])}
        taken: list[PendingClaim] = []
        due: list[PendingClaim] = []
        outcomes: list[ClaimOutcome] = []
        known: list[tuple[PendingClaim, ClaimOutcome]] = []
        while queue and len(due) < self.max_batch:
            take = self.max_batch - len(due)
            if any(claim.run_id not in states for claim in queue[:take]):
                break
            piece = self._answer_untimely(queue[:take], now)
            del queue[:take]
            taken.extend(piece)
            for claim, outcome in zip(piece, planner.decide([(c.run_id, c.user_id) for c in piece])):
                waiting = settled.get(claim.run_id)
                if (waiting is not None and not _writes(outcome)
                        and (not outcome.already_waiting or claim.user_id in waiting)):
                    known.append((claim, outcome))
                else:
                    due.append(claim)
                    outcomes.append(outcome)
        after = {}
        for run_id, state in states.items():
            changes = planner.plans[run_id]
            if not changes.grants and not changes.joins:
                after[run_id] = state
                continue
            facts, holdings = state
            held = dict(holdings.held)
            held.update(changes.held)
            after[run_id] = (facts._replace(remaining=facts.remaining - changes.granted),
                             Holdings(held, holdings.waiting | set(changes.joins)))
        return _Planned(taken, due, known, ClaimPlan(outcomes, planner.plans), after, outside_started,
                        to_db_time(now))

    def _still_valid(self, planned: _Planned) -> bool:
        """Whether a plan made ahead still rests on what is committed: no write outside the writer began
        since it was made (one that did forgets the runs it touched)."""
        return not self._outside_active and self._outside_started == planned.outside_started

    def _put_back(self, planned: _Planned) -> None:
        """A planned batch is dropped: its claims not answered yet go back to the head of the queue, in
        order. (A batch's `known` answers are told once the state they rest on is committed, before its
        statement is sent: those claimers have their answer, and must not be planned again.)"""
        self._queue[:0] = [claim for claim in planned.taken if not claim.future.done()]

    def _tell_known(self, planned: _Planned) -> None:
        for claim, outcome in planned.known:
            claim.future.done() or claim.future.set_result(outcome)

    async def _write_planned(self, planned: _Planned) -> None:
        """The planned batch's statement, under the writer lock; `_Overtaken` (nothing written) when a
        write outside the writer began since it was planned. On success the state it leaves is the
        committed one (no await between the statement's return and that)."""
        async with self.db.connection() as conn:
            if not self._still_valid(planned):
                raise _Overtaken
            run_ids = list(planned.plan.runs)
            try:
                await repo.write_batch_pg(conn, planned.plan.runs, planned.stamp)
            except BaseException:
                for run_id in run_ids:
                    self._forget(run_id)
                raise
            if not self._still_valid(planned):  # a write outside began meanwhile (it waits for the lock):
                for run_id in run_ids:  # keep the runs forgotten until it is over, as `_write_batch` does
                    self._forget(run_id)
                return
            for run_id in run_ids:
                facts, holdings = planned.after[run_id]
                self._facts[run_id] = facts
                self._committed[run_id] = holdings

    def _next_batch(self) -> list[PendingClaim]:
        """Up to `max_batch` queued claims, in arrival order, after answering those made outside their
        window (the plain path: SQLite, and PostgreSQL when a run must be read first)."""
        due: list[PendingClaim] = []
        now = self.clock.now()
        while self._queue and len(due) < self.max_batch:
            take = self.max_batch - len(due)
            due.extend(self._answer_untimely(self._queue[:take], now))
            del self._queue[:take]
        return due

    async def _write_due(self, due: list[PendingClaim]) -> None:
        try:
            outcomes = await self.write_batch([(c.run_id, c.user_id) for c in due], self.clock.now())
        except Exception as exc:
            log.exception("claim batch of %d failed", len(due))
            for claim in due:
                if not claim.future.done():
                    claim.future.set_exception(exc)
            return
        self._settle(due, outcomes)

    def _settle(self, due: list[PendingClaim], outcomes: list[ClaimOutcome]) -> None:
        for claim, outcome in zip(due, outcomes):
            if not claim.future.done():
                claim.future.set_result(outcome)
        for hook in self.after_batch:
            try:
                hook(due, outcomes)
            except Exception:
                log.exception("after-batch hook failed")

    @staticmethod
    def _answer_untimely(batch: list[PendingClaim], now: datetime) -> list[PendingClaim]:
        """Answer the claims made before their window or after the close; return the others."""
        due = []
        for claim in batch:
            if claim.closes_at is not None and now >= claim.closes_at:
                claim.future.done() or claim.future.set_result(CLOSED)
            elif now < claim.start:
                claim.future.done() or claim.future.set_result(NOT_OPEN)
            else:
                due.append(claim)
        return due

    # --- one batch -----------------------------------------------------------------------------------
    async def write_batch(self, requests: Sequence[tuple[int, int]], now: datetime) -> list[ClaimOutcome]:
        """Decide and write (run id, member) claims in ONE transaction, in order. Nothing is
        half-granted: if the database refuses any part of the plan, the whole batch rolls back."""
        if not requests:
            return []
        try:
            return await self._write_batch(requests, now)
        except repo.StockInvariantBroken as exc:
            # planned from a wrong in-memory state (something wrote claims outside `outside_write`):
            # nothing was written; read the state again and plan once more
            log.warning("claim batch refused by the database (%s): re-reading holdings", exc)
            self._committed.clear()
            self._facts.clear()
            return await self._write_batch(requests, now)

    async def _write_batch(self, requests: Sequence[tuple[int, int]], now: datetime) -> list[ClaimOutcome]:
        run_ids = sorted({run_id for run_id, _ in requests})
        outside_before = self._outside_started
        try:
            if self.db.dialect == "sqlite":  # the whole batch in one hand-off to the database thread
                plan, facts, holdings = await self.db.transact_in_thread(self._plan_and_write, requests, run_ids,
                                                                         to_db_time(now))
            else:
                plan, facts, holdings = await self._plan_and_write_in(requests, run_ids, to_db_time(now))
        except BaseException:
            for run_id in run_ids:
                self._forget(run_id)
            raise
        # committed (no await between here and the end: nobody can see the lock free in between)
        if self._outside_active or self._outside_started != outside_before:
            for run_id in run_ids:  # another write overlapped this batch: what was read may be stale
                self._forget(run_id)
            return plan.outcomes
        for run_id, known in holdings.items():
            changes = plan.runs[run_id]
            known.held.update(changes.held)
            known.waiting.update(changes.joins)
            self._committed[run_id] = known
            self._facts[run_id] = facts[run_id]._replace(remaining=facts[run_id].remaining - changes.granted)
        return plan.outcomes

    def _forget(self, run_id: int) -> None:
        self._committed.pop(run_id, None)
        self._facts.pop(run_id, None)

    def _plan_and_write(self, conn, requests: Sequence[tuple[int, int]], run_ids: list[int], stamp: str
                        ) -> tuple[ClaimPlan, dict[int, RunFacts], dict[int, Holdings]]:
        """In the database thread, inside the transaction (the write lock is held): read the state,
        let the planner decide, write the plan. `_committed` is read here under the lock; the loop
        only changes it after a batch's COMMIT or when an outside write begins (before it takes the lock)."""
        facts = {run_id: RunFacts(*row) for run_id, row in repo.claim_facts(conn, run_ids).items()}
        holdings = {run_id: self._committed.get(run_id) or Holdings(*repo.holdings(conn, run_id)) for run_id in facts}
        plan = plan_claims(requests, facts, holdings)
        for run_id, writes in plan.runs.items():
            repo.write_grants(conn, run_id, writes.grants, stamp)
            repo.write_joins(conn, run_id, writes.joins, stamp)
        return plan, facts, holdings

    async def _plan_and_write_in(self, requests: Sequence[tuple[int, int]], run_ids: list[int], stamp: str
                                 ) -> tuple[ClaimPlan, dict[int, RunFacts], dict[int, Holdings]]:
        """`_plan_and_write` on PostgreSQL: the same reads and plan under the writer lock, and the
        writes in one statement (atomic by itself: no BEGIN/COMMIT round trips, see bot/db/drops.py)."""
        async with self.db.connection() as conn:
            if all(run_id in self._facts and run_id in self._committed for run_id in run_ids):
                # known exactly as committed (an outside write, a close included, forgets the run): one
                # round trip less per batch; the statement still refuses a plan the database disagrees with
                facts = {run_id: self._facts[run_id] for run_id in run_ids}
            else:
                facts = {run_id: RunFacts(*row) for run_id, row in (await repo.claim_facts_pg(conn, run_ids)).items()}
            holdings = {}
            for run_id in facts:
                holdings[run_id] = self._committed.get(run_id) or Holdings(*await repo.holdings_pg(conn, run_id))
            plan = plan_claims(requests, facts, holdings)
            await repo.write_batch_pg(conn, plan.runs, stamp)
        return plan, facts, holdings

    # --- everyone else -------------------------------------------------------------------------------
    @asynccontextmanager
    async def outside_write(self, run_id: int) -> AsyncIterator[None]:
        """Wrap any write to a run's claims or waitlist made outside the writer (a release, a draw):
        the run is forgotten, and read again by the first batch after the write."""
        self._outside_active += 1
        self._outside_started += 1
        self._forget(run_id)
        try:
            yield
        finally:
            self._outside_active -= 1
            self._forget(run_id)
