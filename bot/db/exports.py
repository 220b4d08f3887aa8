"""Reads for the CSV exports brand teams ask for (members, a leaderboard period, applications)."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from .connection import Database, from_db_time, to_db_time


async def guilds(db: Database) -> list[int]:
    """Guild ids with members, points or applications stored (the CLI, when the config names none)."""
    rows = await db.fetchall(
        "SELECT guild_id FROM members UNION SELECT guild_id FROM participation_ledger"
        " UNION SELECT guild_id FROM applications ORDER BY guild_id")
    return [int(r[0]) for r in rows]


async def members(db: Database, guild_id: int, recent_since: datetime) -> list[dict[str, Any]]:
    """Everyone the bot recorded joining, with their tier row and points (all time and since
    `recent_since`), oldest join first."""
    rows = await db.fetchall(
        "SELECT m.user_id, m.status, m.via, m.joined_at, m.left_at, t.tier, t.manual_tier,"
        " (SELECT COALESCE(SUM(p.points), 0) FROM participation_ledger p"
        "   WHERE p.guild_id = m.guild_id AND p.user_id = m.user_id) AS points,"
        " (SELECT COALESCE(SUM(p.points), 0) FROM participation_ledger p"
        "   WHERE p.guild_id = m.guild_id AND p.user_id = m.user_id AND p.at >= ?) AS points_recent"
        " FROM members m LEFT JOIN member_tiers t ON t.guild_id = m.guild_id AND t.user_id = m.user_id"
        " WHERE m.guild_id = ? ORDER BY m.joined_at, m.user_id",
        (to_db_time(recent_since), guild_id))
    return [dict(r) | {"joined_at": from_db_time(r["joined_at"]), "left_at": from_db_time(r["left_at"])}
            for r in rows]


async def standings(db: Database, guild_id: int, since: datetime | None, until: datetime | None) -> list[dict[str, Any]]:
    """Points per member earned in [since, until), best first. Ties as the live leaderboard breaks
    them: more points, then whoever reached the total first, then the lower id."""
    where, params = "guild_id = ?", [guild_id]
    if since is not None:
        where, params = where + " AND at >= ?", params + [to_db_time(since)]
    if until is not None:
        where, params = where + " AND at < ?", params + [to_db_time(until)]
    rows = await db.fetchall(
        "SELECT user_id, SUM(points) AS points, MAX(CASE WHEN points <> 0 THEN at END) AS reached"
        f" FROM participation_ledger WHERE {where} GROUP BY user_id HAVING SUM(points) > 0"
        " ORDER BY points DESC, reached ASC, user_id ASC", params)
    return [{"user_id": r["user_id"], "points": r["points"], "reached": from_db_time(r["reached"])} for r in rows]


async def applications(db: Database, guild_id: int, since: datetime | None, until: datetime | None) -> list[dict[str, Any]]:
    """Every application (any status) created in [since, until), oldest first."""
    where, params = "guild_id = ?", [guild_id]
    if since is not None:
        where, params = where + " AND created_at >= ?", params + [to_db_time(since)]
    if until is not None:
        where, params = where + " AND created_at < ?", params + [to_db_time(until)]
    rows = await db.fetchall(f"SELECT * FROM applications WHERE {where} ORDER BY id", params)
    times = ("created_at", "expires_at", "decided_at")
    return [dict(r) | {k: from_db_time(r[k]) for k in times} | {"answers": json.loads(r["answers"] or "[]")}
            for r in rows]
