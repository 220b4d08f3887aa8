"""SQL for the community health stats. Read-only over other areas' tables:

- member_events (membership): kind 'joined' / 'left', `at` UTC text
- members (membership): joined_at / left_at, for the member count at the end of a period
- activity_daily (participation): messages per member per local day
- participation_ledger (participation): action ('prompt_answer', 'quiz_answer', ...), local `day`
- prompt_posts, quiz_runs / quiz_questions / quiz_answers (participation)
- feedback_items (feedback): status
- member_names (stats): display names the bot saw, for the command line (written here)

A table that does not exist (a feature not installed) counts as zero: `existing_tables` is read once.
Day bounds are local dates ('YYYY-MM-DD', inclusive); time bounds are UTC text, [start, end).
"""
from __future__ import annotations

import json
from datetime import datetime

from .connection import Database, from_db_time, to_db_time


async def existing_tables(db: Database) -> set[str]:
    rows = await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {r[0] for r in rows}


async def member_events(db: Database, tables: set[str], guild_id: int, start: datetime,
                        end: datetime) -> list[tuple[str, datetime]]:
    """(kind, at) of every join and leave in [start, end)."""
    if "member_events" not in tables:
        return []
    rows = await db.fetchall(
        "SELECT kind, at FROM member_events WHERE guild_id = ? AND kind IN ('joined', 'left')"
        " AND at >= ? AND at < ? ORDER BY at",
        (guild_id, to_db_time(start), to_db_time(end)),
    )
    return [(r[0], from_db_time(r[1])) for r in rows]


async def member_count_at(db: Database, tables: set[str], guild_id: int, at: datetime) -> int:
    """Members at `at`: joined before it and not left before it."""
    if "members" not in tables:
        return 0
    t = to_db_time(at)
    return int(await db.fetchval(
        "SELECT COUNT(*) FROM members WHERE guild_id = ? AND joined_at < ? AND (left_at IS NULL OR left_at >= ?)",
        (guild_id, t, t),
    ) or 0)


async def remember_names(db: Database, guild_id: int, names: dict[int, str], at: datetime) -> None:
    """Store the display names the bot saw on the server (the newest wins)."""
    if not names:
        return
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO member_names (guild_id, user_id, name, seen_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (guild_id, user_id) DO UPDATE SET name = excluded.name, seen_at = excluded.seen_at",
            [(guild_id, user_id, name, to_db_time(at)) for user_id, name in names.items()],
        )


async def known_names(db: Database, tables: set[str], guild_id: int, user_ids: list[int]) -> dict[int, str]:
    """The last display name seen for each of these members (those never seen are left out)."""
    if "member_names" not in tables or not user_ids:
        return {}
    rows = await db.fetchall(
        f"SELECT user_id, name FROM member_names WHERE guild_id = ? AND user_id IN ({','.join('?' * len(user_ids))})",
        (guild_id, *user_ids),
    )
    return {int(r[0]): r[1] for r in rows}


async def posters(db: Database, tables: set[str], guild_id: int, first_day: str,
                  last_day: str) -> list[tuple[int, str, int]]:
    """(user_id, day, messages) for every member-day with at least one message."""
    if "activity_daily" not in tables:
        return []
    rows = await db.fetchall(
        "SELECT user_id, day, messages FROM activity_daily"
        " WHERE guild_id = ? AND day >= ? AND day <= ? AND messages > 0",
        (guild_id, first_day, last_day),
    )
    return [(int(r[0]), r[1], int(r[2])) for r in rows]


async def participations(db: Database, tables: set[str], guild_id: int, first_day: str,
                         last_day: str) -> list[tuple[int, str, str, int]]:
    """(user_id, day, action, points) of every ledger row in the period."""
    if "participation_ledger" not in tables:
        return []
    rows = await db.fetchall(
        "SELECT user_id, day, action, points FROM participation_ledger"
        " WHERE guild_id = ? AND day >= ? AND day <= ?",
        (guild_id, first_day, last_day),
    )
    return [(int(r[0]), r[1], r[2], int(r[3])) for r in rows]


async def prompts_posted(db: Database, tables: set[str], guild_id: int, start: datetime, end: datetime) -> int:
    if "prompt_posts" not in tables:
        return 0
    return int(await db.fetchval(
        "SELECT COUNT(*) FROM prompt_posts WHERE guild_id = ? AND posted_at >= ? AND posted_at < ?",
        (guild_id, to_db_time(start), to_db_time(end)),
    ) or 0)


async def quiz_runs(db: Database, tables: set[str], guild_id: int, start: datetime, end: datetime) -> int:
    if "quiz_runs" not in tables:
        return 0
    return int(await db.fetchval(
        "SELECT COUNT(*) FROM quiz_runs WHERE guild_id = ? AND started_at >= ? AND started_at < ?",
        (guild_id, to_db_time(start), to_db_time(end)),
    ) or 0)


async def quiz_players(db: Database, tables: set[str], guild_id: int, start: datetime,
                       end: datetime) -> list[tuple[int, datetime]]:
    """(user_id, answered_at) of every quiz answer in the period (right or wrong)."""
    if not {"quiz_answers", "quiz_questions", "quiz_runs"} <= tables:
        return []
    rows = await db.fetchall(
        "SELECT qa.user_id, qa.answered_at FROM quiz_answers qa"
        " JOIN quiz_questions qq ON qq.id = qa.question_id JOIN quiz_runs r ON r.id = qq.run_id"
        " WHERE r.guild_id = ? AND qa.answered_at >= ? AND qa.answered_at < ?",
        (guild_id, to_db_time(start), to_db_time(end)),
    )
    return [(int(r[0]), from_db_time(r[1])) for r in rows]


async def feedback_by_status(db: Database, tables: set[str], guild_id: int, start: datetime,
                             end: datetime) -> dict[str, int]:
    """Items received in the period, by their current status."""
    if "feedback_items" not in tables:
        return {}
    rows = await db.fetchall(
        "SELECT status, COUNT(*) FROM feedback_items WHERE guild_id = ? AND created_at >= ? AND created_at < ?"
        " GROUP BY status",
        (guild_id, to_db_time(start), to_db_time(end)),
    )
    return {r[0]: int(r[1]) for r in rows}


async def claim_digest(db: Database, *, guild_id: int, period: str, period_end: str, summary: dict,
                       now: datetime) -> bool:
    """Record a digest; False if this guild already had the digest for this period end."""
    async with db.transaction() as tx:
        row = await tx.fetchone(
            "INSERT INTO stats_digests (guild_id, period, period_end, summary, created_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (guild_id, period, period_end) DO NOTHING RETURNING guild_id",
            (guild_id, period, period_end, json.dumps(summary, sort_keys=True), to_db_time(now)),
        )
        return row is not None


async def stored_guilds(db: Database, tables: set[str]) -> list[int]:
    """Guild ids with any stats data (for the CLI when the config names no guild)."""
    found: set[int] = set()
    for table in ("member_events", "activity_daily", "participation_ledger", "feedback_items"):
        if table in tables:
            found.update(int(r[0]) for r in await db.fetchall(f"SELECT DISTINCT guild_id FROM {table}"))
    return sorted(found)


async def queued(db: Database, dedupe_key: str) -> bool:
    """Whether the outbox already holds this post (any status): the outbox's dedupe key is the truth."""
    return await db.fetchval("SELECT 1 FROM outbox WHERE dedupe_key = ?", (dedupe_key,)) is not None
