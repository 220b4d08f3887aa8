"""Claims through the writer's queue, many batches deep: what every burst must answer, on both stores.

On PostgreSQL the writer plans the next batch while the one before it is on the server (the pipeline,
bot/services/drops/_writer.py `_run_pipelined`); on SQLite each batch is planned in its own
transaction. Either way the answers are the sequential reference's, a failed batch leaves the next
one answered from what is committed, and a release that begins while a batch is on its way is seen
by the next batch."""
from __future__ import annotations

import asyncio
import random

import pytest

from bot.clock import FakeClock
from bot.db import drops as repo
from bot.db import open_database
from bot.services.drops import ClaimOutcome, ClaimWriter
from bot.services.drops._planner import RunFacts
from tests.drops_reference import NOW, database_agrees, open_drop, reference


@pytest.fixture
async def db(tmp_path):
    database = await open_database(tmp_path / "k.db")
    yield database
    await database.close()



async def answers(futures) -> list:
    out = []
    for future in futures:
        try:
            out.append(await future)
        except Exception as exc:  # noqa: BLE001 - the test compares what each claimer was told
            out.append(exc)
    return out


class Gate:
    """Holds each claim batch's write until let through, on either store: on PostgreSQL the statement
    (`repo.write_batch_pg`), on SQLite the batch's transaction (`ClaimWriter._write_batch`). Records,
    when each write begins, how many claims were still queued, and how many writes were in flight."""

    def __init__(self, writer: ClaimWriter, backend: str, monkeypatch) -> None:
        self.writer = writer
        self.started: list[int] = []  # queue length when each write began
        self.in_flight = 0
        self.most_in_flight = 0
        self.passes = asyncio.Semaphore(0)
        self.fail_next: Exception | None = None
        if backend == "postgresql":
            original = repo.write_batch_pg

            async def held(conn, runs, stamp):
                await self._hold()
                try:
                    return await original(conn, runs, stamp)
                finally:
                    self.in_flight -= 1
            monkeypatch.setattr(repo, "write_batch_pg", held)
        else:
            original = writer._write_batch

            async def held(requests, now):
                await self._hold()
                try:
                    return await original(requests, now)
                finally:
                    self.in_flight -= 1
            monkeypatch.setattr(writer, "_write_batch", held)

    async def _hold(self) -> None:
        self.started.append(len(self.writer._queue))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await self.passes.acquire()
        if self.fail_next is not None:
            exc, self.fail_next = self.fail_next, None
            self.in_flight -= 1
            raise exc

    def let_through(self, writes: int = 1) -> None:
        for _ in range(writes):
            self.passes.release()

    async def until_started(self, writes: int) -> None:
        for _ in range(500):  # up to 5 s (SQLite's batch runs in the database thread)
            if len(self.started) >= writes:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"write {writes} did not begin ({len(self.started)} began)")


async def settle(rounds: int = 20) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0)


@pytest.mark.parametrize("seed", range(12))
async def test_a_burst_many_batches_deep_answers_like_one_claim_at_a_time(db, seed):
    """Random runs (stock, limits, waitlists, one closed, one unknown) and a burst of repeated members,
    queued at once and written in batches of a few claims: every claimer is told what the sequential
    reference says, and the database holds exactly that."""
    rng = random.Random(seed)
    writer = ClaimWriter(db, FakeClock(NOW), max_batch=rng.choice([1, 3, 7, 16]))
    runs: dict[int, dict] = {}
    for key in "abc":
        stock, limit, waitlist = rng.randint(1, 12), rng.choice([1, 1, 2, 3]), rng.random() < 0.6
        run_id = await open_drop(db, key, stock=stock, limit=limit, waitlist=waitlist)
        runs[run_id] = dict(open=True, limit=limit, remaining=stock, waitlist=waitlist)
        if rng.random() < 0.5:  # known to the writer from its opening, as DropsService.open does
            writer.opened(run_id, RunFacts(True, stock, limit, waitlist))
    closed = await open_drop(db, "closed", stock=3, limit=1, waitlist=True)
    assert await repo.close_run(db, closed, NOW)
    runs[closed] = dict(open=False, limit=1, remaining=3, waitlist=True)
    ids = list(runs) + [999]  # 999: no such run
    requests = [(rng.choice(ids), rng.randrange(25)) for _ in range(rng.randint(40, 160))]

    model = {k: dict(v) for k, v in runs.items()}
    held: dict = {}
    waiting: dict = {}
    expected = [ClaimOutcome(*e) for e in reference(requests, model, held, waiting)]
    got = await answers([writer.submit(run_id, user_id, NOW) for run_id, user_id in requests])
    assert got == expected
    await writer.wait_idle()
    await database_agrees(db, runs, held, waiting)


async def test_the_next_batch_is_planned_while_one_is_written_and_answered_only_after_it(db, backend, monkeypatch):
    """PostgreSQL: while batch 1's statement is on the server, batch 2 is already taken from the queue
    (planned from the state batch 1 leaves) but nobody in it is answered, and its statement is not sent
    before batch 1 commits. SQLite plans each batch inside its own transaction: batch 2 stays queued."""
    run = await open_drop(db, "a", stock=4, limit=1, waitlist=True)
    writer = ClaimWriter(db, FakeClock(NOW), max_batch=3)
    writer.opened(run, RunFacts(True, 4, 1, True))  # as DropsService.open tells it
    gate = Gate(writer, backend, monkeypatch)
    members = [1, 2, 3, 4, 5, 1, 6, 7, 5]  # batch 1: 1 2 3 · batch 2: 4 5 1 · batch 3: 6 7 5
    futures = [writer.submit(run, m, NOW) for m in members]
    await gate.until_started(1)
    await settle()
    assert not any(f.done() for f in futures)
    assert gate.started == [6]  # batch 1's write began with batches 2 and 3 queued
    assert len(writer._queue) == (3 if backend == "postgresql" else 6)  # batch 2 taken ahead, or not
    gate.let_through()
    await gate.until_started(2)
    await settle()
    assert [f.done() for f in futures[:3]] == [True] * 3
    assert not any(f.done() for f in futures[3:])  # batch 2 is answered after ITS commit
    gate.let_through(2)
    got = await answers(futures)
    assert [(o.status, o.waitlisted, o.already_waiting) for o in got] == [
        ("granted", False, False), ("granted", False, False), ("granted", False, False),
        ("granted", False, False), ("sold_out", True, False), ("limit", False, False),
        ("sold_out", True, False), ("sold_out", True, False), ("sold_out", True, True)]
    assert gate.most_in_flight == 1  # one statement at a time


async def test_a_failed_batch_fails_its_claimers_and_the_next_batch_is_planned_again(db, backend, monkeypatch):
    """Batch 1's write fails (the connection drops, say): its claimers get the error, and batch 2, which
    was planned on PostgreSQL from the state batch 1 would have left, is planned again from what is
    committed: the units batch 1 would have taken are still there."""
    run = await open_drop(db, "a", stock=3, limit=1, waitlist=True)
    writer = ClaimWriter(db, FakeClock(NOW), max_batch=2)
    gate = Gate(writer, backend, monkeypatch)
    gate.fail_next = ConnectionResetError("the server went away")
    futures = [writer.submit(run, m, NOW) for m in (1, 2, 3, 4, 1)]
    await gate.until_started(1)
    await settle()
    gate.let_through(5)
    got = await answers(futures)
    assert all(isinstance(o, ConnectionResetError) for o in got[:2])
    assert [(o.status, o.waitlisted) for o in got[2:]] == [("granted", False), ("granted", False), ("granted", False)]
    check = await repo.stock_check(db, run)
    assert (check["held"], check["remaining"], check["over_limit"]) == (3, 0, 0)
    await database_agrees(db, {run: {}}, {(run, 3): 1, (run, 4): 1, (run, 1): 1}, {})


async def test_a_release_that_begins_while_a_batch_is_written_is_seen_by_the_next_batch(db, backend, monkeypatch):
    """Member 1 holds the only unit of their limit. While batch 1 is on its way, member 1 gives it back;
    member 1's claim in batch 2 (planned ahead on PostgreSQL, when member 1 still held it) must be
    planned again after the release: granted, not "you hold it already"."""
    run = await open_drop(db, "a", stock=5, limit=1, waitlist=False)
    writer = ClaimWriter(db, FakeClock(NOW))
    assert [o.status for o in await writer.write_batch([(run, 1)], NOW)] == ["granted"]
    writer.max_batch = 2
    gate = Gate(writer, backend, monkeypatch)
    futures = [writer.submit(run, m, NOW) for m in (2, 3, 1, 4)]
    await gate.until_started(1)
    await settle()

    async def release():
        async with writer.outside_write(run):
            return await repo.release(db, run, 1, by=1, now=NOW, promote=False)

    releasing = asyncio.ensure_future(release())
    await settle()
    gate.let_through(3)
    assert (await releasing).released_claim is not None
    got = await answers(futures)
    assert [(o.status, o.held) for o in got] == [("granted", 1), ("granted", 1), ("granted", 1), ("granted", 1)]
    check = await repo.stock_check(db, run)
    assert (check["held"], check["remaining"], check["over_limit"]) == (4, 1, 0)


async def test_the_batch_statement_is_prepared_before_the_first_burst(db, backend):
    """`warm` (DropsService.start calls it): on PostgreSQL the writer connection holds the batch
    statement prepared before any claim, and the first batch uses that one (it writes nothing itself);
    on SQLite there is nothing to prepare and nothing is written."""
    run = await open_drop(db, "a", stock=2, limit=1, waitlist=False)
    writer = ClaimWriter(db, FakeClock(NOW))

    async def prepared() -> int:
        async with db.connection() as conn:
            return await conn.fetchval("SELECT COUNT(*) FROM pg_prepared_statements"
                                       " WHERE statement LIKE '%ins AS (INSERT INTO drop_claims%'"
                                       " AND statement NOT LIKE '%pg_prepared_statements%'")  # not this one

    if backend == "postgresql":
        assert await prepared() == 0
    await writer.warm()
    assert await db.fetchval("SELECT COUNT(*) FROM drop_claims") == 0
    if backend == "postgresql":
        assert await prepared() == 1
    assert [o.status for o in await answers([writer.submit(run, m, NOW) for m in (1, 2, 3)])] == \
        ["granted", "granted", "sold_out"]
    if backend == "postgresql":
        assert await prepared() == 1  # the same statement, not a second one


async def test_a_claimer_already_answered_is_not_planned_again_when_a_release_overtakes_the_batch(db, backend):
    """The run is sold out; member 1 holds its unit. A batch is planned: member 1's claim is answered
    from memory ("you hold it already") and member 2 joins the waitlist. Before that batch's statement
    gets the writer lock, member 1's release begins (it queues for the lock behind something else). The
    batch is dropped and planned again after the release; member 1, already told, must not be planned
    again (they would be granted the freed unit without being told). What everyone is told is what the
    database holds."""
    run = await open_drop(db, "a", stock=1, limit=1, waitlist=True)
    writer = ClaimWriter(db, FakeClock(NOW))
    assert [o.status for o in await writer.write_batch([(run, 1)], NOW)] == ["granted"]
    other = await open_drop(db, "b", stock=1, limit=1, waitlist=False)
    holding, go_on = asyncio.Event(), asyncio.Event()

    async def hold_the_lock():  # an unrelated write that keeps the writer lock for a while
        async with db.transaction() as tx:
            await tx.execute("UPDATE drops SET remaining = remaining WHERE id = ?", (other,))
            holding.set()
            await go_on.wait()

    async def release():
        async with writer.outside_write(run):
            return await repo.release(db, run, 1, by=1, now=NOW, promote=False)

    holder = asyncio.ensure_future(hold_the_lock())
    await holding.wait()
    futures = [writer.submit(run, m, NOW) for m in (1, 2)]
    await settle()
    releasing = asyncio.ensure_future(release())
    await settle()
    go_on.set()
    await holder
    assert (await releasing).released_claim is not None
    told = await answers(futures)
    await writer.wait_idle()
    held = {r[0]: r[1] for r in await db.fetchall(
        "SELECT user_id, COUNT(*) FROM drop_claims WHERE drop_id = ? AND status = 'claimed' GROUP BY user_id", (run,))}
    waiting = {r[0] for r in await db.fetchall(
        "SELECT user_id FROM drop_waitlist WHERE drop_id = ? AND status = 'waiting'", (run,))}
    for member, outcome in zip((1, 2), told):
        if outcome.status == "granted":
            assert held.get(member) == 1, (member, outcome, held)
        elif outcome.status == "limit":  # told before the release: they held it then, and nothing since
            assert member not in held, (member, outcome, held)
        else:
            assert outcome.waitlisted and member in waiting and member not in held, (member, outcome, held)
    check = await repo.stock_check(db, run)
    assert check["remaining"] + check["held"] == check["stock"] and check["over_limit"] == 0
