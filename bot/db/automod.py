"""SQL for AutoMod: which Discord rule is the bot's, per guild."""
from __future__ import annotations

from datetime import datetime

from .connection import Database, to_db_time


async def rule_id(db: Database, guild_id: int, rule_key: str) -> int | None:
    return await db.fetchval("SELECT rule_id FROM automod_rules WHERE guild_id = ? AND rule_key = ?",
                             (guild_id, rule_key))


async def remember_rule(db: Database, guild_id: int, rule_key: str, rule_id: int, at: datetime) -> None:
    await db.execute(
        "INSERT INTO automod_rules (guild_id, rule_key, rule_id, synced_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (guild_id, rule_key) DO UPDATE SET rule_id = excluded.rule_id, synced_at = excluded.synced_at",
        (guild_id, rule_key, rule_id, to_db_time(at)))
