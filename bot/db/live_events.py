"""SQL for live events: Discord guild scheduled events made for AMA sessions and schedule occurrences,
and who pressed Interested."""
from __future__ import annotations

from datetime import datetime

from .connection import Database, from_db_time, to_db_time

_COLUMNS = ("id, guild_id, source, name, description, location_key, location_text, starts_at, ends_at, remind_at,"
            " discord_event_id, status, created_at, reminded_at, completed_at")
_TIMES = ("starts_at", "ends_at", "remind_at", "created_at", "reminded_at", "completed_at")


def _event(row) -> dict | None:
    if row is None:
        return None
    out = dict(row)
    for key in _TIMES:
        out[key] = from_db_time(out[key])
    return out


def _t(value: datetime | None) -> str | None:
    return to_db_time(value) if value is not None else None


async def add(db: Database, *, guild_id: int, source: str, name: str, description: str, location_key: str | None,
              location_text: str | None, starts_at: datetime, ends_at: datetime, remind_at: datetime | None,
              now: datetime) -> tuple[dict, bool]:
    """The event of `source`, inserted unless it exists; (row, True when this call inserted it)."""
    async with db.transaction() as tx:
        row = await tx.fetchone(
            "INSERT INTO live_events (guild_id, source, name, description, location_key, location_text, starts_at,"
            " ends_at, remind_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            f" ON CONFLICT (guild_id, source) DO NOTHING RETURNING {_COLUMNS}",
            (guild_id, source, name, description, location_key, location_text, to_db_time(starts_at),
             to_db_time(ends_at), _t(remind_at), to_db_time(now)))
        if row is not None:
            return _event(row), True
        row = await tx.fetchone(f"SELECT {_COLUMNS} FROM live_events WHERE guild_id = ? AND source = ?",
                                (guild_id, source))
        return _event(row), False


async def get(db: Database, event_id: int) -> dict | None:
    return _event(await db.fetchone(f"SELECT {_COLUMNS} FROM live_events WHERE id = ?", (event_id,)))


async def by_source(db: Database, guild_id: int, source: str) -> dict | None:
    return _event(await db.fetchone(f"SELECT {_COLUMNS} FROM live_events WHERE guild_id = ? AND source = ?",
                                    (guild_id, source)))


async def by_discord_id(db: Database, discord_event_id: int) -> dict | None:
    return _event(await db.fetchone(f"SELECT {_COLUMNS} FROM live_events WHERE discord_event_id = ?",
                                    (discord_event_id,)))


async def unfinished(db: Database) -> list[dict]:
    """Events not completed or canceled yet (their timers are re-armed at start)."""
    rows = await db.fetchall(f"SELECT {_COLUMNS} FROM live_events WHERE status IN ('scheduled', 'active') ORDER BY id")
    return [_event(r) for r in rows]


async def set_discord_id(db: Database, event_id: int, discord_event_id: int) -> None:
    await db.execute("UPDATE live_events SET discord_event_id = ? WHERE id = ? AND discord_event_id IS NULL",
                     (discord_event_id, event_id))


async def update_times(db: Database, event_id: int, *, starts_at: datetime, ends_at: datetime,
                       remind_at: datetime | None) -> None:
    await db.execute("UPDATE live_events SET starts_at = ?, ends_at = ?, remind_at = ? WHERE id = ?",
                     (to_db_time(starts_at), to_db_time(ends_at), _t(remind_at), event_id))


async def set_location_text(db: Database, event_id: int, text: str) -> None:
    await db.execute("UPDATE live_events SET location_text = ? WHERE id = ?", (text, event_id))


async def move(db: Database, event_id: int, *, to: str, now: datetime) -> bool:
    """scheduled -> active -> completed (or -> canceled): True for the one caller that moved it."""
    allowed = {"active": ("scheduled",), "completed": ("scheduled", "active"), "canceled": ("scheduled",)}[to]
    marks = ", ".join("?" for _ in allowed)
    changed = await db.execute(
        f"UPDATE live_events SET status = ?, completed_at = CASE WHEN ? = 'completed' THEN ? ELSE completed_at END"
        f" WHERE id = ? AND status IN ({marks})", (to, to, to_db_time(now), event_id, *allowed))
    return changed == 1


async def claim_reminders(db: Database, event_id: int, now: datetime) -> bool:
    """True for the one caller that queues this event's reminders."""
    changed = await db.execute(
        "UPDATE live_events SET reminded_at = ? WHERE id = ? AND reminded_at IS NULL AND status = 'scheduled'",
        (to_db_time(now), event_id))
    return changed == 1


async def set_interest(db: Database, event_id: int, user_id: int, interested: bool, now: datetime) -> None:
    await db.execute(
        "INSERT INTO live_event_interest (event_id, user_id, interested, first_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (event_id, user_id) DO UPDATE SET interested = excluded.interested",
        (event_id, user_id, 1 if interested else 0, to_db_time(now)))


async def add_interested_many(db: Database, event_id: int, user_ids: list[int], now: datetime) -> None:
    """Members Discord lists as interested that the gateway did not tell us about (a restart)."""
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO live_event_interest (event_id, user_id, interested, first_at) VALUES (?, ?, 1, ?)"
            " ON CONFLICT (event_id, user_id) DO NOTHING",
            [(event_id, uid, to_db_time(now)) for uid in user_ids])


async def interested(db: Database, event_id: int) -> list[int]:
    rows = await db.fetchall(
        "SELECT user_id FROM live_event_interest WHERE event_id = ? AND interested = 1 ORDER BY first_at, user_id",
        (event_id,))
    return [int(r[0]) for r in rows]
