"""SQL for the community health stats. Read-only over other areas' tables:

- member_events (membership): kind 'joined' / 'left', `at` UTC text
- members (membership): joined_at / left_at, for the member count at the end of a period
- activity_daily (participation): messages per member per local day
- participation_ledger (participation): action ('prompt_answer', 'quiz_answer', ...), local `day`
- prompt_posts, quiz_runs / quiz_questions / quiz_answers (participation)
- feedback_items (feedback): status
- member_names (stats): display names the bot saw, for the command line (written here)
- stats_member_days (stats): members active on each local day, kept on write by bot/db/participation.py
  (migration 0013); built here at a guild's first read when the migration found no rows for it

A table that does not exist (a feature not installed) counts as zero: `existing_tables` is read once.
Day bounds are local dates ('YYYY-MM-DD', inclusive); time bounds are UTC text, [start, end).
"""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from .connection import Database, from_db_time, to_db_time


async def existing_tables(db: Database) -> set[str]:
    if db.dialect == "postgresql":
        rows = await db.fetchall("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")
    else:
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


def _activity_sql(tables: set[str], days: list[tuple[str, str, str]], *,
                  by_day: bool = True) -> tuple[str, list] | None:
    """A CTE `acts` of everything members did in the period, one row per message day, ledger row or quiz
    answer: (user_id, day, messages, parts, points, prompt, quiz). Its parameters come with it; the
    caller fills the guild and bounds in (see `_acts_params`). None when no table exists. Without
    `by_day` the ledger rows' and quiz answers' day is NULL: the ledger is read from its time index alone
    and answers need no day bounds (for sums over the whole period)."""
    parts = []
    if "activity_daily" in tables:
        parts.append("SELECT user_id, day, messages, 0 AS parts, 0 AS points, 0 AS prompt, 0 AS quiz"
                     " FROM activity_daily WHERE guild_id = :guild AND day >= :first AND day <= :last AND messages > 0")
    if "participation_ledger" in tables:
        parts.append(f"SELECT user_id, {'day' if by_day else 'NULL'} AS day, 0 AS messages, 1 AS parts, points,"
                     " CASE WHEN action = 'prompt_answer' THEN 1 ELSE 0 END AS prompt, 0 AS quiz"
                     " FROM participation_ledger WHERE guild_id = :guild AND at >= :start AND at < :end")
    if {"quiz_answers", "quiz_questions", "quiz_runs"} <= tables:
        # a quiz answer counts on the local day it was given: the days' UTC bounds come as a VALUES table
        # (CROSS JOIN: SQLite then keeps the answers' time index as the outer loop; a plain join elsewhere)
        day_join = (" CROSS JOIN days d WHERE qa.answered_at >= d.day_start AND qa.answered_at < d.day_end AND"
                    if by_day else " WHERE")
        parts.append(f"SELECT qa.user_id AS user_id, {'d.day' if by_day else 'NULL'} AS day, 0 AS messages,"
                     " 0 AS parts, 0 AS points, 0 AS prompt, 1 AS quiz FROM quiz_answers qa"
                     " JOIN quiz_questions qq ON qq.id = qa.question_id JOIN quiz_runs r ON r.id = qq.run_id"
                     f"{day_join} r.guild_id = :guild AND qa.answered_at >= :start AND qa.answered_at < :end")
    if not parts:
        return None
    values = ", ".join(f"(:d{i}, :s{i}, :e{i})" for i in range(len(days)))
    params = {}
    for i, (day, day_start, day_end) in enumerate(days):
        params.update({f"d{i}": day, f"s{i}": day_start, f"e{i}": day_end})
    return (f"WITH days (day, day_start, day_end) AS (VALUES {values}), acts AS ({' UNION ALL '.join(parts)})",
            params)


_TOTALS = ("active", "posters", "participants", "messages", "prompt_answers", "prompt_people", "quiz_answers",
           "quiz_people")


def _flag(column: str) -> str:
    return f"SUM(CASE WHEN {column} > 0 THEN 1 ELSE 0 END)"


async def member_days_ready(db: Database, tables: set[str], guild_id: int, now: datetime) -> bool:
    """Whether `stats_member_days` holds this guild's active days: kept on write, and built once from
    the activity and ledger rows at the first read (rows from before the table, or loaded in bulk).
    False when it cannot be (a read-only database where it was never built): read the rows then."""
    if "stats_member_days" not in tables:
        return False
    state = "SELECT 1 FROM stats_member_days_state WHERE guild_id = ?"
    if await db.fetchval(state, (guild_id,)) is not None:
        return True
    try:
        async with db.transaction() as tx:
            if await tx.fetchval(state, (guild_id,)) is not None:
                return True
            if "activity_daily" in tables:
                await tx.execute(
                    "INSERT INTO stats_member_days (guild_id, day, user_id) SELECT guild_id, day, user_id"
                    " FROM activity_daily WHERE guild_id = ? AND messages > 0 ON CONFLICT DO NOTHING", (guild_id,))
            if "participation_ledger" in tables:
                await tx.execute(
                    "INSERT INTO stats_member_days (guild_id, day, user_id) SELECT DISTINCT guild_id, day, user_id"
                    " FROM participation_ledger WHERE guild_id = ? ON CONFLICT DO NOTHING", (guild_id,))
            await tx.execute("INSERT INTO stats_member_days_state (guild_id, built_at) VALUES (?, ?)",
                             (guild_id, to_db_time(now)))
        return True
    except sqlite3.OperationalError:  # a read-only database (the command line): nothing can be written
        return False


async def _active_per_day(db: Database, tables: set[str], cte: str, params: dict) -> dict[str, int]:
    """Active members per day from `stats_member_days` (index counts), plus quiz answerers who did
    nothing else that day (answers are few; they count on the local day they were given)."""
    rows = await db.fetchall("SELECT day, COUNT(*) FROM stats_member_days WHERE guild_id = :guild AND day >= :first"
                             " AND day <= :last GROUP BY day", params)
    per_day = {r[0]: int(r[1]) for r in rows}
    if {"quiz_answers", "quiz_questions", "quiz_runs"} <= tables:
        rows = await db.fetchall(
            f"{cte} SELECT d.day, COUNT(DISTINCT qa.user_id) FROM quiz_answers qa"
            " JOIN quiz_questions qq ON qq.id = qa.question_id JOIN quiz_runs r ON r.id = qq.run_id"
            " CROSS JOIN days d WHERE qa.answered_at >= d.day_start AND qa.answered_at < d.day_end"
            " AND r.guild_id = :guild AND qa.answered_at >= :start AND qa.answered_at < :end"
            " AND NOT EXISTS (SELECT 1 FROM stats_member_days m WHERE m.guild_id = :guild AND m.day = d.day"
            " AND m.user_id = qa.user_id) GROUP BY d.day", params)
        for day, count in rows:
            per_day[day] = per_day.get(day, 0) + int(count)
    return per_day


async def activity(db: Database, tables: set[str], guild_id: int, days: list[tuple[str, datetime, datetime]],
                   top: int, *, member_days: bool = False) -> dict:
    """The period's activity, aggregated in SQL (nothing per row comes back to Python): `days` are
    (local day 'YYYY-MM-DD', its UTC start, its UTC end), in order. Returns
    {"per_day": {day: active members}, "totals": {...}, "top": [(user_id, messages, parts, points)]}.
    Ledger rows count by their time ([first day's start, last day's end) is the same local days) so the
    (guild_id, at) index serves them. One statement reads the period's rows once: they are summed per
    (member, day), then per member (both materialised), and the chart's days, the totals and the top
    contributors are read from those sums (three statements read the rows three times: 2-4x slower)."""
    bounds = [(d, to_db_time(s), to_db_time(e)) for d, s, e in days]
    built = _activity_sql(tables, bounds)
    empty = dict.fromkeys(_TOTALS, 0)
    if built is None or not bounds:
        return {"per_day": {}, "totals": empty, "top": []}
    cte, params = built
    params |= {"guild": guild_id, "first": bounds[0][0], "last": bounds[-1][0], "start": bounds[0][1],
               "end": bounds[-1][2], "top": top}
    # every acts row is an active member on its day (message days count only with messages > 0)
    if member_days:  # kept per (member, day): see member_days_ready
        per_day = await _active_per_day(db, tables, cte, params)
    else:
        rows = await db.fetchall(f"{cte} SELECT day, COUNT(DISTINCT user_id) FROM acts GROUP BY day", params)
        per_day = {r[0]: int(r[1]) for r in rows}
    sums_cte = _activity_sql(tables, bounds, by_day=False)[0]  # the sums need no day: a cheaper read
    rows = await db.fetchall(
        f"{sums_cte}, member_sums AS MATERIALIZED (SELECT user_id, SUM(messages) AS m, SUM(parts) AS p,"
        " SUM(points) AS pts, SUM(prompt) AS pr, SUM(quiz) AS q FROM acts GROUP BY user_id)"
        " SELECT 'totals' AS kind, NULL AS k, COUNT(*) AS a, " + _flag("m") + " AS b,"
        " SUM(CASE WHEN p > 0 OR q > 0 THEN 1 ELSE 0 END) AS c, COALESCE(SUM(m), 0) AS d, COALESCE(SUM(pr), 0) AS e,"
        " " + _flag("pr") + " AS f, COALESCE(SUM(q), 0) AS g, " + _flag("q") + " AS h FROM member_sums"
        " UNION ALL SELECT * FROM (SELECT 'top', user_id, m, p, pts, 0, 0, 0, 0, 0 FROM member_sums"
        " WHERE m > 0 OR p > 0 ORDER BY m + p DESC, pts DESC, user_id ASC LIMIT :top) AS leaders", params)
    totals, leaders = empty, []
    for r in rows:
        if r[0] == "totals":
            totals = {k: int(v or 0) for k, v in zip(_TOTALS, tuple(r)[2:])}
        else:
            leaders.append((int(r[1]), int(r[2]), int(r[3]), int(r[4])))
    leaders.sort(key=lambda t: (-(t[1] + t[2]), -t[3], t[0]))  # (a UNION ALL's rows come in no set order)
    return {"per_day": per_day, "totals": totals, "top": leaders}


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
