"""SQL for native polls: the polls the bot posted and the members' votes."""
from __future__ import annotations

import json
from datetime import datetime

from .connection import Database, from_db_time, to_db_time

_COLUMNS = ("id, guild_id, source, question, answers, multiselect, channel_key, channel_id, message_id, created_by,"
            " opened_at, ends_at, status, closed_at")


def _poll(row) -> dict | None:
    if row is None:
        return None
    out = dict(row)
    out["answers"] = tuple(json.loads(out["answers"]))
    out["multiselect"] = bool(out["multiselect"])
    for key in ("opened_at", "ends_at", "closed_at"):
        out[key] = from_db_time(out[key])
    return out


async def add(db: Database, *, guild_id: int, source: str, question: str, answers: tuple[str, ...],
              multiselect: bool, channel_key: str, created_by: int | None, now: datetime,
              ends_at: datetime) -> tuple[dict, bool]:
    """The poll of `source`, inserted unless it exists; (row, True when this call inserted it)."""
    async with db.transaction() as tx:
        row = await tx.fetchone(
            "INSERT INTO polls (guild_id, source, question, answers, multiselect, channel_key, created_by, opened_at,"
            " ends_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            f" ON CONFLICT (guild_id, source) DO NOTHING RETURNING {_COLUMNS}",
            (guild_id, source, question, json.dumps(list(answers), ensure_ascii=False), 1 if multiselect else 0,
             channel_key, created_by, to_db_time(now), to_db_time(ends_at)))
        if row is not None:
            return _poll(row), True
        return _poll(await tx.fetchone(f"SELECT {_COLUMNS} FROM polls WHERE guild_id = ? AND source = ?",
                                       (guild_id, source))), False


async def get(db: Database, poll_id: int) -> dict | None:
    return _poll(await db.fetchone(f"SELECT {_COLUMNS} FROM polls WHERE id = ?", (poll_id,)))


async def by_message(db: Database, message_id: int) -> dict | None:
    return _poll(await db.fetchone(f"SELECT {_COLUMNS} FROM polls WHERE message_id = ?", (message_id,)))


async def open_polls(db: Database) -> list[dict]:
    return [_poll(r) for r in await db.fetchall(f"SELECT {_COLUMNS} FROM polls WHERE status = 'open' ORDER BY id")]


async def latest_open(db: Database, guild_id: int) -> dict | None:
    return _poll(await db.fetchone(
        f"SELECT {_COLUMNS} FROM polls WHERE guild_id = ? AND status = 'open' ORDER BY id DESC LIMIT 1", (guild_id,)))


async def set_posted(db: Database, poll_id: int, channel_id: int | None, message_id: int | None) -> None:
    await db.execute("UPDATE polls SET channel_id = COALESCE(?, channel_id), message_id = COALESCE(?, message_id)"
                     " WHERE id = ?", (channel_id, message_id, poll_id))


async def close(db: Database, poll_id: int, now: datetime) -> bool:
    """True for the one caller that closed it."""
    changed = await db.execute("UPDATE polls SET status = 'closed', closed_at = ? WHERE id = ? AND status = 'open'",
                               (to_db_time(now), poll_id))
    return changed == 1


async def vote(db: Database, poll_id: int, user_id: int, answer_id: int, now: datetime) -> bool:
    """Record one vote; False if this member's vote for this answer was already recorded."""
    async with db.transaction() as tx:
        row = await tx.fetchone(
            "INSERT INTO poll_votes (poll_id, user_id, answer_id, voted_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (poll_id, user_id, answer_id) DO NOTHING RETURNING poll_id",
            (poll_id, user_id, answer_id, to_db_time(now)))
        return row is not None


async def unvote(db: Database, poll_id: int, user_id: int, answer_id: int) -> bool:
    changed = await db.execute("DELETE FROM poll_votes WHERE poll_id = ? AND user_id = ? AND answer_id = ?",
                               (poll_id, user_id, answer_id))
    return changed == 1


async def sync_votes(db: Database, poll_id: int, votes: dict[int, list[int]], now: datetime) -> None:
    """Make the recorded votes Discord's (votes and take-backs the gateway did not bring: a restart)."""
    wanted = {(int(user), int(answer)) for answer, users in votes.items() for user in users}
    async with db.transaction() as tx:
        have = {(int(u), int(a)) for u, a in await tx.fetchall(
            "SELECT user_id, answer_id FROM poll_votes WHERE poll_id = ?", (poll_id,))}
        await tx.executemany("DELETE FROM poll_votes WHERE poll_id = ? AND user_id = ? AND answer_id = ?",
                             [(poll_id, u, a) for u, a in have - wanted])
        await tx.executemany("INSERT INTO poll_votes (poll_id, user_id, answer_id, voted_at) VALUES (?, ?, ?, ?)"
                             " ON CONFLICT (poll_id, user_id, answer_id) DO NOTHING",
                             [(poll_id, u, a, to_db_time(now)) for u, a in wanted - have])


async def counts(db: Database, poll_id: int) -> tuple[dict[int, int], int]:
    """({answer id: votes}, distinct voters)."""
    rows = await db.fetchall("SELECT answer_id, COUNT(*) FROM poll_votes WHERE poll_id = ? GROUP BY answer_id",
                             (poll_id,))
    voters = await db.fetchval("SELECT COUNT(DISTINCT user_id) FROM poll_votes WHERE poll_id = ?", (poll_id,))
    return {int(a): int(n) for a, n in rows}, int(voters or 0)
