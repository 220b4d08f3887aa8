"""SQL for the help forum (help_posts) and forum feedback replies. Every state change is one
conditional UPDATE ... RETURNING, so a timer or a click that comes twice changes nothing the second time."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from .connection import Database, Tx, from_db_time, to_db_time

_TIMES = ("asked_at", "first_response_at", "solved_at", "last_activity_at", "escalated_at", "closed_at")
_COLUMNS = ("id, guild_id, thread_id, asker_id, title, details, topic, source, state, asked_at, first_response_at,"
            " first_responder_id, solved_at, solved_by, answer_text, answer_author_id, last_activity_at,"
            " escalated_at, closed_at, faq_key, feedback_item_id")


def _post(row) -> dict[str, Any] | None:
    if row is None:
        return None
    out = dict(row)
    for key in _TIMES:
        out[key] = from_db_time(out[key])
    return out


async def insert_post(tx: Tx, *, guild_id: int, thread_id: int | None, asker_id: int, title: str, details: str,
                      topic: str | None, source: str, now: datetime,
                      asked_at: datetime | None = None) -> dict[str, Any] | None:
    """A new question; None if the post is already known (a THREAD_CREATE delivered twice, or the scan at
    start and the live event both). `asked_at`: when the member asked, if before `now` (a post opened
    while the bot was away); its activity starts `now`."""
    return _post(await tx.fetchone(
        "INSERT INTO help_posts (guild_id, thread_id, asker_id, title, details, topic, source, asked_at,"
        " last_activity_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        f" ON CONFLICT (thread_id) DO NOTHING RETURNING {_COLUMNS}",
        (guild_id, thread_id, asker_id, title, details, topic, source, to_db_time(asked_at or now),
         to_db_time(now))))


async def known_threads(db: Database, thread_ids: list[int]) -> set[int]:
    """Which of these posts are questions already (the scan at start skips them)."""
    if not thread_ids:
        return set()
    marks = ", ".join("?" for _ in thread_ids)
    rows = await db.fetchall(f"SELECT thread_id FROM help_posts WHERE thread_id IN ({marks})", tuple(thread_ids))
    return {int(r["thread_id"]) for r in rows}


async def set_thread(tx: Tx, post_id: int, thread_id: int) -> None:
    """Where the post /help ask opened is (once)."""
    await tx.execute("UPDATE help_posts SET thread_id = ? WHERE id = ? AND thread_id IS NULL", (thread_id, post_id))


async def posts_without_notice(db: Database) -> list[dict[str, Any]]:
    """Posts /help ask opened whose staff-queue notice was never queued although their post is settled
    (a crash after the post went out, before the notice was queued). Each row also carries
    `post_status` and `post_message_id`: the outbox's record of the post (a forum post's starter
    message id is the post's id)."""
    rows = await db.fetchall(
        f"SELECT {', '.join('h.' + c.strip() for c in _COLUMNS.split(','))}, o.status AS post_status,"
        " o.message_id AS post_message_id FROM help_posts h"
        " JOIN outbox o ON o.dedupe_key = 'help:post:' || CAST(h.id AS TEXT)"
        " WHERE h.source = 'command' AND o.status IN ('sent', 'failed', 'unknown')"
        " AND NOT EXISTS (SELECT 1 FROM outbox q WHERE q.dedupe_key = 'help:queue:' || CAST(h.id AS TEXT))"
        " ORDER BY h.id")
    return [_post(r) for r in rows]


async def get_post(db: Database | Tx, post_id: int) -> dict[str, Any] | None:
    return _post(await db.fetchone(f"SELECT {_COLUMNS} FROM help_posts WHERE id = ?", (post_id,)))


async def post_by_thread(db: Database, thread_id: int) -> dict[str, Any] | None:
    return _post(await db.fetchone(f"SELECT {_COLUMNS} FROM help_posts WHERE thread_id = ?", (thread_id,)))


async def live_posts(db: Database) -> list[dict[str, Any]]:
    """Posts whose timers may still fire (open or answered)."""
    rows = await db.fetchall(f"SELECT {_COLUMNS} FROM help_posts WHERE state IN ('open', 'answered') ORDER BY id")
    return [_post(r) for r in rows]


async def posts_to_resync(db: Database, guild_id: int, since: datetime) -> list[dict[str, Any]]:
    """Posts whose tags are put right after a start: open or answered, or solved or closed since `since`;
    `closing_sent` says whether a closed post's closing words went out."""
    rows = await db.fetchall(
        f"SELECT {_COLUMNS}, EXISTS (SELECT 1 FROM outbox o WHERE o.status = 'sent'"
        " AND o.dedupe_key = 'help:closing:' || CAST(help_posts.id AS TEXT)) AS closing_sent"
        " FROM help_posts WHERE guild_id = ? AND thread_id IS NOT NULL"
        " AND (state IN ('open', 'answered') OR solved_at >= ? OR closed_at >= ?) ORDER BY id",
        (guild_id, to_db_time(since), to_db_time(since)))
    return [_post(r) for r in rows]


async def record_reply(tx: Tx, post_id: int, *, by_staff: bool, author_id: int, is_asker: bool,
                       now: datetime) -> tuple[dict[str, Any], str] | None:
    """A message in the post: activity; the team's first answer; the asker reopening an answered or
    solved post. Returns (the post after, its state before), or None for a closed or unknown post.
    Inside the caller's transaction (which also writes a helper's points)."""
    before = await tx.fetchone("SELECT state FROM help_posts WHERE id = ?", (post_id,))
    if before is None or before["state"] == "closed":
        return None
    state = before["state"]
    if is_asker and state in ("answered", "solved"):
        new_state = "open"
    elif by_staff and not is_asker and state == "open":
        new_state = "answered"
    else:
        new_state = state
    row = await tx.fetchone(
        "UPDATE help_posts SET last_activity_at = ?, state = ?,"
        " solved_at = CASE WHEN ? = 'open' THEN NULL ELSE solved_at END,"
        " first_response_at = CASE WHEN ? = 1 AND first_response_at IS NULL THEN ? ELSE first_response_at END,"
        " first_responder_id = CASE WHEN ? = 1 AND first_responder_id IS NULL THEN ? ELSE first_responder_id END"
        f" WHERE id = ? RETURNING {_COLUMNS}",
        (to_db_time(now), new_state, new_state, int(by_staff and not is_asker), to_db_time(now),
         int(by_staff and not is_asker), author_id, post_id))
    return _post(row), state


async def mark_solved(tx: Tx, post_id: int, *, by: int, now: datetime, answer_text: str | None,
                      answer_author_id: int | None) -> dict[str, Any] | None:
    """None when the post is already solved or closed (inside the caller's transaction, which also
    writes the answer's author's points)."""
    return _post(await tx.fetchone(
        "UPDATE help_posts SET state = 'solved', solved_at = ?, solved_by = ?, last_activity_at = ?,"
        " answer_text = COALESCE(?, answer_text), answer_author_id = COALESCE(?, answer_author_id)"
        f" WHERE id = ? AND state IN ('open', 'answered') RETURNING {_COLUMNS}",
        (to_db_time(now), by, to_db_time(now), answer_text, answer_author_id, post_id)))


async def claim_escalation(tx: Tx, post_id: int, now: datetime) -> dict[str, Any] | None:
    """Once per post, and only while the team has not answered (inside the caller's transaction, which
    queues the mod-log line with it)."""
    return _post(await tx.fetchone(
        f"UPDATE help_posts SET escalated_at = ? WHERE id = ? AND escalated_at IS NULL"
        f" AND first_response_at IS NULL AND state = 'open' RETURNING {_COLUMNS}", (to_db_time(now), post_id)))


async def claim_close(tx: Tx, post_id: int, now: datetime, inactive_since: datetime) -> dict[str, Any] | None:
    """Once per post, and only if nothing happened in it since `inactive_since` (inside the caller's
    transaction, which queues the closing words and the DM with it)."""
    return _post(await tx.fetchone(
        "UPDATE help_posts SET state = 'closed', closed_at = ? WHERE id = ? AND closed_at IS NULL"
        f" AND state IN ('open', 'answered') AND last_activity_at <= ? RETURNING {_COLUMNS}",
        (to_db_time(now), post_id, to_db_time(inactive_since))))


async def set_faq_key(db: Database, post_id: int, key: str) -> None:
    await db.execute("UPDATE help_posts SET faq_key = ? WHERE id = ?", (key, post_id))


async def link_feedback(tx: Tx, post_id: int, item_id: int) -> bool:
    """The post became this feedback item (inside the item's transaction); False if it already was."""
    row = await tx.fetchone("UPDATE help_posts SET feedback_item_id = ? WHERE id = ? AND feedback_item_id IS NULL"
                            " RETURNING id", (item_id, post_id))
    return row is not None


async def solved_posts(db: Database, guild_id: int, limit: int = 500) -> list[dict[str, Any]]:
    rows = await db.fetchall(f"SELECT {_COLUMNS} FROM help_posts WHERE guild_id = ? AND state = 'solved'"
                             " ORDER BY solved_at DESC LIMIT ?", (guild_id, limit))
    return [_post(r) for r in rows]


async def posts_asked_between(db: Database, guild_id: int, start: datetime, end: datetime) -> list[dict[str, Any]]:
    rows = await db.fetchall(f"SELECT {_COLUMNS} FROM help_posts WHERE guild_id = ? AND asked_at >= ?"
                             " AND asked_at < ? ORDER BY id", (guild_id, to_db_time(start), to_db_time(end)))
    return [_post(r) for r in rows]


async def unanswered_now(db: Database, guild_id: int) -> list[dict[str, Any]]:
    rows = await db.fetchall(f"SELECT {_COLUMNS} FROM help_posts WHERE guild_id = ? AND state = 'open'"
                             " AND first_response_at IS NULL ORDER BY id", (guild_id,))
    return [_post(r) for r in rows]
