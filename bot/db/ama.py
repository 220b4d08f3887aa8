"""SQL for guest sessions (AMA): sessions, questions and upvotes."""
from __future__ import annotations

from datetime import datetime

from .connection import Database, Tx, from_db_time, to_db_time

_SESSION_COLUMNS = ("id, guild_id, guest_id, topic, channel_key, message_id, thread_id, opened_by, opened_at,"
                    " ends_at, status, closed_at, closed_by, starts_at")
_QUESTION_COLUMNS = ("id, session_id, author_id, text, asked_at, votes, answer, answered_by, answered_at")


def _session(row) -> dict | None:
    if row is None:
        return None
    out = dict(row)
    for key in ("opened_at", "ends_at", "closed_at", "starts_at"):
        out[key] = from_db_time(out[key])
    return out


def _question(row) -> dict | None:
    if row is None:
        return None
    out = dict(row)
    for key in ("asked_at", "answered_at"):
        out[key] = from_db_time(out[key])
    return out


async def open_session(db: Database, *, guild_id: int, guest_id: int, topic: str, channel_key: str,
                       opened_by: int, now: datetime, ends_at: datetime | None) -> dict | None:
    """Insert an open session; None if the guild already has one open."""
    async with db.transaction() as tx:
        row = await tx.fetchone(
            "INSERT INTO ama_sessions (guild_id, guest_id, topic, channel_key, opened_by, opened_at, ends_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (guild_id) WHERE status = 'open' DO NOTHING"
            f" RETURNING {_SESSION_COLUMNS}",
            (guild_id, guest_id, topic, channel_key, opened_by, to_db_time(now),
             to_db_time(ends_at) if ends_at else None),
        )
        return _session(row)


async def get_session(db: Database, session_id: int) -> dict | None:
    return _session(await db.fetchone(f"SELECT {_SESSION_COLUMNS} FROM ama_sessions WHERE id = ?", (session_id,)))


async def open_session_of(db: Database, guild_id: int) -> dict | None:
    return _session(await db.fetchone(
        f"SELECT {_SESSION_COLUMNS} FROM ama_sessions WHERE guild_id = ? AND status = 'open'", (guild_id,)))


async def open_sessions(db: Database) -> list[dict]:
    rows = await db.fetchall(f"SELECT {_SESSION_COLUMNS} FROM ama_sessions WHERE status = 'open' ORDER BY id")
    return [_session(r) for r in rows]


async def set_posted(db: Database, session_id: int, message_id: int | None, thread_id: int | None) -> None:
    await db.execute(
        "UPDATE ama_sessions SET message_id = COALESCE(?, message_id), thread_id = COALESCE(?, thread_id)"
        " WHERE id = ?",
        (message_id, thread_id, session_id),
    )


async def close_session(db: Database, session_id: int, *, closed_by: int | None, now: datetime) -> bool:
    """Claim the close: True for the one caller that moved it from open to closed."""
    changed = await db.execute(
        "UPDATE ama_sessions SET status = 'closed', closed_at = ?, closed_by = ? WHERE id = ? AND status = 'open'",
        (to_db_time(now), closed_by, session_id),
    )
    return changed == 1


async def add_question(tx: Tx, *, session_id: int, author_id: int, text: str, now: datetime,
                       max_per_member: int) -> dict | None:
    """Insert a question inside the caller's transaction (which queues its post with it), unless the
    member already asked `max_per_member` in this session (counted in the same transaction, so
    quick repeated asks cannot slip past the limit). None when over the limit."""
    asked = await tx.fetchval("SELECT COUNT(*) FROM ama_questions WHERE session_id = ? AND author_id = ?",
                              (session_id, author_id))
    if asked >= max_per_member:
        return None
    row = await tx.fetchone(
        "INSERT INTO ama_questions (session_id, author_id, text, asked_at) VALUES (?, ?, ?, ?)"
        f" RETURNING {_QUESTION_COLUMNS}",
        (session_id, author_id, text, to_db_time(now)),
    )
    return _question(row)


async def question_texts(tx: Tx, session_id: int) -> list[tuple[int, str]]:
    """(id, text) of every question of a session, read inside the caller's transaction."""
    rows = await tx.fetchall("SELECT id, text FROM ama_questions WHERE session_id = ? ORDER BY id", (session_id,))
    return [(int(r[0]), r[1]) for r in rows]


async def closed_without_post(db: Database, prefix: str, suffix: str) -> list[dict]:
    """Closed sessions with no outbox row `<prefix><id><suffix>` (their closed announcement never queued)."""
    rows = await db.fetchall(
        f"SELECT {_SESSION_COLUMNS} FROM ama_sessions s WHERE s.status = 'closed' AND NOT EXISTS"
        " (SELECT 1 FROM outbox o WHERE o.dedupe_key = CAST(? AS TEXT) || CAST(s.id AS TEXT) || CAST(? AS TEXT))"
        " ORDER BY s.id", (prefix, suffix))
    return [_session(r) for r in rows]


async def questions_without_post(db: Database, post_prefix: str) -> list[dict]:
    """Questions of open sessions whose post was never queued (no outbox row `<post_prefix><id>`)."""
    rows = await db.fetchall(
        f"SELECT {', '.join('q.' + c.strip() for c in _QUESTION_COLUMNS.split(','))} FROM ama_questions q"
        " JOIN ama_sessions s ON s.id = q.session_id WHERE s.status = 'open'"
        " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.dedupe_key = CAST(? AS TEXT) || CAST(q.id AS TEXT))"
        " ORDER BY q.id", (post_prefix,))
    return [_question(r) for r in rows]


async def count_questions_by(db: Database, session_id: int, author_id: int) -> int:
    return await db.fetchval(
        "SELECT COUNT(*) FROM ama_questions WHERE session_id = ? AND author_id = ?", (session_id, author_id))


async def get_question(db: Database, question_id: int) -> dict | None:
    return _question(await db.fetchone(f"SELECT {_QUESTION_COLUMNS} FROM ama_questions WHERE id = ?",
                                       (question_id,)))


async def upvote(db: Database, question_id: int, user_id: int, now: datetime) -> int | None:
    """Record one upvote; returns the new vote count, or None if this member already voted."""
    async with db.transaction() as tx:
        row = await tx.fetchone(
            "INSERT INTO ama_votes (question_id, user_id, voted_at) VALUES (?, ?, ?)"
            " ON CONFLICT (question_id, user_id) DO NOTHING RETURNING question_id",
            (question_id, user_id, to_db_time(now)),
        )
        if row is None:
            return None
        return await tx.fetchval(
            "UPDATE ama_questions SET votes = votes + 1 WHERE id = ? RETURNING votes", (question_id,))


async def answer(db: Database, question_id: int, *, text: str, answered_by: int, now: datetime) -> bool:
    """Claim the answer: True for the one caller that answered it."""
    changed = await db.execute(
        "UPDATE ama_questions SET answer = ?, answered_by = ?, answered_at = ? WHERE id = ? AND answer IS NULL",
        (text, answered_by, to_db_time(now), question_id),
    )
    return changed == 1


async def ranked_questions(db: Database, session_id: int, *, unanswered_only: bool = False,
                           limit: int | None = None) -> list[dict]:
    """Most upvoted first; ties: asked earlier first (a stable, fair order)."""
    sql = f"SELECT {_QUESTION_COLUMNS} FROM ama_questions WHERE session_id = ?"
    if unanswered_only:
        sql += " AND answer IS NULL"
    sql += " ORDER BY votes DESC, id ASC"
    params: tuple = (session_id,)
    if limit is not None:
        sql += " LIMIT ?"
        params += (limit,)
    return [_question(r) for r in await db.fetchall(sql, params)]


async def question_counts(db: Database, session_id: int) -> tuple[int, int]:
    """(answered, unanswered)."""
    row = await db.fetchone(
        "SELECT COALESCE(SUM(CASE WHEN answer IS NOT NULL THEN 1 ELSE 0 END), 0),"
        " COALESCE(SUM(CASE WHEN answer IS NULL THEN 1 ELSE 0 END), 0)"
        " FROM ama_questions WHERE session_id = ?",
        (session_id,),
    )
    return int(row[0]), int(row[1])


async def session_by_message(db: Database, message_id: int) -> dict | None:
    return _session(await db.fetchone(
        f"SELECT {_SESSION_COLUMNS} FROM ama_sessions WHERE message_id = ?", (message_id,)))


# --- planned sessions (a start time: the session is a Discord scheduled event until then) ------------
async def plan_session(db: Database, *, guild_id: int, guest_id: int, topic: str, channel_key: str, opened_by: int,
                       now: datetime, starts_at: datetime, ends_at: datetime | None) -> dict:
    async with db.transaction() as tx:
        row = await tx.fetchone(
            "INSERT INTO ama_sessions (guild_id, guest_id, topic, channel_key, opened_by, opened_at, ends_at, status,"
            f" starts_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'planned', ?) RETURNING {_SESSION_COLUMNS}",
            (guild_id, guest_id, topic, channel_key, opened_by, to_db_time(now),
             to_db_time(ends_at) if ends_at else None, to_db_time(starts_at)))
        return _session(row)


async def planned_sessions(db: Database) -> list[dict]:
    rows = await db.fetchall(f"SELECT {_SESSION_COLUMNS} FROM ama_sessions WHERE status = 'planned' ORDER BY id")
    return [_session(r) for r in rows]


async def begin_session(db: Database, session_id: int, now: datetime) -> bool:
    """planned -> open, unless the guild has another session open (one open at a time)."""
    changed = await db.execute(
        "UPDATE ama_sessions SET status = 'open', opened_at = ? WHERE id = ? AND status = 'planned'"
        " AND NOT EXISTS (SELECT 1 FROM ama_sessions o WHERE o.guild_id = ama_sessions.guild_id"
        " AND o.status = 'open')", (to_db_time(now), session_id))
    return changed == 1


async def cancel_planned(db: Database, session_id: int, *, closed_by: int | None, now: datetime) -> bool:
    changed = await db.execute(
        "UPDATE ama_sessions SET status = 'canceled', closed_at = ?, closed_by = ? WHERE id = ? AND status = 'planned'",
        (to_db_time(now), closed_by, session_id))
    return changed == 1


async def askers(db: Database, session_id: int) -> list[int]:
    rows = await db.fetchall("SELECT DISTINCT author_id FROM ama_questions WHERE session_id = ? ORDER BY author_id",
                             (session_id,))
    return [int(r[0]) for r in rows]
