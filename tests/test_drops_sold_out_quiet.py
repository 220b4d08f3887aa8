"""Once the committed state says a run has no stock left or is closed, the claim writer answers a
claim whose planned answer writes nothing from memory, inline from the claim path (`decide_now`),
with the planner's answers and without a database transaction; anything it cannot be sure of (stock
left, a waitlist to join, an outside write) still goes through the database, and queued bursts still
answer like one claim at a time."""
from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import pytest

from bot.clock import FakeClock
from bot.db import drops as repo
from bot.db import open_database
from bot.services.drops import ClaimOutcome, ClaimWriter
from tests.drops_reference import NOW, open_drop, reference


@pytest.fixture
async def db(tmp_path):
    database = await open_database(tmp_path / "k.db")
    yield database
    await database.close()


@pytest.fixture
def writer(db):
    return ClaimWriter(db, FakeClock(NOW))


@pytest.fixture
def transactions(monkeypatch):
    """How many claim batches reached the database (one call each: reading the facts in SQLite's thread,
    `claim_facts`; writing the plan on PostgreSQL, `write_batch_pg`)."""
    count = [0]
    for name in ("claim_facts", "write_batch_pg"):
        def counted(*args, __real=getattr(repo, name)):
            count[0] += 1
            return __real(*args)

        monkeypatch.setattr(repo, name, counted)
    return count



async def claim_all(writer, requests, start=NOW, closes_at=None):
    return await asyncio.gather(*(writer.submit(r, u, start, closes_at) for r, u in requests))


async def test_sold_out_claims_are_answered_without_a_transaction(db, writer, transactions):
    a = await open_drop(db, "a", stock=2)
    assert [o.status for o in await claim_all(writer, [(a, 1), (a, 2)])] == ["granted", "granted"]
    assert transactions[0] == 1
    answers = [writer.decide_now(a, u, NOW, None) for u in (3, 1, 4, 3)]
    assert answers == [ClaimOutcome("sold_out"), ClaimOutcome("limit", None, 1), ClaimOutcome("sold_out"),
                       ClaimOutcome("sold_out")]
    assert transactions[0] == 1  # none more
    assert writer.decide_now(a, 5, NOW, None) == ClaimOutcome("sold_out")
    assert writer.decide_now(a, 2, NOW, None) == ClaimOutcome("limit", None, 1)
    # the time checks come first, as the writer's own
    assert writer.decide_now(a, 5, NOW + timedelta(minutes=5), None).status == "not_open"
    assert writer.decide_now(a, 5, NOW - timedelta(hours=1), NOW).status == "closed"
    assert (await repo.stock_check(db, a))["held"] == 2


@pytest.mark.parametrize("stock, waitlist, known", [(3, False, False), (1, True, True), (5, False, True)])
async def test_what_is_not_certain_still_goes_to_the_database(db, writer, transactions, stock, waitlist, known):
    a = await open_drop(db, "a", stock=stock, waitlist=waitlist)
    if known:
        await claim_all(writer, [(a, 1)])
    assert writer.decide_now(a, 9, NOW, None) is None  # unknown, a waitlist to join, or stock left
    before = transactions[0]
    await claim_all(writer, [(a, 9)])
    assert transactions[0] == before + 1


async def test_an_outside_write_or_a_close_is_seen(db, writer, transactions):
    a = await open_drop(db, "a", stock=1)
    await claim_all(writer, [(a, 1), (a, 2)])
    async with writer.outside_write(a):
        assert (await repo.release(db, a, 1, by=1, now=NOW, promote=False)).released_claim is not None
    assert writer.decide_now(a, 2, NOW, None) is None  # forgotten: a unit is back
    assert [o.status for o in await claim_all(writer, [(a, 2), (a, 3)])] == ["granted", "sold_out"]
    async with writer.outside_write(a):
        assert await repo.close_run(db, a, NOW)
    assert writer.decide_now(a, 3, NOW, None) is None
    assert [o.status for o in await claim_all(writer, [(a, 3)])] == ["closed"]
    assert writer.decide_now(a, 3, NOW, None) == ClaimOutcome("closed")  # closed as committed: no queue


@pytest.mark.parametrize("waitlist", [False, True])
@pytest.mark.parametrize("seed", range(3))
async def test_queued_bursts_answer_like_one_claim_at_a_time(db, writer, transactions, seed, waitlist):
    """Bursts much larger than the stock, queued in slices (as a loop hands them over): the answers are
    the reference model's and the database holds what was answered."""
    rng = random.Random(seed)
    writer.max_batch = 7
    a = await open_drop(db, "a", stock=20, limit=2, waitlist=waitlist)
    model = {a: dict(open=True, limit=2, remaining=20, waitlist=waitlist)}
    held: dict = {}
    waiting: dict = {}
    requests = [(a, rng.randrange(30)) for _ in range(300)]
    expected = [ClaimOutcome(*e) for e in reference(requests, model, held, waiting)]
    futures = []
    for first in range(0, len(requests), 40):  # later claims arrive while earlier ones are written
        futures += [writer.submit(r, u, NOW) for r, u in requests[first:first + 40]]
        await asyncio.sleep(0)
    assert list(await asyncio.gather(*futures)) == expected
    assert {o.status for o in expected} >= {"granted", "limit", "sold_out"}
    rows = await db.fetchall("SELECT user_id, COUNT(*) FROM drop_claims WHERE drop_id = ? AND status = 'claimed'"
                             " GROUP BY user_id", (a,))
    assert {(a, r[0]): r[1] for r in rows} == held
    listed = await db.fetchall("SELECT user_id FROM drop_waitlist WHERE drop_id = ? AND status = 'waiting'", (a,))
    assert {r[0] for r in listed} == waiting.get(a, set())


async def test_a_member_already_waiting_is_answered_inline(db, writer, transactions):
    a = await open_drop(db, "a", stock=1, waitlist=True)
    await claim_all(writer, [(a, 1), (a, 2)])  # 2 joins the waitlist
    assert writer.decide_now(a, 2, NOW, None) == ClaimOutcome("sold_out", None, 0, True, True)
    assert writer.decide_now(a, 1, NOW, None) == ClaimOutcome("limit", None, 1)
    assert writer.decide_now(a, 3, NOW, None) is None  # would join: the database writes it
