"""SQL for feedback posted in a forum (issue 20): a post's item, members' replies kept with it, and
upvotes taken back when a reaction on the starter message goes."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from .connection import Database, Tx, from_db_time, to_db_time


async def feedback_item_by_post(db: Database | Tx, post_id: int) -> int | None:
    """The feedback item whose forum post this is (its starter message id is the post's id)."""
    return await db.fetchval("SELECT id FROM feedback_items WHERE post_message_id = ? AND post_channel_id = ?",
                             (post_id, post_id))


async def items_of_posts(db: Database, post_ids: list[int]) -> set[int]:
    """Which of these forum posts are feedback items already (the scan at start skips them)."""
    if not post_ids:
        return set()
    marks = ", ".join("?" for _ in post_ids)
    rows = await db.fetchall(f"SELECT post_message_id FROM feedback_items WHERE post_message_id IN ({marks})"
                             " AND post_message_id = post_channel_id", tuple(post_ids))
    return {int(r["post_message_id"]) for r in rows}


async def add_feedback_reply(db: Database, *, item_id: int, message_id: int, author_id: int, content: str,
                             now: datetime) -> bool:
    row = await db.fetchone(
        "INSERT INTO feedback_replies (message_id, item_id, author_id, content, created_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (message_id) DO NOTHING RETURNING message_id",
        (message_id, item_id, author_id, content, to_db_time(now)))
    return row is not None


async def feedback_replies(db: Database, item_id: int) -> list[dict[str, Any]]:
    rows = await db.fetchall("SELECT message_id, author_id, content, created_at FROM feedback_replies"
                             " WHERE item_id = ? ORDER BY created_at, message_id", (item_id,))
    return [dict(r) | {"created_at": from_db_time(r["created_at"])} for r in rows]


async def remove_upvote(db: Database, item_id: int, user_id: int) -> bool:
    row = await db.fetchone("DELETE FROM feedback_upvotes WHERE item_id = ? AND user_id = ? RETURNING item_id",
                            (item_id, user_id))
    return row is not None


async def forum_posts_to_resync(db: Database, guild_id: int, since: datetime,
                                open_statuses: tuple[str, ...]) -> list[dict[str, Any]]:
    """Items posted as forum posts (the starter message's id is the post's) whose status is one of
    `open_statuses` or that changed since `since`: post_id, category, status."""
    marks = ", ".join("?" for _ in open_statuses)
    rows = await db.fetchall(
        "SELECT id, post_message_id AS post_id, category, status FROM feedback_items WHERE guild_id = ?"
        " AND post_message_id IS NOT NULL AND post_message_id = post_channel_id"
        f" AND (status IN ({marks}) OR updated_at >= ?) ORDER BY id",
        (guild_id, *open_statuses, to_db_time(since)))
    return [dict(r) for r in rows]


async def posts_unrecorded(db: Database) -> list[dict[str, Any]]:
    """Items whose public post went out but was never tied to them (a crash after the send, before the
    record): item_id, and the outbox row's message_id and payload."""
    rows = await db.fetchall(
        "SELECT i.id AS item_id, o.message_id, o.payload FROM feedback_items i"
        " JOIN outbox o ON o.dedupe_key = 'feedback:post:' || CAST(i.id AS TEXT)"
        " WHERE i.post_message_id IS NULL AND o.status = 'sent' AND o.message_id IS NOT NULL ORDER BY i.id")
    return [dict(r) for r in rows]
