"""SQL for the moderator audit trail."""
from __future__ import annotations

from datetime import datetime

from .connection import Database, from_db_time, to_db_time


async def record(db: Database, *, guild_id: int, actor_id: int, action: str, target: str | None,
                 detail: str, at: datetime) -> int:
    async with db.transaction() as tx:
        row = await tx.fetchone(
            "INSERT INTO audit_log (guild_id, actor_id, action, target, detail, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (guild_id, actor_id, action, target, detail, to_db_time(at)),
        )
        return row[0]


async def recent(db: Database, guild_id: int, limit: int = 50) -> list[dict]:
    rows = await db.fetchall(
        "SELECT id, actor_id, action, target, detail, created_at FROM audit_log"
        " WHERE guild_id = ? ORDER BY id DESC LIMIT ?",
        (guild_id, limit),
    )
    return [dict(row) | {"created_at": from_db_time(row["created_at"])} for row in rows]


async def get(db: Database, guild_id: int, entry_id: int) -> dict | None:
    row = await db.fetchone(
        "SELECT id, actor_id, action, target, detail, created_at FROM audit_log WHERE guild_id = ? AND id = ?",
        (guild_id, entry_id),
    )
    return None if row is None else dict(row) | {"created_at": from_db_time(row["created_at"])}


async def search(db: Database, guild_id: int, *, actor_id: int | None = None, action: str | None = None,
                 since: datetime | None = None, until: datetime | None = None, limit: int = 200) -> list[dict]:
    """The newest entries matching every filter given (the dashboard's audit log)."""
    where, params = ["guild_id = ?"], [guild_id]
    if actor_id is not None:
        where.append("actor_id = ?")
        params.append(actor_id)
    if action:
        where.append("action = ?")
        params.append(action)
    if since is not None:
        where.append("created_at >= ?")
        params.append(to_db_time(since))
    if until is not None:
        where.append("created_at < ?")
        params.append(to_db_time(until))
    rows = await db.fetchall(
        "SELECT id, actor_id, action, target, detail, created_at FROM audit_log"
        f" WHERE {' AND '.join(where)} ORDER BY created_at DESC, id DESC LIMIT ?", (*params, limit))
    return [dict(row) | {"created_at": from_db_time(row["created_at"])} for row in rows]


async def actions_and_actors(db: Database, guild_id: int) -> tuple[list[str], list[int]]:
    """The distinct actions and actors recorded (the filters' choices): a skip-scan, one index probe per
    value, not a read of the whole log."""
    actions = await db.fetchall(
        "WITH RECURSIVE a(x) AS (SELECT MIN(action) FROM audit_log WHERE guild_id = ?"
        " UNION ALL SELECT (SELECT MIN(action) FROM audit_log WHERE guild_id = ? AND action > a.x) FROM a"
        " WHERE a.x IS NOT NULL) SELECT x FROM a WHERE x IS NOT NULL", (guild_id, guild_id))
    actors = await db.fetchall(
        "WITH RECURSIVE a(x) AS (SELECT MIN(actor_id) FROM audit_log WHERE guild_id = ?"
        " UNION ALL SELECT (SELECT MIN(actor_id) FROM audit_log WHERE guild_id = ? AND actor_id > a.x) FROM a"
        " WHERE a.x IS NOT NULL) SELECT x FROM a WHERE x IS NOT NULL", (guild_id, guild_id))
    return [r[0] for r in actions], [int(r[0]) for r in actors]
