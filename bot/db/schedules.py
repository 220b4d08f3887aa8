"""SQL for schedules: the occurrence ledger, per-schedule state and pool positions.

The ledger row (guild, schedule, kind, occurrence) is unique: whoever inserts it owns the post.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Iterable

from .connection import Database, Tx, to_db_time


def from_db_time(value: str) -> datetime:
    """Like connection.from_db_time, without strptime (~10x faster; start-up reads a row per schedule)."""
    return datetime.fromisoformat(value)


@dataclass(frozen=True)
class ScheduleState:
    schedule_id: str
    first_seen: datetime
    active_since: datetime
    active: bool
    paused: bool
    paused_by: int | None


@dataclass(frozen=True)
class PoolState:
    cycle: int = 0
    position: int = 0
    avoid_item: int | None = None
    last_item: int | None = None


async def _fetchone(tx: Tx, sql: str, params) -> object | None:
    """One row in a single round trip to aiosqlite's thread (Tx.fetchone takes three): the claim is
    on the hot path when many posts are due at once."""
    rows = await tx.fetchall(sql, params)
    return rows[0] if rows else None


# --- state -----------------------------------------------------------------------------------------
async def sync_states(db: Database, guild_id: int, enabled_ids: Iterable[str], now: datetime) -> dict[str, ScheduleState]:
    """Record which schedules are active now: new ids are first seen now; ids that come back (enabled
    again, re-added) become active from now; ids no longer enabled are marked inactive. Returns every
    state row of the guild as it now is (what `load_states` would read), from the same transaction."""
    enabled = list(dict.fromkeys(enabled_ids))
    stamp = to_db_time(now)
    async with db.transaction() as tx:
        rows = await tx.fetchall(
            "SELECT schedule_id, first_seen, active_since, active, paused, paused_by FROM schedule_state"
            " WHERE guild_id = ?", (guild_id,))
        states = {r[0]: ScheduleState(r[0], from_db_time(r[1]), from_db_time(r[2]), bool(r[3]), bool(r[4]), r[5])
                  for r in rows}
        wanted = set(enabled)
        stored = from_db_time(stamp)  # `now` exactly as a later read gives it back
        new = [sid for sid in enabled if sid not in states]
        back = [sid for sid in enabled if sid in states and not states[sid].active]
        gone = [sid for sid, st in states.items() if st.active and sid not in wanted]
        if new:
            await tx.executemany(
                "INSERT INTO schedule_state (guild_id, schedule_id, first_seen, active_since, active)"
                " VALUES (?, ?, ?, ?, 1) ON CONFLICT (guild_id, schedule_id) DO NOTHING",
                [(guild_id, sid, stamp, stamp) for sid in new])
            for sid in new:
                states[sid] = ScheduleState(sid, stored, stored, True, False, None)
        if back:
            await tx.executemany(
                "UPDATE schedule_state SET active = 1, active_since = ? WHERE guild_id = ? AND schedule_id = ?",
                [(stamp, guild_id, sid) for sid in back])
            for sid in back:
                states[sid] = replace(states[sid], active=True, active_since=stored)
        if gone:
            await tx.executemany(
                "UPDATE schedule_state SET active = 0 WHERE guild_id = ? AND schedule_id = ?",
                [(guild_id, sid) for sid in gone])
            for sid in gone:
                states[sid] = replace(states[sid], active=False)
    return states


async def load_states(db: Database, guild_id: int) -> dict[str, ScheduleState]:
    rows = await db.fetchall(
        "SELECT schedule_id, first_seen, active_since, active, paused, paused_by FROM schedule_state"
        " WHERE guild_id = ?", (guild_id,))
    return {r[0]: ScheduleState(r[0], from_db_time(r[1]), from_db_time(r[2]), bool(r[3]), bool(r[4]), r[5])
            for r in rows}


async def set_paused(db: Database, guild_id: int, schedule_id: str, paused: bool, actor_id: int,
                     now: datetime) -> bool:
    """Pause or resume; False when it already was so. Resuming makes the schedule active from now."""
    stamp = to_db_time(now)
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO schedule_state (guild_id, schedule_id, first_seen, active_since) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (guild_id, schedule_id) DO NOTHING", (guild_id, schedule_id, stamp, stamp))
        if paused:
            changed = await tx.execute(
                "UPDATE schedule_state SET paused = 1, paused_by = ?, paused_at = ?"
                " WHERE guild_id = ? AND schedule_id = ? AND paused = 0", (actor_id, stamp, guild_id, schedule_id))
        else:
            changed = await tx.execute(
                "UPDATE schedule_state SET paused = 0, paused_by = NULL, paused_at = NULL, active_since = ?"
                " WHERE guild_id = ? AND schedule_id = ? AND paused = 1", (stamp, guild_id, schedule_id))
        return changed > 0


async def known_guilds(db: Database) -> list[int]:
    return [r[0] for r in await db.fetchall("SELECT DISTINCT guild_id FROM schedule_state ORDER BY guild_id")]


# --- ledger ----------------------------------------------------------------------------------------
async def claim(tx: Tx, *, guild_id: int, schedule_id: str, kind: str, occurrence: datetime, status: str,
                now: datetime, detail: str | None = None) -> int | None:
    """Insert the ledger row; its id when this caller owns the occurrence, None if someone already did."""
    row = await _fetchone(
        tx, "INSERT INTO schedule_ledger (guild_id, schedule_id, kind, occurrence, status, claimed_at, detail)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (guild_id, schedule_id, kind, occurrence) DO NOTHING"
        " RETURNING id",
        (guild_id, schedule_id, kind, to_db_time(occurrence), status, to_db_time(now), detail))
    return None if row is None else row[0]


async def record(db: Database, *, guild_id: int, schedule_id: str, occurrences: Iterable[datetime], status: str,
                 now: datetime, detail: str | None = None) -> None:
    """Ledger rows for occurrences that will not post (coalesced, skipped, paused); existing rows stay."""
    rows = [(guild_id, schedule_id, to_db_time(o), status, to_db_time(now), detail) for o in occurrences]
    if not rows:
        return
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO schedule_ledger (guild_id, schedule_id, kind, occurrence, status, claimed_at, detail)"
            " VALUES (?, ?, 'regular', ?, ?, ?, ?) ON CONFLICT (guild_id, schedule_id, kind, occurrence) DO NOTHING",
            rows)


async def set_item(tx: Tx, ledger_id: int, item: int) -> None:
    await tx.execute("UPDATE schedule_ledger SET item = ? WHERE id = ?", (item, ledger_id))


async def finish(db: Database, ledger_id: int, status: str, detail: str | None = None) -> None:
    await db.execute("UPDATE schedule_ledger SET status = ?, detail = ? WHERE id = ?", (status, detail, ledger_id))


async def last_regular(db: Database, guild_id: int) -> dict[str, datetime]:
    """The latest regular occurrence in the ledger of each schedule."""
    rows = await db.fetchall(  # one round trip to aiosqlite's thread (start-up, per guild)
        "SELECT schedule_id, MAX(occurrence) FROM schedule_ledger WHERE guild_id = ? AND kind = 'regular'"
        " GROUP BY schedule_id", (guild_id,))
    return {r[0]: from_db_time(r[1]) for r in rows}


async def last_entries(db: Database, guild_id: int) -> dict[str, dict]:
    """The most recent ledger row of each schedule (for /schedule list)."""
    rows = await db.fetchall(
        "SELECT l.schedule_id, l.kind, l.occurrence, l.status FROM schedule_ledger l"
        " WHERE l.guild_id = ? AND l.id = (SELECT MAX(m.id) FROM schedule_ledger m"
        "   WHERE m.guild_id = l.guild_id AND m.schedule_id = l.schedule_id)", (guild_id,))
    return {r["schedule_id"]: {"kind": r["kind"], "occurrence": from_db_time(r["occurrence"]),
                               "status": r["status"]} for r in rows}


async def claimed(db: Database, guild_id: int) -> list[dict]:
    """Rows claimed but never finished (a crash between claim and delivery)."""
    rows = await db.fetchall(
        "SELECT id, schedule_id, kind, occurrence, item FROM schedule_ledger WHERE guild_id = ? AND status = 'claimed'"
        " ORDER BY occurrence, id", (guild_id,))
    return [{"id": r[0], "schedule_id": r[1], "kind": r[2], "occurrence": from_db_time(r[3]), "item": r[4]}
            for r in rows]


async def entries(db: Database, guild_id: int, schedule_id: str | None = None) -> list[dict]:
    sql = ("SELECT id, schedule_id, kind, occurrence, status, item, detail FROM schedule_ledger WHERE guild_id = ?"
           + (" AND schedule_id = ?" if schedule_id else "") + " ORDER BY occurrence, id")
    rows = await db.fetchall(sql, (guild_id, schedule_id) if schedule_id else (guild_id,))
    return [dict(r) | {"occurrence": from_db_time(r["occurrence"])} for r in rows]


# --- pools -----------------------------------------------------------------------------------------
async def pool_state(tx: Tx, guild_id: int, pool: str) -> PoolState:
    row = await _fetchone(
        tx, "SELECT cycle, position, avoid_item, last_item FROM schedule_pools WHERE guild_id = ? AND pool = ?",
        (guild_id, pool))
    return PoolState() if row is None else PoolState(row[0], row[1], row[2], row[3])


async def save_pool_state(tx: Tx, guild_id: int, pool: str, state: PoolState) -> None:
    await tx.execute(
        "INSERT INTO schedule_pools (guild_id, pool, cycle, position, avoid_item, last_item) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (guild_id, pool) DO UPDATE SET cycle = excluded.cycle, position = excluded.position,"
        " avoid_item = excluded.avoid_item, last_item = excluded.last_item",
        (guild_id, pool, state.cycle, state.position, state.avoid_item, state.last_item))


async def pool_states(db: Database, guild_id: int) -> dict[str, PoolState]:
    rows = await db.fetchall(
        "SELECT pool, cycle, position, avoid_item, last_item FROM schedule_pools WHERE guild_id = ?", (guild_id,))
    return {r[0]: PoolState(r[1], r[2], r[3], r[4]) for r in rows}
