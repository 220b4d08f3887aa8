"""SQL for the outbox: messages the bot sends later, exactly once, paced."""
from __future__ import annotations

import json
from datetime import datetime

from .connection import Database, Tx, from_db_time, to_db_time


async def enqueue(db: Database, *, dedupe_key: str, guild_id: int, target_kind: str, target: str,
                  payload: str, not_before: datetime, now: datetime) -> int | None:
    """Insert once per dedupe key; returns the new id, or None when the key was already queued."""
    async with db.transaction() as tx:
        return await enqueue_in(tx, dedupe_key=dedupe_key, guild_id=guild_id, target_kind=target_kind,
                                target=target, payload=payload, not_before=not_before, now=now)


async def enqueue_in(tx: Tx, *, dedupe_key: str, guild_id: int, target_kind: str, target: str, payload: str,
                     not_before: datetime, now: datetime) -> int | None:
    """`enqueue` inside the caller's transaction (e.g. together with a ledger claim)."""
    rows = await tx.conn.execute_fetchall(  # one round trip to aiosqlite's thread (tx.fetchone takes three)
        "INSERT INTO outbox (dedupe_key, guild_id, target_kind, target, payload, not_before, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
        (dedupe_key, guild_id, target_kind, target, payload, to_db_time(not_before), to_db_time(now)),
    )
    return rows[0][0] if rows else None


async def claim_due(db: Database, now: datetime, limit: int) -> list[dict]:
    """Mark up to `limit` due rows as 'sending' and return them (one writer, so no two workers share)."""
    async with db.transaction() as tx:
        rows = await tx.conn.execute_fetchall(
            "SELECT id, dedupe_key, guild_id, target_kind, target, payload, attempts FROM outbox"
            " WHERE status = 'pending' AND not_before <= ? ORDER BY not_before, id LIMIT ?",
            (to_db_time(now), limit),
        )
        if rows:
            marks = ",".join("?" * len(rows))
            await tx.execute(
                f"UPDATE outbox SET status = 'sending', attempts = attempts + 1 WHERE id IN ({marks})",
                [r["id"] for r in rows],
            )
        return [dict(r) for r in rows]


async def mark_sent(db: Database, outbox_id: int, message_id: int | None, now: datetime) -> None:
    await db.execute(
        "UPDATE outbox SET status = 'sent', sent_at = ?, message_id = ?, error = NULL WHERE id = ?",
        (to_db_time(now), message_id, outbox_id),
    )


async def mark_sent_many(db: Database, sent: list[tuple[int, int | None]], now: datetime) -> None:
    """Mark a batch sent in one transaction: [(outbox_id, message_id), ...]."""
    if not sent:
        return
    stamp = to_db_time(now)
    async with db.transaction() as tx:
        await tx.executemany(
            "UPDATE outbox SET status = 'sent', sent_at = ?, message_id = ?, error = NULL WHERE id = ?",
            [(stamp, message_id, outbox_id) for outbox_id, message_id in sent],
        )


async def by_key(db: Database, dedupe_key: str) -> dict | None:
    """The row queued under `dedupe_key` (what a replacing message edits), or None."""
    row = await db.fetchone("SELECT id, status, target_kind, target, payload, message_id, not_before FROM outbox"
                            " WHERE dedupe_key = ?", (dedupe_key,))
    if row is None:
        return None
    return dict(row) | {"not_before": from_db_time(row["not_before"])}


async def mark_failed(db: Database, outbox_id: int, error: str) -> None:
    await db.execute("UPDATE outbox SET status = 'failed', error = ? WHERE id = ?", (error, outbox_id))


async def retry_later(db: Database, outbox_id: int, error: str, not_before: datetime) -> None:
    await db.execute(
        "UPDATE outbox SET status = 'pending', error = ?, not_before = ? WHERE id = ?",
        (error, to_db_time(not_before), outbox_id),
    )


async def defer(db: Database, outbox_ids: list[int], not_before: datetime) -> None:
    """Put claimed rows back for later without counting an attempt (pacing, not a failure)."""
    if not outbox_ids:
        return
    marks = ",".join("?" * len(outbox_ids))
    await db.execute(
        f"UPDATE outbox SET status = 'pending', attempts = attempts - 1, not_before = ? WHERE id IN ({marks})",
        [to_db_time(not_before), *outbox_ids],
    )


async def recover_interrupted(db: Database) -> list[dict]:
    """Rows left 'sending' by a crash. DMs are re-queued (the same text to the same person), and so
    are edits of an earlier message (editing twice changes nothing); channel posts are marked
    'unknown' and returned so moderators can be told: never post twice."""
    async with db.transaction() as tx:
        rows = await tx.fetchall(
            "SELECT id, dedupe_key, target_kind, target, payload FROM outbox WHERE status = 'sending'")
        again = [r["id"] for r in rows if _safe_to_send_again(r)]
        unknown = [r for r in rows if r["id"] not in again]
        for ids, sql in ((again, "UPDATE outbox SET status = 'pending' WHERE id IN ({})"),
                         ([r["id"] for r in unknown],
                          "UPDATE outbox SET status = 'unknown', error = 'interrupted while sending' WHERE id IN ({})")):
            if ids:
                await tx.execute(sql.format(",".join("?" * len(ids))), ids)
    return [{k: r[k] for k in ("id", "dedupe_key", "target_kind", "target")} for r in unknown]


def _safe_to_send_again(row) -> bool:
    if row["target_kind"] == "dm":
        return True
    try:
        return bool(json.loads(row["payload"]).get("replaces"))
    except ValueError:
        return False


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
