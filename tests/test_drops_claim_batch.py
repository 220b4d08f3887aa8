"""The batched claim (`ClaimWriter.write_batch`: the pure planner, written through the repository)
against a plain reference model: several drops and an unknown drop interleaved in one batch, limits
above 1, stock running out mid-batch, the waitlist, a closed drop, and the in-memory holdings
following (or being re-read after) other writers."""
from __future__ import annotations

import asyncio
import random

import pytest

from bot.clock import FakeClock
from bot.db import drops as repo
from bot.db import open_database
from bot.services.drops import ClaimOutcome, ClaimWriter
from tests.drops_reference import NOW, database_agrees, open_drop, reference


@pytest.fixture
async def db(tmp_path):
    database = await open_database(tmp_path / "k.db")
    yield database
    await database.close()  # even when the test failed: an open connection's thread keeps pytest alive


@pytest.fixture
def writer(db):
    return ClaimWriter(db, FakeClock(NOW))



async def test_batches_answer_like_one_claim_at_a_time_and_the_database_agrees(db, writer):
    a = await open_drop(db, "a", stock=30, limit=2, waitlist=True)
    b = await open_drop(db, "b", stock=10, limit=1, waitlist=False)
    c = await open_drop(db, "c", stock=5, limit=1, waitlist=True)
    assert await repo.close_run(db, c, NOW)
    model = {a: dict(open=True, limit=2, remaining=30, waitlist=True),
             b: dict(open=True, limit=1, remaining=10, waitlist=False),
             c: dict(open=False, limit=1, remaining=5, waitlist=True)}
    held: dict = {}
    waiting: dict = {}
    rng = random.Random(3)
    seen = set()
    for size in (1, 7, 60, 200):  # a batch of one, and batches where stock runs out midway
        requests = [(rng.choice([a, a, b, c, 999]), rng.randrange(40)) for _ in range(size)]
        expected = [ClaimOutcome(*e) for e in reference(requests, model, held, waiting)]
        assert await writer.write_batch(requests, NOW) == expected
        seen |= {o.status for o in expected}
    assert seen == {"granted", "limit", "sold_out", "closed", "missing"}  # every answer was exercised
    assert model[a]["remaining"] == 0 and model[b]["remaining"] == 0  # both ran out along the way

    await database_agrees(db, (a, b, c), held, waiting)  # the database holds exactly what was answered

async def test_holdings_in_memory_follow_other_writers(db, writer):
    """A claim released outside the batch (through `outside_write`) frees the member's slot for the
    next batch; a write that went around it is caught by the database and the batch is planned again."""
    a = await open_drop(db, "a", stock=4, limit=1, waitlist=True)
    assert [o.status for o in await writer.write_batch([(a, 1), (a, 2), (a, 1)], NOW)] == \
        ["granted", "granted", "limit"]
    assert writer.held(a, 1) == 1
    async with writer.outside_write(a):
        released = await repo.release(db, a, 1, by=9, now=NOW, promote=False)
    assert released.released_claim is not None
    assert writer.held(a, 1) is None  # forgotten: read again at the next batch
    assert [o.status for o in await writer.write_batch([(a, 1)], NOW)] == ["granted"]

    # someone writes a claim behind the cache's back: the batch's INSERT is refused, re-read, re-planned
    await db.execute("INSERT INTO drop_claims (drop_id, user_id, slot, status, source, claimed_at)"
                     " VALUES (?, 5, 1, 'claimed', 'claim', 'x')", (a,))
    await db.execute("UPDATE drops SET remaining = remaining - 1 WHERE id = ?", (a,))
    got = await writer.write_batch([(a, 5), (a, 6)], NOW)
    assert [(o.status, o.held) for o in got] == [("limit", 1), ("granted", 1)]
    check = await repo.stock_check(db, a)
    assert (check["held"], check["remaining"], check["over_limit"]) == (4, 0, 0)


@pytest.mark.parametrize("release_first", [False, True], ids=["batch-takes-the-lock-first", "release-takes-it-first"])
async def test_a_release_racing_a_batch_leaves_no_stale_holdings_in_memory(db, writer, release_first):
    """A member gives their unit back while a batch is on its way: whichever takes the write lock
    first, the next batch knows the unit is free (a stale "holds 1" would refuse them wrongly, and
    the database would not catch it: it only refuses plans that take too much)."""
    a = await open_drop(db, "a", stock=3, limit=1, waitlist=False)
    assert [o.status for o in await writer.write_batch([(a, 1)], NOW)] == ["granted"]
    assert writer.held(a, 1) == 1

    async def release():
        async with writer.outside_write(a):
            assert (await repo.release(db, a, 1, by=1, now=NOW, promote=False)).released_claim is not None

    batch = writer.write_batch([(a, 2)], NOW)
    got = await asyncio.gather(release(), batch) if release_first else await asyncio.gather(batch, release())
    assert [o.status for o in got[1 if release_first else 0]] == ["granted"]
    assert [(o.status, o.held) for o in await writer.write_batch([(a, 1)], NOW)] == [("granted", 1)]
    check = await repo.stock_check(db, a)
    assert (check["held"], check["remaining"], check["over_limit"]) == (2, 1, 0)


async def test_queued_claims_of_a_sold_out_run_that_write_nothing_do_not_wait_for_the_batch(db, writer, backend,
                                                                                            monkeypatch):
    """Claims queued before their run sold out: on PostgreSQL the writer answers those that write
    nothing from the state as committed while the claims that write wait for their statement; an
    answer that rests on a join not yet committed ("already waiting" because of a claim in the same
    batch) waits too. On SQLite the batch answers all of them (the plan runs in its thread)."""
    run = await open_drop(db, "a", stock=2, limit=1, waitlist=True)
    first = await writer.write_batch([(run, 1), (run, 2), (run, 3)], NOW)
    assert [(o.status, o.waitlisted) for o in first] == [("granted", False), ("granted", False), ("sold_out", True)]
    gate = asyncio.Event()
    if backend == "postgresql":  # the batch's statement (the pipelined writer plans outside `_write_batch`)
        statement = repo.write_batch_pg

        async def held_back_statement(conn, runs, stamp):
            await gate.wait()
            return await statement(conn, runs, stamp)

        monkeypatch.setattr(repo, "write_batch_pg", held_back_statement)
    else:
        write = writer._write_batch

        async def held_back(requests, now):
            await gate.wait()
            return await write(requests, now)

        monkeypatch.setattr(writer, "_write_batch", held_back)
    members = [1, 3, 4, 4, 5, 2]  # holds it, waits, joins, waits (by 4's join), joins, holds it
    futures = [writer.submit(run, m, NOW) for m in members]
    for _ in range(5):
        await asyncio.sleep(0)
    early = [f.done() for f in futures]
    gate.set()
    outcomes = [await f for f in futures]
    assert [(o.status, o.waitlisted, o.already_waiting) for o in outcomes] == [
        ("limit", False, False), ("sold_out", True, True), ("sold_out", True, False), ("sold_out", True, True),
        ("sold_out", True, False), ("limit", False, False)]
    if backend == "sqlite":
        assert early == [False] * 6
    else:
        assert early == [True, True, False, False, False, True]
    assert await db.fetchval("SELECT COUNT(*) FROM drop_waitlist WHERE drop_id = ?", (run,)) == 3
