"""SQL for collab drops: runs, claims (first come, waitlist, raffle winners), codes, entries, draws.

Storage only: the rules (limits, windows, stock, the waitlist) are decided in bot/services/drops/,
the claim rules by its pure planner; this module reads state and writes what was decided, and holds
no state of its own. A *run* is one row of `drops` (one opening of a drops.yaml entry); its integer
id is `run_id` here and in the services (the tables, older, call that column `drop_id`).

The one rule that matters: `remaining + claims held = stock`, kept by doing every change of stock in
the same transaction as the claim rows it pays for, with the database refusing what would break it
(CHECK remaining >= 0, the conditional stock UPDATE, UNIQUE (drop, member, slot)).
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Sequence

from .connection import Database, from_db_time, to_db_time


# bound parameters per IN (...) list: SQLite >= 3.32 allows 32,766 and PostgreSQL 65,535. Few large
# statements matter more than small ones here: each statement is a hand-off to aiosqlite's thread.
_CHUNK = 5000


def _marks(n: int) -> str:
    return ",".join("?" * n)


def _chunks(items: Sequence, size: int = _CHUNK) -> Iterable[Sequence]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _run_row(row) -> dict | None:
    if row is None:
        return None
    d = dict(row)
    for key in ("opens_at", "closes_at", "opened_at", "closed_at"):
        d[key] = from_db_time(d[key])
    d["waitlist"] = bool(d["waitlist"])
    return d


class StockInvariantBroken(RuntimeError):
    """The database refused a write planned from a wrong state (a slot taken, too little stock):
    raised inside the transaction, which rolls back."""


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
            return _run_row(seen), "seen"
        busy = await tx.fetchone("SELECT * FROM drops WHERE guild_id = ? AND key = ? AND status = 'open'",
                                 (guild_id, key))
        if busy is not None:
            return _run_row(busy), "busy"
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
        return _run_row(row), "opened"


async def run(db: Database, run_id: int) -> dict | None:
    return _run_row(await db.fetchone("SELECT * FROM drops WHERE id = ?", (run_id,)))


async def latest_run(db: Database, guild_id: int, key: str) -> dict | None:
    return _run_row(await db.fetchone("SELECT * FROM drops WHERE guild_id = ? AND key = ? ORDER BY id DESC LIMIT 1",
                                   (guild_id, key)))


async def runs(db: Database, guild_id: int | None = None, *, status: str | None = None) -> list[dict]:
    sql, params = "SELECT * FROM drops WHERE 1 = 1", []
    if guild_id is not None:
        sql += " AND guild_id = ?"
        params.append(guild_id)
    if status is not None:
        sql += " AND status = ?"
        params.append(status)
    return [_run_row(r) for r in await db.fetchall(sql + " ORDER BY id", params)]


async def close_run(db: Database, run_id: int, now: datetime) -> bool:
    """True when this call closed it (False: it was closed already)."""
    return await db.execute("UPDATE drops SET status = 'closed', closed_at = ? WHERE id = ? AND status = 'open'",
                            (to_db_time(now), run_id)) == 1


# --- first come: the claim batch's reads and writes ------------------------------------------------
# The claim writer (bot/services/drops/_writer.py) runs one batch as ONE transaction in the database
# thread (`Database.transact_in_thread`): it reads the runs' facts and holdings with the functions
# below, lets the planner decide, and writes the plan with `write_grants` / `write_joins`. These take
# the plain `sqlite3.Connection` of that thread. The writes are statements the database itself
# refuses to get wrong: a claim row only goes in if its slot is within the run's limit and free
# (UNIQUE (drop, member, slot)), the stock only goes down if enough remains (and CHECK >= 0).

def claim_facts(conn: sqlite3.Connection, run_ids: Sequence[int]) -> dict[int, tuple[bool, int, int, bool]]:
    """run id -> (open, remaining, limit, waitlist) of the runs that exist."""
    rows = conn.execute(f"SELECT id, status, remaining, claim_limit, waitlist FROM drops WHERE id IN ({_marks(len(run_ids))})",
                        list(run_ids)).fetchall()
    return {r[0]: (r[1] == "open", r[2], r[3], bool(r[4])) for r in rows}


def holdings(conn: sqlite3.Connection, run_id: int) -> tuple[dict[int, int], set[int]]:
    """(member -> units held, members waiting) of one run, as committed."""
    held = dict(conn.execute(
        "SELECT user_id, COUNT(*) FROM drop_claims WHERE drop_id = ? AND status = 'claimed' GROUP BY user_id",
        (run_id,)).fetchall())
    waiting = {r[0] for r in conn.execute(
        "SELECT user_id FROM drop_waitlist WHERE drop_id = ? AND status = 'waiting'", (run_id,)).fetchall()}
    return held, waiting


# rows per multi-row INSERT: one statement binds every row at once (several times cheaper than
# executemany on the bench's burst), kept well under SQLite's 32,766 bound parameters
_ROWS = 2000


def write_grants(conn: sqlite3.Connection, run_id: int, grants: Sequence[tuple[int, int]], stamp: str) -> None:
    """Insert the claims (member, slot) and take their units from stock; raises StockInvariantBroken
    (the caller's transaction then rolls back) when the database disagrees with the plan."""
    if not grants:
        return
    inserted = 0
    try:
        for chunk in _chunks(grants, _ROWS):
            params: list = []
            for user_id, slot in chunk:
                params += (run_id, user_id, slot, stamp)
            inserted += conn.execute(
                "INSERT INTO drop_claims (drop_id, user_id, slot, status, source, claimed_at)"
                " SELECT column1, column2, column3, 'claimed', 'claim', column4 FROM (VALUES "
                + ",".join(("(?, ?, ?, ?)",) * len(chunk))
                + ") WHERE column3 <= (SELECT claim_limit FROM drops WHERE id = column1)", params).rowcount
    except sqlite3.IntegrityError as exc:  # a slot taken already: the plan was made from a wrong state
        raise StockInvariantBroken(f"run {run_id}: {exc}") from exc
    if inserted != len(grants):
        raise StockInvariantBroken(f"{inserted} of {len(grants)} claims inserted")
    changed = conn.execute(
        "UPDATE drops SET remaining = remaining - ? WHERE id = ? AND status = 'open' AND remaining >= ?",
        (len(grants), run_id, len(grants))).rowcount
    if changed != 1:
        raise StockInvariantBroken(f"stock of run {run_id} could not pay for {len(grants)} claims")


def write_joins(conn: sqlite3.Connection, run_id: int, users: Sequence[int], stamp: str) -> None:
    """Put members on the run's waitlist (again, if they had left it)."""
    for chunk in _chunks(users, _ROWS):
        params: list = []
        for user_id in chunk:
            params += (run_id, user_id, stamp)
        conn.execute(
            "INSERT INTO drop_waitlist (drop_id, user_id, status, joined_at) VALUES "
            + ",".join(("(?, ?, 'waiting', ?)",) * len(chunk))
            + " ON CONFLICT (drop_id, user_id) DO UPDATE SET status = 'waiting',"
              " joined_at = excluded.joined_at WHERE drop_waitlist.status <> 'waiting'", params)


# --- the same batch on PostgreSQL: the writes of a whole batch in ONE statement ---------------------
# Every round trip of a batch waits for a turn of the event loop, and in a burst a turn runs thousands
# of claims' first steps: so the batch's writes are one statement (atomic on its own: no BEGIN/COMMIT
# round trips), its rows bound as arrays (unnest). bench/bench_pg_claim_writes.py measured unnest
# against executemany and COPY (unnest fastest at every batch size). The caller holds the writer lock
# (`PgDatabase.connection()`), so what it read before is what this statement writes over.

_FACTS_PG = "SELECT id, status, remaining, claim_limit, waitlist FROM drops WHERE id = ANY($1::bigint[])"
_HELD_PG = ("SELECT user_id, COUNT(*) FROM drop_claims WHERE drop_id = $1 AND status = 'claimed'"
            " GROUP BY user_id")
_WAITING_PG = "SELECT user_id FROM drop_waitlist WHERE drop_id = $1 AND status = 'waiting'"
# The checks of write_grants, in the statement: a claim row only if its slot is within the run's limit
# (and free: UNIQUE), the stock only down if enough remains, a waitlist row only on an open run for a
# member not waiting already; when any falls short, the cast in the last line fails and the whole
# statement (every run of the batch) is undone: the writer reads the state again and plans once more.
_WRITE_BATCH_PG = """
WITH g AS (SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::int[]) AS g(run, u, s)),
ins AS (INSERT INTO drop_claims (drop_id, user_id, slot, status, source, claimed_at)
        SELECT g.run, g.u, g.s, 'claimed', 'claim', $4::text FROM g JOIN drops d ON d.id = g.run
        WHERE g.s <= d.claim_limit RETURNING 1),
paid AS (UPDATE drops d SET remaining = d.remaining - c.n
         FROM (SELECT run, COUNT(*) AS n FROM g GROUP BY run) c
         WHERE d.id = c.run AND d.status = 'open' AND d.remaining >= c.n RETURNING 1),
joined AS (INSERT INTO drop_waitlist (drop_id, user_id, status, joined_at)
           SELECT j.run, j.u, 'waiting', $4::text FROM unnest($5::bigint[], $6::bigint[]) AS j(run, u)
           JOIN drops d ON d.id = j.run WHERE d.status = 'open'
           ON CONFLICT (drop_id, user_id) DO UPDATE SET status = 'waiting', joined_at = excluded.joined_at
           WHERE drop_waitlist.status <> 'waiting' RETURNING 1)
SELECT CASE WHEN (SELECT COUNT(*) FROM ins) = cardinality($1::bigint[])
             AND (SELECT COUNT(*) FROM paid) = (SELECT COUNT(DISTINCT run) FROM g)
             AND (SELECT COUNT(*) FROM joined) = cardinality($5::bigint[])
       THEN 1
       ELSE CAST('plan refused: ' || (SELECT COUNT(*) FROM ins) || ' claims inserted, '
                 || (SELECT COUNT(*) FROM paid) || ' runs paid, ' || (SELECT COUNT(*) FROM joined)
                 || ' joined' AS BIGINT) END
"""


async def prepare_batch_pg(conn) -> None:
    """Run the batch statement once with no rows (it writes nothing and returns 1): asyncpg keeps it
    prepared on the connection, so a burst's first batch does not wait for it to be parsed and planned."""
    await conn.fetchval(_WRITE_BATCH_PG, [], [], [], "", [], [])


async def claim_facts_pg(conn, run_ids: Sequence[int]) -> dict[int, tuple[bool, int, int, bool]]:
    """claim_facts on the raw asyncpg connection."""
    return {r[0]: (r[1] == "open", r[2], r[3], bool(r[4])) for r in await conn.fetch(_FACTS_PG, list(run_ids))}


async def holdings_pg(conn, run_id: int) -> tuple[dict[int, int], set[int]]:
    held = {r[0]: r[1] for r in await conn.fetch(_HELD_PG, run_id)}
    return held, {r[0] for r in await conn.fetch(_WAITING_PG, run_id)}


async def write_batch_pg(conn, runs: dict, stamp: str) -> None:
    """Write every run's grants (member, slot) and joins of a batch's plan (run id -> RunPlan) in one
    statement; StockInvariantBroken (nothing written) when the database disagrees with the plan."""
    import asyncpg

    runs_g, users_g, slots_g, runs_j, users_j = [], [], [], [], []
    for run_id, writes in runs.items():
        for user_id, slot in writes.grants:
            runs_g.append(run_id)
            users_g.append(user_id)
            slots_g.append(slot)
        runs_j.extend([run_id] * len(writes.joins))
        users_j.extend(writes.joins)
    if not runs_g and not runs_j:
        return
    try:
        await conn.fetchval(_WRITE_BATCH_PG, runs_g, users_g, slots_g, stamp, runs_j, users_j)
    except (asyncpg.IntegrityConstraintViolationError, asyncpg.InvalidTextRepresentationError) as exc:
        raise StockInvariantBroken(f"claim batch refused: {exc}") from exc


# --- release and the waitlist -----------------------------------------------------------------------

@dataclass(frozen=True)
class ReleaseOutcome:
    released_claim: int | None  # claim id released, None if the member held nothing
    promoted_user: int | None = None
    promoted_claim: int | None = None
    left_waitlist: bool = False


async def release(db: Database, run_id: int, user_id: int, *, by: int, now: datetime,
                  promote: bool) -> ReleaseOutcome:
    """Give back one unit the member holds (their highest slot, so slots stay 1..n). In the same
    transaction the unit goes to the next member on the waitlist (when `promote`), or back to stock.
    A member holding nothing but waiting is taken off the waitlist instead."""
    stamp = to_db_time(now)
    async with db.transaction() as tx:
        claim = await tx.fetchone(
            "SELECT id FROM drop_claims WHERE drop_id = ? AND user_id = ? AND status = 'claimed'"
            " ORDER BY slot DESC LIMIT 1", (run_id, user_id))
        if claim is None:
            left = await tx.execute("UPDATE drop_waitlist SET status = 'left' WHERE drop_id = ? AND user_id = ?"
                                    " AND status = 'waiting'", (run_id, user_id))
            return ReleaseOutcome(None, left_waitlist=left == 1)
        await tx.execute("UPDATE drop_claims SET status = 'released', slot = NULL, released_at = ?, released_by = ?"
                         " WHERE id = ?", (stamp, by, claim["id"]))
        if promote:
            limit = await tx.fetchval("SELECT claim_limit FROM drops WHERE id = ?", (run_id,))
            while True:
                nxt = await tx.fetchone("SELECT id, user_id FROM drop_waitlist WHERE drop_id = ? AND status = 'waiting'"
                                        " ORDER BY joined_at, id LIMIT 1", (run_id,))
                if nxt is None:
                    break
                has = await tx.fetchval("SELECT COUNT(*) FROM drop_claims WHERE drop_id = ? AND user_id = ?"
                                        " AND status = 'claimed'", (run_id, nxt["user_id"]))
                if has >= limit:  # got one another way meanwhile: not waiting any more
                    await tx.execute("UPDATE drop_waitlist SET status = 'left' WHERE id = ?", (nxt["id"],))
                    continue
                row = await tx.fetchone(
                    "INSERT INTO drop_claims (drop_id, user_id, slot, status, source, claimed_at)"
                    " VALUES (?, ?, ?, 'claimed', 'waitlist', ?) RETURNING id", (run_id, nxt["user_id"], has + 1, stamp))
                await tx.execute("UPDATE drop_waitlist SET status = 'promoted' WHERE id = ?", (nxt["id"],))
                return ReleaseOutcome(claim["id"], nxt["user_id"], row["id"])
        changed = await tx.execute("UPDATE drops SET remaining = remaining + 1 WHERE id = ? AND remaining < stock",
                                   (run_id,))
        if changed != 1:
            raise StockInvariantBroken(f"run {run_id}: released a unit but stock is already full")
        return ReleaseOutcome(claim["id"])


# --- raffles ----------------------------------------------------------------------------------------

async def add_entry(db: Database, run_id: int, user_id: int, now: datetime) -> bool:
    """True for a new entry, False if the member had entered already."""
    async with db.transaction() as tx:
        row = await tx.fetchone("INSERT INTO drop_entries (drop_id, user_id, tickets, entered_at) VALUES (?, ?, 1, ?)"
                                " ON CONFLICT (drop_id, user_id) DO NOTHING RETURNING user_id",
                                (run_id, user_id, to_db_time(now)))
        return row is not None


async def entries(db: Database, run_id: int) -> list[tuple[int, int]]:
    """[(user_id, tickets)] ordered by user id: the order a draw uses."""
    rows = await db.fetchall("SELECT user_id, tickets FROM drop_entries WHERE drop_id = ? ORDER BY user_id",
                             (run_id,))
    return [(r[0], r[1]) for r in rows]


async def replace_entries(db: Database, run_id: int, tickets: dict[int, int], now: datetime) -> None:
    """A campaign's entries, snapshotted from the participation ledger at the draw."""
    stamp = to_db_time(now)
    async with db.transaction() as tx:
        await tx.execute("DELETE FROM drop_entries WHERE drop_id = ?", (run_id,))
        await tx.executemany("INSERT INTO drop_entries (drop_id, user_id, tickets, entered_at) VALUES (?, ?, ?, ?)",
                             [(run_id, u, n, stamp) for u, n in sorted(tickets.items()) if n > 0])


async def ever_won(db: Database, run_id: int) -> set[int]:
    rows = await db.fetchall("SELECT DISTINCT user_id FROM drop_claims WHERE drop_id = ?", (run_id,))
    return {r[0] for r in rows}


async def record_draw(db: Database, *, run_id: int, seed: str, prizes: int, entrants: list[tuple[int, int]],
                      excluded: list[int], winners: list[int], now: datetime, by: int | None) -> int:
    """Store the draw and give each winner a claim, paid from stock, in one transaction. Returns the round."""
    stamp = to_db_time(now)
    async with db.transaction() as tx:
        round_no = int(await tx.fetchval("SELECT COALESCE(MAX(round), 0) FROM drop_draws WHERE drop_id = ?",
                                         (run_id,))) + 1
        await tx.execute(
            "INSERT INTO drop_draws (drop_id, round, seed, prizes, entrants, excluded, winners, drawn_at, drawn_by)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, round_no, seed, prizes, json.dumps(entrants), json.dumps(sorted(excluded)), json.dumps(winners),
             stamp, by))
        if winners:
            await tx.executemany(
                "INSERT INTO drop_claims (drop_id, user_id, slot, status, source, claimed_at)"
                " VALUES (?, ?, 1, 'claimed', 'raffle', ?)", [(run_id, u, stamp) for u in winners])
            changed = await tx.execute("UPDATE drops SET remaining = remaining - ? WHERE id = ? AND remaining >= ?",
                                       (len(winners), run_id, len(winners)))
            if changed != 1:
                raise StockInvariantBroken(f"run {run_id}: {len(winners)} winners but not enough prizes left")
        return round_no


async def draws(db: Database, run_id: int) -> list[dict]:
    rows = await db.fetchall("SELECT * FROM drop_draws WHERE drop_id = ? ORDER BY round", (run_id,))
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

async def assign_codes(db: Database, run_id: int) -> int:
    """Give every held claim without a code the next free code. Returns how many were assigned."""
    async with db.transaction() as tx:
        claims = await tx.fetchall(
            "SELECT c.id FROM drop_claims c WHERE c.drop_id = ? AND c.status = 'claimed'"
            " AND NOT EXISTS (SELECT 1 FROM drop_codes k WHERE k.claim_id = c.id) ORDER BY c.id", (run_id,))
        if not claims:
            return 0
        codes = await tx.fetchall("SELECT id FROM drop_codes WHERE drop_id = ? AND claim_id IS NULL ORDER BY id LIMIT ?",
                                  (run_id, len(claims)))
        pairs = [(c["id"], k["id"]) for c, k in zip(claims, codes)]
        await tx.executemany("UPDATE drop_codes SET claim_id = ? WHERE id = ? AND claim_id IS NULL", pairs)
        return len(pairs)


async def dms_to_queue(db: Database, run_id: int) -> list[dict]:
    """Held claims whose DM is not in the outbox yet, with their code (None if none assigned)."""
    rows = await db.fetchall(
        "SELECT c.id, c.user_id, c.source, k.code FROM drop_claims c LEFT JOIN drop_codes k ON k.claim_id = c.id"
        " WHERE c.drop_id = ? AND c.status = 'claimed' AND c.dm_queued = 0 ORDER BY c.id", (run_id,))
    return [dict(r) for r in rows]


async def mark_dm_queued(db: Database, claim_ids: Sequence[int]) -> None:
    if not claim_ids:
        return
    async with db.transaction() as tx:
        await tx.executemany("UPDATE drop_claims SET dm_queued = 1 WHERE id = ?", [(i,) for i in claim_ids])


async def code_counts(db: Database, run_id: int) -> dict[str, int]:
    row = await db.fetchone("SELECT COUNT(*), COUNT(claim_id) FROM drop_codes WHERE drop_id = ?", (run_id,))
    return {"total": row[0], "assigned": row[1]}


# --- status and export ------------------------------------------------------------------------------

async def counts(db: Database, run_id: int) -> dict[str, int]:
    claims = await db.fetchall("SELECT status, COUNT(*) FROM drop_claims WHERE drop_id = ? GROUP BY status", (run_id,))
    waiting = await db.fetchval("SELECT COUNT(*) FROM drop_waitlist WHERE drop_id = ? AND status = 'waiting'",
                                (run_id,))
    entrants = await db.fetchone("SELECT COUNT(*), COALESCE(SUM(tickets), 0) FROM drop_entries WHERE drop_id = ?",
                                 (run_id,))
    by_status = {r[0]: r[1] for r in claims}
    return {"claimed": by_status.get("claimed", 0), "released": by_status.get("released", 0),
            "waiting": int(waiting or 0), "entrants": entrants[0], "tickets": entrants[1]}


async def claimed_without_code(db: Database, run_id: int) -> int:
    return int(await db.fetchval(
        "SELECT COUNT(*) FROM drop_claims c WHERE c.drop_id = ? AND c.status = 'claimed'"
        " AND NOT EXISTS (SELECT 1 FROM drop_codes k WHERE k.claim_id = c.id)", (run_id,)) or 0)


async def export_rows(db: Database, run_id: int) -> list[dict]:
    rows = await db.fetchall(
        "SELECT c.id AS claim_id, c.user_id, c.source, c.status, c.slot, c.claimed_at, c.released_at, c.released_by,"
        " k.code FROM drop_claims c LEFT JOIN drop_codes k ON k.claim_id = c.id WHERE c.drop_id = ? ORDER BY c.id",
        (run_id,))
    return [dict(r) for r in rows]


async def stock_check(db: Database, run_id: int) -> dict[str, int]:
    """The invariant, read in one statement: stock, remaining, held, duplicate holders beyond the limit."""
    row = await db.fetchone(
        "SELECT d.stock, d.remaining, d.claim_limit,"
        " (SELECT COUNT(*) FROM drop_claims c WHERE c.drop_id = d.id AND c.status = 'claimed') AS held,"
        " (SELECT COUNT(*) FROM (SELECT user_id FROM drop_claims c WHERE c.drop_id = d.id AND c.status = 'claimed'"
        "   GROUP BY user_id HAVING COUNT(*) > d.claim_limit) AS over) AS over_limit"
        " FROM drops d WHERE d.id = ?", (run_id,))
    return dict(row)


async def claims_per_minute(db: Database, run_id: int, limit: int = 60) -> list[tuple[datetime, int]]:
    """Held-or-released claims of a run per minute (UTC), the last `limit` minutes with any."""
    rows = await db.fetchall(
        "SELECT substr(claimed_at, 1, 16) AS minute, COUNT(*) FROM drop_claims WHERE drop_id = ?"
        " GROUP BY minute ORDER BY minute DESC LIMIT ?", (run_id, limit))
    return [(from_db_time(f"{r[0]}:00.000000Z"), r[1]) for r in reversed(rows)]


async def holders(db: Database, run_id: int, limit: int = 200) -> list[int]:
    rows = await db.fetchall("SELECT user_id FROM drop_claims WHERE drop_id = ? AND status = 'claimed'"
                             " ORDER BY claimed_at, id LIMIT ?", (run_id, limit))
    return [int(r[0]) for r in rows]
