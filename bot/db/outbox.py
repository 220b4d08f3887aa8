"""SQL for the outbox: messages the bot sends later, exactly once, paced.

A row is 'pending' until it is claimed ('sending') just before it goes out, then 'sent', 'failed'
(permanent), or 'unknown' (interrupted and the bot could not tell whether it went out). Rows are
claimed one at a time, so a crash leaves at most the ones actually in flight as 'sending'.
"""
from __future__ import annotations

from datetime import datetime

from .connection import Database, Tx, from_db_time, to_db_time
from .leader import Fenced

_ROW = "id, dedupe_key, guild_id, target_kind, target, payload, attempts, claimed_at, created_at"
_CLAIM = ("UPDATE outbox SET status = 'sending', attempts = attempts + 1, claimed_at = COALESCE(claimed_at, ?)"
          f" WHERE id = ? AND status = 'pending' RETURNING {_ROW}")
_SENT = "UPDATE outbox SET status = 'sent', sent_at = ?, message_id = ?, error = NULL WHERE id = ?"
# A leader's claim on PostgreSQL (bot/db/leader.py Fence): the row is claimed only while the community's
# leader term is still the claiming process's own, and the statement returns the term it found (one row
# always), so a deposed leader learns it from the claim itself, with no round trip of its own.
_FENCED_CLAIM = (
    "WITH fence AS (SELECT term FROM leader_term WHERE slot = 1),"
    " claimed AS (UPDATE outbox SET status = 'sending', attempts = attempts + 1,"
    " claimed_at = COALESCE(claimed_at, ?), claimed_term = ? WHERE id = ? AND status = 'pending'"
    f" AND (SELECT term FROM fence) = ? RETURNING {_ROW})"
    " SELECT (SELECT term FROM fence) AS fence_term, claimed.* FROM (SELECT 1 AS one) AS one"
    " LEFT JOIN claimed ON TRUE"
)


async def enqueue(db: Database, *, dedupe_key: str, guild_id: int, target_kind: str, target: str,
                  payload: str, not_before: datetime, now: datetime) -> int | None:
    """Insert once per dedupe key; returns the new id, or None when the key was already queued."""
    async with db.transaction() as tx:
        return await enqueue_in(tx, dedupe_key=dedupe_key, guild_id=guild_id, target_kind=target_kind,
                                target=target, payload=payload, not_before=not_before, now=now)


async def enqueue_in(tx: Tx, *, dedupe_key: str, guild_id: int, target_kind: str, target: str, payload: str,
                     not_before: datetime, now: datetime) -> int | None:
    """`enqueue` inside the caller's transaction (e.g. together with a ledger claim)."""
    rows = await tx.fetchall(  # one round trip to aiosqlite's thread (tx.fetchone takes three)
        "INSERT INTO outbox (dedupe_key, guild_id, target_kind, target, payload, not_before, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
        (dedupe_key, guild_id, target_kind, target, payload, to_db_time(not_before), to_db_time(now)),
    )
    return rows[0][0] if rows else None


async def due(db: Database, now: datetime, limit: int) -> list[dict]:
    """Up to `limit` pending rows that are due, in queue order. Nothing is marked: see `claim`."""
    rows = await db.fetchall(
        f"SELECT {_ROW} FROM outbox WHERE status = 'pending' AND not_before <= ? ORDER BY not_before, id LIMIT ?",
        (to_db_time(now), limit),
    )
    return [dict(r) for r in rows]


async def claim(db: Database, outbox_id: int, now: datetime) -> dict | None:
    """Mark one pending row 'sending' just before it goes out (counting an attempt and keeping the time
    of the first one). None when it is no longer pending."""
    async with db.transaction() as tx:
        rows = await tx.fetchall(
            "UPDATE outbox SET status = 'sending', attempts = attempts + 1, claimed_at = COALESCE(claimed_at, ?)"
            f" WHERE id = ? AND status = 'pending' RETURNING {_ROW}",
            (to_db_time(now), outbox_id),
        )
    return dict(zip(_ROW.split(", "), rows[0])) if rows else None


def _journal_in_thread(conn, ops: list[tuple], stamp: str) -> list[dict | None]:
    results: list[dict | None] = []
    for op in ops:
        if op[0] == "claim":
            found = conn.execute(_CLAIM, (stamp, op[1])).fetchone()
            results.append(dict(zip(_ROW.split(", "), found)) if found is not None else None)
        else:  # ("sent", outbox_id, message_id)
            conn.execute(_SENT, (stamp, op[2], op[1]))
            results.append(None)
    return results


async def journal(db: Database, ops: list[tuple], now: datetime, *, term: int | None = None) -> list[dict | None]:
    """Several claims (("claim", id) -> the claimed row or None, as `claim`) and sent marks
    (("sent", id, message_id), as `mark_sent`) in ONE transaction, in order: the outbox commits what
    its parallel senders need at the same moment together (a group commit; bench/bench_schedules.py
    measures it).

    `term` (PostgreSQL, a leader's outbox): claim only while the community's leader term is this one
    (in the claim statement itself). If another term is found, no row is claimed, the sent marks are
    committed all the same (those messages did go out) and `Fenced` is raised after the commit."""
    stamp = to_db_time(now)
    if db.dialect == "sqlite":  # the whole journal in one hand-off to the database thread
        assert term is None, "SQLite has one process per database: nothing to fence"
        return await db.transact_in_thread(_journal_in_thread, ops, stamp)
    results: list[dict | None] = []
    seen: list = []  # the terms found by fenced claims that were not ours
    async with db.transaction() as tx:
        for op in ops:
            if op[0] == "claim":
                if term is None:
                    found = await tx.fetchone(_CLAIM, (stamp, op[1]))
                else:
                    fenced = await tx.fetchone(_FENCED_CLAIM, (stamp, term, op[1], term))
                    if fenced[0] != term:
                        seen.append(fenced[0])
                        results.append(None)
                        continue
                    found = None if fenced[1] is None else tuple(fenced)[1:]
                results.append(dict(zip(_ROW.split(", "), found)) if found is not None else None)
            else:
                await tx.execute(_SENT, (stamp, op[2], op[1]))
                results.append(None)
    if seen:
        raise Fenced(f"the leader term is {seen[0]}, not {term}: claimed nothing", term=term, seen=seen[0])
    return results


async def claim_due(db: Database, now: datetime, limit: int) -> list[dict]:
    """Claim up to `limit` due rows at once. The outbox never does this (it claims one row just before
    sending it); tests use it to leave rows 'sending' as a process killed mid-send would."""
    out = []
    for row in await due(db, now, limit):
        claimed = await claim(db, row["id"], now)
        if claimed is not None:
            out.append(claimed)
    return out


async def mark_sent(db: Database, outbox_id: int, message_id: int | None, now: datetime) -> None:
    await db.execute(
        "UPDATE outbox SET status = 'sent', sent_at = ?, message_id = ?, error = NULL WHERE id = ?",
        (to_db_time(now), message_id, outbox_id),
    )


async def by_key(db: Database, dedupe_key: str) -> dict | None:
    """The row queued under `dedupe_key` (what a replacing message edits), or None."""
    row = await db.fetchone("SELECT id, status, target_kind, target, payload, message_id, not_before FROM outbox"
                            " WHERE dedupe_key = ?", (dedupe_key,))
    if row is None:
        return None
    return dict(row) | {"not_before": from_db_time(row["not_before"])}


async def mark_failed(db: Database, outbox_id: int, error: str, failure: str | None = None) -> None:
    await db.execute("UPDATE outbox SET status = 'failed', error = ?, failure = ? WHERE id = ?",
                     (error, failure, outbox_id))


async def mark_unknown(db: Database, outbox_id: int, error: str) -> None:
    """Interrupted, and the bot cannot tell whether it went out: never sent again by itself."""
    await db.execute("UPDATE outbox SET status = 'unknown', error = ? WHERE id = ?", (error, outbox_id))


async def retry_later(db: Database, outbox_id: int, error: str, not_before: datetime, *,
                      count_attempt: bool = True) -> None:
    """Back to 'pending' until `not_before`. Without `count_attempt` (a rate limit: Discord did not take
    it) the attempt does not count towards giving up."""
    attempts = "attempts" if count_attempt else "attempts - 1"
    await db.execute(
        f"UPDATE outbox SET status = 'pending', error = ?, not_before = ?, attempts = {attempts} WHERE id = ?",
        (error, to_db_time(not_before), outbox_id),
    )


async def defer(db: Database, outbox_ids: list[int], not_before: datetime) -> None:
    """Hold pending rows until `not_before` (pacing or a rate limit, not a failure)."""
    if not outbox_ids:
        return
    marks = ",".join("?" * len(outbox_ids))
    await db.execute(
        f"UPDATE outbox SET not_before = ? WHERE status = 'pending' AND id IN ({marks})",
        [to_db_time(not_before), *outbox_ids],
    )


async def recover_interrupted(db: Database) -> list[dict]:
    """Rows a crash left 'sending' go back to 'pending'. Their attempt count shows they were tried, so
    the outbox makes sure they did not go out before sending them again (nonce, or a look in the
    channel). Returns them."""
    async with db.transaction() as tx:
        rows = await tx.fetchall("SELECT id, dedupe_key, target_kind, target FROM outbox WHERE status = 'sending'")
        if rows:
            await tx.execute("UPDATE outbox SET status = 'pending' WHERE status = 'sending'")
    return [dict(r) for r in rows]


async def recover_orphans(db: Database, term: int) -> list[dict]:
    """Rows still 'sending' under a leader term older than `term` go back to 'pending' (PostgreSQL
    replicas): a deposed leader claimed them and committed after its successor's start-up recovery;
    it will never send them (its fence stops it). Like `recover_interrupted`, their attempt count
    makes the outbox check they did not go out before sending them. Returns them."""
    rows = await db.fetchall(
        "UPDATE outbox SET status = 'pending' WHERE status = 'sending' AND claimed_term < ?"
        " RETURNING id, dedupe_key, target_kind, target", (term,))
    return [dict(r) for r in rows]


async def sent_message_ids(db: Database, guild_id: int, target_kind: str, target: str,
                           since: datetime) -> set[int]:
    """Message ids other rows recorded for this target since `since` (not to be mistaken for one
    whose fate is being checked)."""
    rows = await db.fetchall(
        "SELECT message_id FROM outbox WHERE guild_id = ? AND target_kind = ? AND target = ? AND status = 'sent'"
        " AND sent_at >= ? AND message_id IS NOT NULL",
        (guild_id, target_kind, target, to_db_time(since)),
    )
    return {int(r[0]) for r in rows}


async def status_counts(db: Database, key_prefix: str) -> dict[str, int]:
    rows = await db.fetchall(
        "SELECT status, COUNT(*) FROM outbox WHERE dedupe_key LIKE ? GROUP BY status", (key_prefix + "%",)
    )
    return {r[0]: r[1] for r in rows}


async def failed_with_prefix(db: Database, key_prefix: str) -> list[dict]:
    rows = await db.fetchall(
        "SELECT id, dedupe_key, target_kind, target, error FROM outbox WHERE dedupe_key LIKE ? AND status = 'failed'"
        " ORDER BY id",
        (key_prefix + "%",),
    )
    return [dict(r) for r in rows]
