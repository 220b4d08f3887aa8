"""SQL for exclusive content reveals: one row per (content, occurrence), claimed before posting."""
from __future__ import annotations

from datetime import datetime

from .connection import Database, from_db_time, to_db_time


async def claim_reveal(db: Database, *, guild_id: int, content_id: str, occurrence: str, channel: str,
                       now: datetime, by: int | None) -> int | None:
    """The reveal's row id, or None when this occurrence was revealed already (never post twice)."""
    async with db.transaction() as tx:
        row = await tx.fetchone(
            "INSERT INTO content_reveals (guild_id, content_id, occurrence, channel, posted_at, posted_by)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (guild_id, content_id, occurrence) DO NOTHING RETURNING id",
            (guild_id, content_id, occurrence, channel, to_db_time(now), by))
        return None if row is None else row[0]


async def revealed(db: Database, guild_id: int, content_id: str, occurrence: str) -> bool:
    return await db.fetchone("SELECT 1 FROM content_reveals WHERE guild_id = ? AND content_id = ? AND occurrence = ?",
                             (guild_id, content_id, occurrence)) is not None


async def reveals(db: Database, guild_id: int, content_id: str | None = None) -> list[dict]:
    sql, params = "SELECT * FROM content_reveals WHERE guild_id = ?", [guild_id]
    if content_id is not None:
        sql += " AND content_id = ?"
        params.append(content_id)
    rows = await db.fetchall(sql + " ORDER BY id", params)
    return [dict(r) | {"posted_at": from_db_time(r["posted_at"])} for r in rows]
