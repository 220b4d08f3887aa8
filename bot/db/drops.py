"""SQL for collab drops: runs, claims (first come, waitlist, raffle winners), codes, entries, draws.

The one rule that matters: `remaining + claims held = stock`, kept by doing every change of stock in
the same transaction as the claim rows it pays for, with the database refusing what would break it
(CHECK remaining >= 0, the conditional stock UPDATE, UNIQUE (drop, member, slot)).
"""
from __future__ import annotations

import json
import logging
import sqlite3
import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, NamedTuple, Sequence

from .connection import Database, from_db_time, to_db_time

log = logging.getLogger(__name__)

# bound parameters per IN (...) list: SQLite >= 3.32 allows 32,766 and PostgreSQL 65,535. Few large
# statements matter more than small ones here: each statement is a hand-off to aiosqlite's thread.
_CHUNK = 5000


def _marks(n: int) -> str:
    return ",".join("?" * n)


def _chunks(items: Sequence, size: int = _CHUNK) -> Iterable[Sequence]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _drop(row) -> dict | None:
    if row is None:
        return None
    d = dict(row)
    for key in ("opens_at", "closes_at", "opened_at", "closed_at"):
        d[key] = from_db_time(d[key])
    d["waitlist"] = bool(d["waitlist"])
    return d


class StockInvariantBroken(RuntimeError):
    """The conditional stock update touched fewer rows than planned: the batch is rolled back."""


# --- runs -------------------------------------------------------------------------------------------

async def open_run(db: Database, *, guild_id: int, key: str, occurrence: str, mode: str, stock: int, limit: int,
                   waitlist: bool, opens_at: datetime, closes_at: datetime | None, now: datetime,
                   by: int | None, codes: Sequence[str]) -> tuple[dict | None, str]:
    """Open a run once per (key, occurrence). Returns (row, 'opened' | 'seen' | 'busy'):
    'seen' = this occurrence opened it already, 'busy' = another run of the key is still open."""
    async with db.transaction() as tx:
        seen = await tx.fetchone("SELECT * FROM drops WHERE guild_id = ? AND key = ? AND occurrence = ?",
                                 (guild_id, key, occurrence))
        if seen is not None:
            return _drop(seen), "seen"
        busy = await tx.fetchone("SELECT * FROM drops WHERE guild_id = ? AND key = ? AND status = 'open'",
                                 (guild_id, key))
        if busy is not None:
            return _drop(busy), "busy"
        row = await tx.fetchone(
            "INSERT INTO drops (guild_id, key, occurrence, mode, stock, remaining, claim_limit, waitlist, status,"
            " opens_at, closes_at, opened_at, opened_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?)"
            " RETURNING *",
            (guild_id, key, occurrence, mode, stock, stock, limit, int(waitlist), to_db_time(opens_at),
             to_db_time(closes_at) if closes_at else None, to_db_time(now), by),
        )
        if codes:
            await tx.executemany("INSERT INTO drop_codes (drop_id, code) VALUES (?, ?)",
                                 [(row["id"], code) for code in codes])
        return _drop(row), "opened"


async def get(db: Database, drop_id: int) -> dict | None:
    return _drop(await db.fetchone("SELECT * FROM drops WHERE id = ?", (drop_id,)))


async def latest(db: Database, guild_id: int, key: str) -> dict | None:
    return _drop(await db.fetchone("SELECT * FROM drops WHERE guild_id = ? AND key = ? ORDER BY id DESC LIMIT 1",
                                   (guild_id, key)))


async def runs(db: Database, guild_id: int | None = None, *, status: str | None = None) -> list[dict]:
    sql, params = "SELECT * FROM drops WHERE 1 = 1", []
    if guild_id is not None:
        sql += " AND guild_id = ?"
        params.append(guild_id)
    if status is not None:
        sql += " AND status = ?"
        params.append(status)
    return [_drop(r) for r in await db.fetchall(sql + " ORDER BY id", params)]


async def close_run(db: Database, drop_id: int, now: datetime) -> bool:
    """True when this call closed it (False: it was closed already)."""
    return await db.execute("UPDATE drops SET status = 'closed', closed_at = ? WHERE id = ? AND status = 'open'",
                            (to_db_time(now), drop_id)) == 1


# --- first come: the batched claim ------------------------------------------------------------------

class ClaimRequest(NamedTuple):  # tuples: a burst makes tens of thousands of these
    drop_id: int
    user_id: int


class ClaimOutcome(NamedTuple):
    status: str  # granted | limit | sold_out | closed | missing (and not_open, decided by the writer)
    slot: int | None = None
    held: int = 0  # units the member holds after this request
    waitlisted: bool = False  # sold out and now on the waitlist
    already_waiting: bool = False  # ... and was on it before this request


class _Outcomes(dict):
    """Outcomes are immutable and few distinct ones exist: share them instead of allocating 20,000."""

    def __missing__(self, key: tuple) -> ClaimOutcome:
        value = self[key] = ClaimOutcome(*key)
        return value


_OUTCOMES = _Outcomes()


# --- what is committed, kept in memory -----------------------------------------------------------
# Per database and drop: units each member holds and who is on the waitlist, AS COMMITTED. Loaded
# inside a claim batch's transaction (under the write lock), updated only after that batch's COMMIT,
# and forgotten inside every other transaction that changes claims or the waitlist (release,
# promotion, draw), before it commits: whoever holds the write lock sees either the exact state or
# nothing (and then reads it). Readers outside the lock (the claim path's "you hold it already")
# may see a state one batch old, never one that is not committed. The database still has the last
# word: UNIQUE (drop, member, slot) with slots 1..n and the conditional stock update refuse a plan
# made from a wrong state (the batch rolls back, the cache is dropped and the batch re-planned once).

class _Committed:
    __slots__ = ("held", "waiting")

    def __init__(self, held: dict[int, int], waiting: set[int]) -> None:
        self.held = held
        self.waiting = waiting


_COMMITTED: "weakref.WeakKeyDictionary[Database, dict[int, _Committed]]" = weakref.WeakKeyDictionary()


def committed(db: Database) -> dict[int, _Committed]:
    """drop id -> committed holdings (`.held`: member -> units) and waitlist (`.waiting`) of the
    drops known in memory; the same dict for the life of `db` (a missing drop: not known, ask)."""
    found = _COMMITTED.get(db)
    if found is None:
        found = _COMMITTED[db] = {}
    return found


def committed_held(db: Database, drop_id: int, user_id: int) -> int | None:
    """Units the member holds as last committed by the claim writer; None when not known in memory."""
    state = _COMMITTED.get(db, {}).get(drop_id)
    return None if state is None else state.held.get(user_id, 0)


def forget(db: Database, drop_id: int) -> None:
    """Call inside any transaction that changes a drop's claims or waitlist outside `claim_batch`."""
    found = _COMMITTED.get(db)
    if found is not None:
        found.pop(drop_id, None)


def _load(conn: sqlite3.Connection, drop_id: int) -> _Committed:
    held = dict(conn.execute(
        "SELECT user_id, COUNT(*) FROM drop_claims WHERE drop_id = ? AND status = 'claimed' GROUP BY user_id",
        (drop_id,)).fetchall())
    waiting = {r[0] for r in conn.execute(
        "SELECT user_id FROM drop_waitlist WHERE drop_id = ? AND status = 'waiting'", (drop_id,)).fetchall()}
    return _Committed(held, waiting)


# rows per multi-row INSERT: one statement binds every row at once (several times cheaper than
# executemany here), kept well under SQLite's 32,766 bound parameters
_ROWS = 2000


async def claim_batch(db: Database, requests: Sequence[tuple[int, int]], now: datetime) -> list[ClaimOutcome]:
    """Decide many claims in ONE transaction, in order (first come first served).

    Each claim is: take one unit of stock if any is left, and a free slot of the member's limit. The
    decisions are made under the write lock and then written with statements the database itself
    refuses to get wrong: the claim INSERT only succeeds if its slot is within the drop's limit and
    free (UNIQUE), and the stock UPDATE is conditional on enough remaining (and CHECK >= 0). If any of
    those disagrees with the plan the whole batch rolls back: nothing is half-granted. A crash before
    COMMIT loses the whole batch (nobody was told they got anything); after COMMIT it is all there.
    """
    if not requests:
        return []
    try:
        return await _claim_batch(db, requests, now)
    except (sqlite3.IntegrityError, StockInvariantBroken) as exc:
        # a plan made from a wrong in-memory state (something wrote claims without `forget`):
        # nothing was written; read the state again and plan once more
        log.warning("claim batch refused by the database (%s): re-reading holdings", exc)
        committed(db).clear()
        return await _claim_batch(db, requests, now)


async def _claim_batch(db: Database, requests: Sequence[tuple[int, int]], now: datetime) -> list[ClaimOutcome]:
    cache = committed(db)
    drop_ids = sorted({drop_id for drop_id, _ in requests})
    try:
        # the whole batch is one hand-off to the database thread: while it plans and writes, the
        # loop answers the previous batch's claimers
        outcomes, states, held, joined = await db.transact_in_thread(
            _plan_and_write, requests, drop_ids, cache, to_db_time(now))
    except BaseException:
        for drop_id in drop_ids:
            cache.pop(drop_id, None)
        raise
    # committed (no await between the COMMIT and here: nobody saw the lock free in between)
    for drop_id, state in states.items():
        cache[drop_id] = state
    for drop_id, mine in held.items():
        states[drop_id].held.update(mine)
    for drop_id, users in joined.items():
        states[drop_id].waiting |= users
    return outcomes


def _plan_and_write(conn: sqlite3.Connection, requests: Sequence[tuple[int, int]], drop_ids: list[int],
                    cache: dict[int, _Committed], stamp: str):
    """In the database thread, inside the transaction: decide every request in order from the
    committed state, then write. `cache` is only read here, and nothing changes it meanwhile: every
    change to it happens on the loop, inside a transaction (under the write lock this one holds) or
    straight after a claim batch's, as the loop does with this batch's changes after COMMIT."""
    drops = {r[0]: r for r in conn.execute(
        f"SELECT id, status, remaining, claim_limit, waitlist FROM drops WHERE id IN ({_marks(len(drop_ids))})",
        drop_ids).fetchall()}
    states = {drop_id: cache.get(drop_id) or _load(conn, drop_id) for drop_id in drops}
    # this batch's changes (member -> units held, who joined the waitlist), applied after COMMIT
    held: dict[int, dict[int, int]] = {drop_id: {} for drop_id in drops}
    joined: dict[int, set[int]] = {drop_id: set() for drop_id in drops}
    inserts: dict[int, list] = {drop_id: [] for drop_id in drops}
    joins: dict[int, list] = {drop_id: [] for drop_id in drops}
    remaining = {drop_id: row[2] for drop_id, row in drops.items()}

    outcomes: list[ClaimOutcome] = []
    add = outcomes.append
    shared = _OUTCOMES
    current = None
    for drop_id, user_id in requests:  # a burst is one drop: its facts are kept in locals
        if drop_id != current:
            if current in remaining:
                remaining[current] = left
            current = drop_id
            row = drops.get(drop_id)
            if row is None:
                add(shared["missing",])
                continue
            is_open, limit, wait = row[1] == "open", row[3], bool(row[4])
            before, waiting = states[drop_id].held, states[drop_id].waiting
            mine, newly, claim_rows, join_rows = held[drop_id], joined[drop_id], inserts[drop_id], joins[drop_id]
            left = remaining[drop_id]
        elif row is None:
            add(shared["missing",])
            continue
        has = mine.get(user_id)
        if has is None:
            has = before.get(user_id, 0)
        if not is_open:
            add(shared["closed", None, has])
        elif has >= limit:
            add(shared["limit", None, has])
        elif left <= 0:
            if wait and user_id not in waiting and user_id not in newly:
                newly.add(user_id)
                join_rows.append(user_id)
                add(shared["sold_out", None, has, wait])
            else:
                add(shared["sold_out", None, has, wait, wait])
        else:
            has += 1
            mine[user_id] = has
            left -= 1
            claim_rows.append((user_id, has))
            add(shared["granted", has, has])
    if current in remaining:
        remaining[current] = left

    for drop_id, rows in inserts.items():
        if not rows:
            continue
        inserted = 0
        for chunk in _chunks(rows, _ROWS):
            params: list = []
            for user_id, slot in chunk:
                params += (drop_id, user_id, slot, stamp)
            inserted += conn.execute(
                "INSERT INTO drop_claims (drop_id, user_id, slot, status, source, claimed_at)"
                " SELECT column1, column2, column3, 'claimed', 'claim', column4 FROM (VALUES "
                + ",".join(("(?, ?, ?, ?)",) * len(chunk))
                + ") WHERE column3 <= (SELECT claim_limit FROM drops WHERE id = column1)", params).rowcount
        if inserted != len(rows):
            raise StockInvariantBroken(f"{inserted} of {len(rows)} claims inserted")
        changed = conn.execute(
            "UPDATE drops SET remaining = remaining - ? WHERE id = ? AND status = 'open' AND remaining >= ?",
            (len(rows), drop_id, len(rows))).rowcount
        if changed != 1:
            raise StockInvariantBroken(f"stock of drop {drop_id} could not pay for {len(rows)} claims")
    for drop_id, users in joins.items():
        for chunk in _chunks(users, _ROWS):
            params = []
            for user_id in chunk:
                params += (drop_id, user_id, stamp)
            conn.execute(
                "INSERT INTO drop_waitlist (drop_id, user_id, status, joined_at) VALUES "
                + ",".join(("(?, ?, 'waiting', ?)",) * len(chunk))
                + " ON CONFLICT (drop_id, user_id) DO UPDATE SET status = 'waiting',"
                  " joined_at = excluded.joined_at WHERE drop_waitlist.status <> 'waiting'", params)
    return outcomes, states, held, joined


# --- release and the waitlist -----------------------------------------------------------------------

@dataclass(frozen=True)
class ReleaseOutcome:
    released_claim: int | None  # claim id released, None if the member held nothing
    promoted_user: int | None = None
    promoted_claim: int | None = None
    left_waitlist: bool = False


async def release(db: Database, drop_id: int, user_id: int, *, by: int, now: datetime,
                  promote: bool) -> ReleaseOutcome:
    """Give back one unit the member holds (their highest slot, so slots stay 1..n). In the same
    transaction the unit goes to the next member on the waitlist (when `promote`), or back to stock.
    A member holding nothing but waiting is taken off the waitlist instead."""
    stamp = to_db_time(now)
    async with db.transaction() as tx:
        forget(db, drop_id)
        claim = await tx.fetchone(
            "SELECT id FROM drop_claims WHERE drop_id = ? AND user_id = ? AND status = 'claimed'"
            " ORDER BY slot DESC LIMIT 1", (drop_id, user_id))
        if claim is None:
            left = await tx.execute("UPDATE drop_waitlist SET status = 'left' WHERE drop_id = ? AND user_id = ?"
                                    " AND status = 'waiting'", (drop_id, user_id))
            return ReleaseOutcome(None, left_waitlist=left == 1)
        await tx.execute("UPDATE drop_claims SET status = 'released', slot = NULL, released_at = ?, released_by = ?"
                         " WHERE id = ?", (stamp, by, claim["id"]))
        if promote:
            limit = await tx.fetchval("SELECT claim_limit FROM drops WHERE id = ?", (drop_id,))
            while True:
                nxt = await tx.fetchone("SELECT id, user_id FROM drop_waitlist WHERE drop_id = ? AND status = 'waiting'"
                                        " ORDER BY joined_at, id LIMIT 1", (drop_id,))
                if nxt is None:
                    break
                has = await tx.fetchval("SELECT COUNT(*) FROM drop_claims WHERE drop_id = ? AND user_id = ?"
                                        " AND status = 'claimed'", (drop_id, nxt["user_id"]))
                if has >= limit:  # got one another way meanwhile: not waiting any more
                    await tx.execute("UPDATE drop_waitlist SET status = 'left' WHERE id = ?", (nxt["id"],))
                    continue
                row = await tx.fetchone(
                    "INSERT INTO drop_claims (drop_id, user_id, slot, status, source, claimed_at)"
                    " VALUES (?, ?, ?, 'claimed', 'waitlist', ?) RETURNING id", (drop_id, nxt["user_id"], has + 1, stamp))
                await tx.execute("UPDATE drop_waitlist SET status = 'promoted' WHERE id = ?", (nxt["id"],))
                return ReleaseOutcome(claim["id"], nxt["user_id"], row["id"])
        changed = await tx.execute("UPDATE drops SET remaining = remaining + 1 WHERE id = ? AND remaining < stock",
                                   (drop_id,))
        if changed != 1:
            raise StockInvariantBroken(f"drop {drop_id}: released a unit but stock is already full")
        return ReleaseOutcome(claim["id"])


async def held_by(db: Database, drop_id: int, user_id: int) -> int:
    return int(await db.fetchval("SELECT COUNT(*) FROM drop_claims WHERE drop_id = ? AND user_id = ?"
                                 " AND status = 'claimed'", (drop_id, user_id)) or 0)


async def on_waitlist(db: Database, drop_id: int, user_id: int) -> bool:
    return await db.fetchone("SELECT 1 FROM drop_waitlist WHERE drop_id = ? AND user_id = ? AND status = 'waiting'",
                             (drop_id, user_id)) is not None


# --- raffles ----------------------------------------------------------------------------------------

async def add_entry(db: Database, drop_id: int, user_id: int, now: datetime) -> bool:
    """True for a new entry, False if the member had entered already."""
    async with db.transaction() as tx:
        row = await tx.fetchone("INSERT INTO drop_entries (drop_id, user_id, tickets, entered_at) VALUES (?, ?, 1, ?)"
                                " ON CONFLICT (drop_id, user_id) DO NOTHING RETURNING user_id",
                                (drop_id, user_id, to_db_time(now)))
        return row is not None


async def entries(db: Database, drop_id: int) -> list[tuple[int, int]]:
    """[(user_id, tickets)] ordered by user id: the order a draw uses."""
    rows = await db.fetchall("SELECT user_id, tickets FROM drop_entries WHERE drop_id = ? ORDER BY user_id",
                             (drop_id,))
    return [(r[0], r[1]) for r in rows]


async def entry_of(db: Database, drop_id: int, user_id: int) -> int:
    return int(await db.fetchval("SELECT tickets FROM drop_entries WHERE drop_id = ? AND user_id = ?",
                                 (drop_id, user_id)) or 0)


async def replace_entries(db: Database, drop_id: int, tickets: dict[int, int], now: datetime) -> None:
    """A campaign's entries, snapshotted from the participation ledger at the draw."""
    stamp = to_db_time(now)
    async with db.transaction() as tx:
        await tx.execute("DELETE FROM drop_entries WHERE drop_id = ?", (drop_id,))
        await tx.executemany("INSERT INTO drop_entries (drop_id, user_id, tickets, entered_at) VALUES (?, ?, ?, ?)",
                             [(drop_id, u, n, stamp) for u, n in sorted(tickets.items()) if n > 0])


async def ever_won(db: Database, drop_id: int) -> set[int]:
    rows = await db.fetchall("SELECT DISTINCT user_id FROM drop_claims WHERE drop_id = ?", (drop_id,))
    return {r[0] for r in rows}


async def record_draw(db: Database, *, drop_id: int, seed: str, prizes: int, entrants: list[tuple[int, int]],
                      excluded: list[int], winners: list[int], now: datetime, by: int | None) -> int:
    """Store the draw and give each winner a claim, paid from stock, in one transaction. Returns the round."""
    stamp = to_db_time(now)
    async with db.transaction() as tx:
        forget(db, drop_id)
        round_no = int(await tx.fetchval("SELECT COALESCE(MAX(round), 0) FROM drop_draws WHERE drop_id = ?",
                                         (drop_id,))) + 1
        await tx.execute(
            "INSERT INTO drop_draws (drop_id, round, seed, prizes, entrants, excluded, winners, drawn_at, drawn_by)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (drop_id, round_no, seed, prizes, json.dumps(entrants), json.dumps(sorted(excluded)), json.dumps(winners),
             stamp, by))
        if winners:
            await tx.executemany(
                "INSERT INTO drop_claims (drop_id, user_id, slot, status, source, claimed_at)"
                " VALUES (?, ?, 1, 'claimed', 'raffle', ?)", [(drop_id, u, stamp) for u in winners])
            changed = await tx.execute("UPDATE drops SET remaining = remaining - ? WHERE id = ? AND remaining >= ?",
                                       (len(winners), drop_id, len(winners)))
            if changed != 1:
                raise StockInvariantBroken(f"drop {drop_id}: {len(winners)} winners but not enough prizes left")
        return round_no


async def draws(db: Database, drop_id: int) -> list[dict]:
    rows = await db.fetchall("SELECT * FROM drop_draws WHERE drop_id = ? ORDER BY round", (drop_id,))
    out = []
    for r in rows:
        d = dict(r)
        d["entrants"] = [tuple(e) for e in json.loads(d["entrants"])]
        d["excluded"] = json.loads(d["excluded"])
        d["winners"] = json.loads(d["winners"])
        d["drawn_at"] = from_db_time(d["drawn_at"])
        out.append(d)
    return out


# --- codes and the DMs that carry them ----------------------------------------------------------------

async def assign_codes(db: Database, drop_id: int) -> int:
    """Give every held claim without a code the next free code. Returns how many were assigned."""
    async with db.transaction() as tx:
        claims = await tx.fetchall(
            "SELECT c.id FROM drop_claims c WHERE c.drop_id = ? AND c.status = 'claimed'"
            " AND NOT EXISTS (SELECT 1 FROM drop_codes k WHERE k.claim_id = c.id) ORDER BY c.id", (drop_id,))
        if not claims:
            return 0
        codes = await tx.fetchall("SELECT id FROM drop_codes WHERE drop_id = ? AND claim_id IS NULL ORDER BY id LIMIT ?",
                                  (drop_id, len(claims)))
        pairs = [(c["id"], k["id"]) for c, k in zip(claims, codes)]
        await tx.executemany("UPDATE drop_codes SET claim_id = ? WHERE id = ? AND claim_id IS NULL", pairs)
        return len(pairs)


async def dms_to_queue(db: Database, drop_id: int) -> list[dict]:
    """Held claims whose DM is not in the outbox yet, with their code (None if none assigned)."""
    rows = await db.fetchall(
        "SELECT c.id, c.user_id, c.source, k.code FROM drop_claims c LEFT JOIN drop_codes k ON k.claim_id = c.id"
        " WHERE c.drop_id = ? AND c.status = 'claimed' AND c.dm_queued = 0 ORDER BY c.id", (drop_id,))
    return [dict(r) for r in rows]


async def mark_dm_queued(db: Database, claim_ids: Sequence[int]) -> None:
    if not claim_ids:
        return
    async with db.transaction() as tx:
        await tx.executemany("UPDATE drop_claims SET dm_queued = 1 WHERE id = ?", [(i,) for i in claim_ids])


async def code_counts(db: Database, drop_id: int) -> dict[str, int]:
    row = await db.fetchone("SELECT COUNT(*), COUNT(claim_id) FROM drop_codes WHERE drop_id = ?", (drop_id,))
    return {"total": row[0], "assigned": row[1]}


# --- status and export ------------------------------------------------------------------------------

async def counts(db: Database, drop_id: int) -> dict[str, int]:
    claims = await db.fetchall("SELECT status, COUNT(*) FROM drop_claims WHERE drop_id = ? GROUP BY status", (drop_id,))
    waiting = await db.fetchval("SELECT COUNT(*) FROM drop_waitlist WHERE drop_id = ? AND status = 'waiting'",
                                (drop_id,))
    entrants = await db.fetchone("SELECT COUNT(*), COALESCE(SUM(tickets), 0) FROM drop_entries WHERE drop_id = ?",
                                 (drop_id,))
    by_status = {r[0]: r[1] for r in claims}
    return {"claimed": by_status.get("claimed", 0), "released": by_status.get("released", 0),
            "waiting": int(waiting or 0), "entrants": entrants[0], "tickets": entrants[1]}


async def claimed_without_code(db: Database, drop_id: int) -> int:
    return int(await db.fetchval(
        "SELECT COUNT(*) FROM drop_claims c WHERE c.drop_id = ? AND c.status = 'claimed'"
        " AND NOT EXISTS (SELECT 1 FROM drop_codes k WHERE k.claim_id = c.id)", (drop_id,)) or 0)


async def export_rows(db: Database, drop_id: int) -> list[dict]:
    rows = await db.fetchall(
        "SELECT c.id AS claim_id, c.user_id, c.source, c.status, c.slot, c.claimed_at, c.released_at, c.released_by,"
        " k.code FROM drop_claims c LEFT JOIN drop_codes k ON k.claim_id = c.id WHERE c.drop_id = ? ORDER BY c.id",
        (drop_id,))
    return [dict(r) for r in rows]


async def stock_check(db: Database, drop_id: int) -> dict[str, int]:
    """The invariant, read in one statement: stock, remaining, held, duplicate holders beyond the limit."""
    row = await db.fetchone(
        "SELECT d.stock, d.remaining, d.claim_limit,"
        " (SELECT COUNT(*) FROM drop_claims c WHERE c.drop_id = d.id AND c.status = 'claimed') AS held,"
        " (SELECT COUNT(*) FROM (SELECT user_id FROM drop_claims c WHERE c.drop_id = d.id AND c.status = 'claimed'"
        "   GROUP BY user_id HAVING COUNT(*) > d.claim_limit) AS over) AS over_limit"
        " FROM drops d WHERE d.id = ?", (drop_id,))
    return dict(row)


# --- campaigns: reading the participation ledger ----------------------------------------------------

async def ledger_counts(db: Database, guild_id: int, action: str, since: datetime, until: datetime) -> dict[int, int]:
    """Fallback when the participation service offers no `action_counts`: rows per member of one
    action in [since, until]. Reads the participation area's table (its owner writes it)."""
    rows = await db.fetchall(
        "SELECT user_id, COUNT(*) FROM participation_ledger WHERE guild_id = ? AND action = ? AND at >= ? AND at <= ?"
        " GROUP BY user_id", (guild_id, action, to_db_time(since), to_db_time(until)))
    return {r[0]: r[1] for r in rows}

