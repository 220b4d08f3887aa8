"""SQL for feedback: items, status history, upvotes and reactions on announcements."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from .connection import Database, Tx, from_db_time, to_db_time

_ITEM_COLUMNS = (
    "i.id, i.guild_id, i.author_id, i.category, i.title, i.text, i.anonymous, i.status, i.status_reason,"
    " i.flagged, i.flag_reasons, i.source_url, i.post_channel_id, i.post_message_id, i.queue_channel_id,"
    " i.queue_message_id, i.created_at, i.updated_at,"
    " (SELECT COUNT(*) FROM feedback_upvotes u WHERE u.item_id = i.id) AS upvotes"
)


def _item(row) -> dict[str, Any]:
    out = dict(row)
    out["anonymous"] = bool(out["anonymous"])
    out["flagged"] = bool(out["flagged"])
    out["created_at"] = from_db_time(out["created_at"])
    out["updated_at"] = from_db_time(out["updated_at"])
    out["attachments"] = tuple(json.loads(out.get("attachments") or "[]"))
    return out


_ITEM_COLUMNS += ", i.attachments"  # the screenshots kept with an item (0017), decoded by _item


async def set_attachments(tx: Tx, item_id: int, attachments: list[dict[str, Any]]) -> None:
    """Keep the uploaded files' metadata with the item (inside the submission's transaction)."""
    await tx.execute("UPDATE feedback_items SET attachments = ? WHERE id = ?",
                     (json.dumps(attachments, ensure_ascii=False), item_id))


async def insert_item_within_limit(tx: Tx, *, guild_id: int, author_id: int, category: str, title: str,
                                   text: str, anonymous: bool, flagged: bool, flag_reasons: str,
                                   source_url: str | None, now: datetime, window_start: datetime,
                                   limit: int) -> tuple[dict[str, Any] | None, list[datetime]]:
    """Insert unless the author already sent `limit` items since `window_start`, inside the caller's
    transaction (so two quick submissions cannot both slip through, and the caller queues the item's
    posts in the same transaction). Returns (the new item or None, the creation times inside the
    window, oldest first)."""
    rows = await tx.fetchall(
        "SELECT created_at FROM feedback_items WHERE guild_id = ? AND author_id = ? AND created_at > ?"
        " ORDER BY created_at",
        (guild_id, author_id, to_db_time(window_start)),
    )
    recent = [from_db_time(r[0]) for r in rows]
    if len(recent) >= limit:
        return None, recent
    row = await tx.fetchone(
        "INSERT INTO feedback_items (guild_id, author_id, category, title, text, anonymous, flagged,"
        " flag_reasons, source_url, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (guild_id, author_id, category, title, text, int(anonymous), int(flagged), flag_reasons, source_url,
         to_db_time(now), to_db_time(now)),
    )
    item = await tx.fetchone(f"SELECT {_ITEM_COLUMNS} FROM feedback_items i WHERE i.id = ?", (row[0],))
    return _item(item), recent


async def items_missing_posts(db: Database, *, post_prefix: str, queue_prefix: str) -> list[dict[str, Any]]:
    """Items whose public post (or, when flagged, mod-queue copy) was never queued: the outbox has no
    row under `<prefix><id>` (rows an older version left when it died between the two)."""
    rows = await db.fetchall(
        f"SELECT {_ITEM_COLUMNS} FROM feedback_items i"
        " WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.dedupe_key = CAST(? AS TEXT) || CAST(i.id AS TEXT))"
        " OR (i.flagged = 1 AND NOT EXISTS"
        " (SELECT 1 FROM outbox o WHERE o.dedupe_key = CAST(? AS TEXT) || CAST(i.id AS TEXT)))"
        " ORDER BY i.id",
        (post_prefix, queue_prefix),
    )
    return [_item(r) for r in rows]


async def get_item(db: Database | Tx, item_id: int) -> dict[str, Any] | None:
    row = await db.fetchone(f"SELECT {_ITEM_COLUMNS} FROM feedback_items i WHERE i.id = ?", (item_id,))
    return None if row is None else _item(row)


async def items_by_author(db: Database, guild_id: int, author_id: int, limit: int) -> list[dict[str, Any]]:
    rows = await db.fetchall(
        f"SELECT {_ITEM_COLUMNS} FROM feedback_items i WHERE i.guild_id = ? AND i.author_id = ?"
        " ORDER BY i.id DESC LIMIT ?",
        (guild_id, author_id, limit),
    )
    return [_item(r) for r in rows]


async def change_status(tx: Tx, *, item_id: int, new_status: str, actor_id: int, reason: str | None,
                        now: datetime) -> str | None:
    """Set the status and record the change, inside the caller's transaction (which queues the member's
    DM with it). Returns the old status, or None if it already had it."""
    old = await tx.fetchval("SELECT status FROM feedback_items WHERE id = ?", (item_id,))
    if old is None or old == new_status:
        return None
    await tx.execute(
        "UPDATE feedback_items SET status = ?, status_reason = ?, updated_at = ? WHERE id = ?",
        (new_status, reason, to_db_time(now), item_id),
    )
    await tx.execute(
        "INSERT INTO feedback_status_changes (item_id, old_status, new_status, actor_id, reason, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (item_id, old, new_status, actor_id, reason, to_db_time(now)),
    )
    return old


async def status_history(db: Database, item_id: int) -> list[dict[str, Any]]:
    rows = await db.fetchall(
        "SELECT old_status, new_status, actor_id, reason, created_at FROM feedback_status_changes"
        " WHERE item_id = ? ORDER BY id",
        (item_id,),
    )
    return [dict(r) | {"created_at": from_db_time(r["created_at"])} for r in rows]


async def add_upvote(db: Database, item_id: int, user_id: int, now: datetime) -> bool:
    async with db.transaction() as tx:
        row = await tx.fetchone(
            "INSERT INTO feedback_upvotes (item_id, user_id, created_at) VALUES (?, ?, ?)"
            " ON CONFLICT (item_id, user_id) DO NOTHING RETURNING item_id",
            (item_id, user_id, to_db_time(now)),
        )
        return row is not None


async def upvote_count(db: Database, item_id: int) -> int:
    return await db.fetchval("SELECT COUNT(*) FROM feedback_upvotes WHERE item_id = ?", (item_id,))


async def set_post(db: Database | Tx, item_id: int, *, queue: bool, channel_id: int | None,
                   message_id: int | None) -> None:
    columns = ("queue_channel_id", "queue_message_id") if queue else ("post_channel_id", "post_message_id")
    await db.execute(
        f"UPDATE feedback_items SET {columns[0]} = ?, {columns[1]} = ? WHERE id = ?",
        (channel_id, message_id, item_id),
    )


async def items_since(db: Database, guild_id: int | None, since: datetime | None) -> list[dict[str, Any]]:
    where, params = [], []
    if guild_id is not None:
        where.append("i.guild_id = ?")
        params.append(guild_id)
    if since is not None:
        where.append("i.created_at >= ?")
        params.append(to_db_time(since))
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    rows = await db.fetchall(f"SELECT {_ITEM_COLUMNS} FROM feedback_items i{clause} ORDER BY i.id", params)
    return [_item(r) for r in rows]


async def oldest_untriaged(db: Database, guild_id: int, limit: int) -> list[dict[str, Any]]:
    rows = await db.fetchall(
        f"SELECT {_ITEM_COLUMNS} FROM feedback_items i WHERE i.guild_id = ? AND i.status = 'new'"
        " ORDER BY i.created_at, i.id LIMIT ?",
        (guild_id, limit),
    )
    return [_item(r) for r in rows]


async def count_untriaged(db: Database, guild_id: int) -> int:
    return await db.fetchval(
        "SELECT COUNT(*) FROM feedback_items WHERE guild_id = ? AND status = 'new'", (guild_id,)
    )


# --- 👍/👎 on announcements -----------------------------------------------------------------------

async def set_reaction(db: Database, *, guild_id: int, channel_key: str, channel_id: int, message_id: int,
                       user_id: int, vote: int, now: datetime) -> None:
    await db.execute(
        "INSERT INTO feedback_reactions (guild_id, channel_key, channel_id, message_id, user_id, vote, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (message_id, user_id)"
        " DO UPDATE SET vote = excluded.vote, updated_at = excluded.updated_at",
        (guild_id, channel_key, channel_id, message_id, user_id, vote, to_db_time(now)),
    )


async def remove_reaction(db: Database, *, message_id: int, user_id: int, vote: int) -> bool:
    """Remove the member's vote only if it is the one they took back (👍 then 👎 keeps the 👎)."""
    return await db.execute(
        "DELETE FROM feedback_reactions WHERE message_id = ? AND user_id = ? AND vote = ?",
        (message_id, user_id, vote),
    ) > 0


async def reaction_totals(db: Database, message_id: int) -> tuple[int, int]:
    row = await db.fetchone(
        "SELECT COALESCE(SUM(CASE WHEN vote > 0 THEN 1 ELSE 0 END), 0),"
        " COALESCE(SUM(CASE WHEN vote < 0 THEN 1 ELSE 0 END), 0) FROM feedback_reactions WHERE message_id = ?",
        (message_id,),
    )
    return int(row[0]), int(row[1])


async def reaction_posts_since(db: Database, guild_id: int, since: datetime, limit: int) -> list[dict[str, Any]]:
    """Posts that got votes since `since`, most votes first: channel_id, message_id, up, down."""
    rows = await db.fetchall(
        "SELECT channel_id, message_id, SUM(CASE WHEN vote > 0 THEN 1 ELSE 0 END) AS up,"
        " SUM(CASE WHEN vote < 0 THEN 1 ELSE 0 END) AS down FROM feedback_reactions"
        " WHERE guild_id = ? AND updated_at >= ? GROUP BY channel_id, message_id"
        " ORDER BY COUNT(*) DESC, message_id LIMIT ?",
        (guild_id, to_db_time(since), limit),
    )
    return [dict(r) for r in rows]


async def board_items(db: Database, guild_id: int, *, statuses: tuple[str, ...], category: str | None,
                      flagged: bool | None, per_status: int) -> list[dict[str, Any]]:
    """The newest `per_status` items of each status, optionally of one category and flag state (the
    dashboard's board): one indexed read per status (guild, status, created_at)."""
    where, params = ["i.guild_id = ?", "i.status = ?"], []
    if category:
        where.append("i.category = ?")
        params.append(category)
    if flagged is not None:
        where.append("i.flagged = ?")
        params.append(1 if flagged else 0)
    out: list[dict[str, Any]] = []
    for status in statuses:
        rows = await db.fetchall(
            f"SELECT {_ITEM_COLUMNS} FROM feedback_items i WHERE {' AND '.join(where)}"
            " ORDER BY i.created_at DESC, i.id DESC LIMIT ?", (guild_id, status, *params, per_status))
        out += [_item(r) for r in rows]
    return out
