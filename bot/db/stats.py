"""SQL for the community health stats. Read-only over other areas' tables:

- member_events (membership): kind 'joined' / 'left', `at` UTC text
- members (membership): joined_at / left_at, for the member count at the end of a period
- activity_daily (participation): messages per member per local day
- participation_ledger (participation): action ('prompt_answer', 'quiz_answer', ...), local `day`
- prompt_posts, quiz_runs / quiz_questions / quiz_answers (participation)
- feedback_items (feedback): status
- member_names (stats): display names the bot saw, for the command line (written here)
- stats_member_days (stats): members active on each local day, kept on write by bot/db/participation.py
  (migration 0013); built in steps by bot/db/stats_build.py when the migration found no rows for a guild
- stats_days, stats_windows, stats_window_state (stats, migration 0020): the number of those per day, and
  per-member sums over the week and month ending today, kept on write by bot/db/participation.py and
  moved (or built) in steps by bot/db/stats_build.py (migration 0029) when a report asks for them
- stats_quiz_days (stats, migration 0023): quiz answers per member per local day (the windows' time zone),
  kept by bot/db/quizzes.add_answers, counted again from the answers by bot/db/stats_build.py

A table that does not exist (a feature not installed) counts as zero: `existing_tables` is read once.
Day bounds are local dates ('YYYY-MM-DD', inclusive); time bounds are UTC text, [start, end).
"""
from __future__ import annotations

import json
from datetime import datetime

from .connection import Database, to_db_time


async def existing_tables(db: Database) -> set[str]:
    if db.dialect == "postgresql":
        rows = await db.fetchall("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")
    else:
        rows = await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {r[0] for r in rows}


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
    the activity and ledger rows in steps (bot/db/stats_build.py; rows from before the table, or loaded
    in bulk). False while that build runs, or where it never ran (a read-only database): read the rows."""
    if "stats_member_days" not in tables or "stats_member_days_state" not in tables:
        return False
    return await db.fetchval("SELECT 1 FROM stats_member_days_state WHERE guild_id = ?", (guild_id,)) is not None


async def _active_per_day(db: Database, tables: set[str], cte: str, params: dict) -> dict[str, int]:
    """Active members per day from `stats_member_days` (their count per day, `stats_days`, once migration
    0020 ran), plus quiz answerers who did nothing else that day (answers are few; they count on the
    local day they were given)."""
    if "stats_days" in tables:
        rows = await db.fetchall("SELECT day, active FROM stats_days WHERE guild_id = :guild AND day >= :first"
                                 " AND day <= :last AND active > 0", params)
    else:
        rows = await db.fetchall("SELECT day, COUNT(*) FROM stats_member_days WHERE guild_id = :guild"
                                 " AND day >= :first AND day <= :last GROUP BY day", params)
    per_day = {r[0]: int(r[1]) for r in rows}
    if {"quiz_answers", "quiz_questions", "quiz_runs"} <= tables:
        for day, count in await db.fetchall(cte + _QUIZ_ONLY_PER_DAY, params):
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


# --- kept windows (migration 0020) -----------------------------------------------------------------
# A window holds, per member, the sums of the activity rows of days >= first_day and the ledger rows at
# >= start_at (first_day's local midnight): the writes add to it (bot/db/participation.py), and moving it
# to a later first day subtracts the days that left it (bot/db/stats_build.py, in steps). A report for the
# `window_days` days ending today then reads a few hundred thousand rows less: one row per member active
# in the window.

async def window_activity(db: Database, tables: set[str], guild_id: int, window_days: int,
                          days: list[tuple[str, datetime, datetime]], top: int) -> dict | None:
    """`activity` for the kept window of `window_days` days (stats_build.window_ready first) whose last day is the
    last of `days`: the same figures, from one row per active member and one count per day. None when a
    row lies after the period (a clock set back): the window holds it, the period does not."""
    bounds = [(d, to_db_time(s), to_db_time(e)) for d, s, e in days]
    params = {"guild": guild_id, "window": window_days, "first": bounds[0][0], "last": bounds[-1][0],
              "start": bounds[0][1], "end": bounds[-1][2], "top": top}
    later = await db.fetchone(
        "SELECT EXISTS (SELECT 1 FROM participation_ledger WHERE guild_id = :guild AND at >= :end),"
        " EXISTS (SELECT 1 FROM activity_daily WHERE guild_id = :guild AND day > :last)", params)
    if later[0] or later[1]:
        return None
    row = await db.fetchone("SELECT active, posters, participants, messages, prompt_answers, prompt_people"
                            " FROM stats_window_state WHERE guild_id = :guild AND window_days = :window", params)
    if row is None:  # (moved away meanwhile: read the rows)
        return None
    active, posters, participants, messages, prompt_answers, prompt_people = (int(v or 0) for v in row)
    quiz_answers = quiz_people = 0
    per_day: dict[str, int] = {}
    rows = await db.fetchall("SELECT day, active FROM stats_days WHERE guild_id = :guild AND day >= :first"
                             " AND day <= :last AND active > 0", params)
    per_day = {r[0]: int(r[1]) for r in rows}
    # quiz answers: a row per answerer per day (stats_quiz_days, kept with the answers); the answerers the
    # window does not hold count as active (and as participants when they have no ledger row)
    row = await db.fetchone(
        "WITH players AS (SELECT user_id, SUM(answers) AS answers FROM stats_quiz_days WHERE guild_id = :guild"
        " AND day >= :first AND day <= :last GROUP BY user_id)"
        " SELECT COALESCE(SUM(p.answers), 0), COUNT(*), SUM(CASE WHEN w.user_id IS NULL THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN w.user_id IS NULL OR w.parts = 0 THEN 1 ELSE 0 END) FROM players p"
        " LEFT JOIN stats_windows w ON w.guild_id = :guild AND w.window_days = :window AND w.user_id = p.user_id",
        params)
    quiz_answers, quiz_people = int(row[0] or 0), int(row[1] or 0)
    active += int(row[2] or 0)
    participants += int(row[3] or 0)
    # and on each day, the answerers who did nothing else that day
    for day, count in await db.fetchall(
            "SELECT q.day, COUNT(*) FROM stats_quiz_days q WHERE q.guild_id = :guild AND q.day >= :first"
            " AND q.day <= :last AND NOT EXISTS (SELECT 1 FROM stats_member_days m WHERE m.guild_id = :guild"
            " AND m.day = q.day AND m.user_id = q.user_id) GROUP BY q.day", params):
        per_day[day] = per_day.get(day, 0) + int(count)
    leaders = await db.fetchall(
        "SELECT user_id, messages, parts, points FROM stats_windows WHERE guild_id = :guild AND window_days = :window"
        " ORDER BY score DESC, points DESC, user_id ASC LIMIT :top", params)
    totals = dict(zip(_TOTALS, (active, posters, participants, messages, prompt_answers, prompt_people,
                                quiz_answers, quiz_people)))
    return {"per_day": per_day, "totals": totals,
            "top": [(int(r[0]), int(r[1]), int(r[2]), int(r[3])) for r in leaders]}


def _days_cte(bounds: list[tuple[str, str, str]], *, cast: bool = False) -> tuple[str, dict]:
    """`days (day, day_start, day_end)` as a VALUES table (`cast`: typed, where nothing else gives
    the parameters a type, as in an INSERT's SELECT on PostgreSQL)."""
    value = "CAST(:{}{} AS TEXT)" if cast else ":{}{}"
    values = ", ".join("(" + ", ".join(value.format(k, i) for k in "dse") + ")" for i in range(len(bounds)))
    params = {}
    for i, (day, day_start, day_end) in enumerate(bounds):
        params.update({f"d{i}": day, f"s{i}": day_start, f"e{i}": day_end})
    return f"WITH days (day, day_start, day_end) AS (VALUES {values})", params


# quiz answerers who did nothing else that day (they count on the local day they answered). CROSS JOIN
# keeps the days as SQLite's outer loop: each day reads its own range of the answers' time index.
_QUIZ_ONLY_PER_DAY = (
    " SELECT d.day, COUNT(DISTINCT qa.user_id) FROM days d CROSS JOIN quiz_answers qa"
    " JOIN quiz_questions qq ON qq.id = qa.question_id JOIN quiz_runs r ON r.id = qq.run_id"
    " WHERE qa.answered_at >= d.day_start AND qa.answered_at < d.day_end"
    " AND r.guild_id = :guild"
    " AND NOT EXISTS (SELECT 1 FROM stats_member_days m WHERE m.guild_id = :guild AND m.day = d.day"
    " AND m.user_id = qa.user_id) GROUP BY d.day")


async def events_per_day(db: Database, tables: set[str], guild_id: int,
                         days: list[tuple[str, datetime, datetime]]) -> dict[str, tuple[int, int]]:
    """{local day: (joins, leaves)} over `days` (local day, its UTC start, its UTC end), counted in SQL."""
    if "member_events" not in tables or not days:
        return {}
    bounds = [(d, to_db_time(s), to_db_time(e)) for d, s, e in days]
    cte, params = _days_cte(bounds)
    rows = await db.fetchall(
        cte + " SELECT d.day, SUM(CASE WHEN e.kind = 'joined' THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN e.kind = 'left' THEN 1 ELSE 0 END) FROM days d CROSS JOIN member_events e"
        " WHERE e.guild_id = :guild AND e.at >= d.day_start AND e.at < d.day_end AND e.kind IN ('joined', 'left')"
        " GROUP BY d.day",  # (the days outer: each reads its range of the (guild_id, at) index)
        params | {"guild": guild_id, "start": bounds[0][1], "end": bounds[-1][2]})
    return {r[0]: (int(r[1]), int(r[2])) for r in rows}


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


async def cohort_activity(db: Database, tables: set[str], guild_id: int, weeks: list[tuple[datetime, str]],
                          end: datetime, last_day: str) -> tuple[dict[int, int], dict[tuple[int, int], int]]:
    """Retention by join cohort: `weeks` are the period's weeks in order, each (UTC start, first local
    day). Returns ({cohort week: members who joined then}, {(cohort week, activity week): how many of
    them were active that week}). Week numbers come from CASE over the bounds (portable SQL). The
    cohort's members are the outer loop (CROSS JOIN: SQLite keeps the order; a plain join elsewhere),
    each reading its own days from the (guild_id, user_id, day) index (migration 0024): the work is the
    cohort's active days, not every member's active day of the period (10x less for a quarter)."""
    if not weeks or not {"members", "stats_member_days"} <= tables:
        return {}, {}
    if await member_days_ready(db, tables, guild_id, end):
        days = "stats_member_days"
    else:  # (being built: the same (member, day) rows, from the activity and ledger rows by member)
        days = ("(SELECT guild_id, user_id, day FROM activity_daily WHERE messages > 0 UNION ALL"
                " SELECT guild_id, user_id, day FROM participation_ledger)")
    join_case = "CASE " + " ".join("WHEN m.joined_at < ? THEN ?" for _ in weeks[1:]) + f" ELSE {len(weeks) - 1} END" \
        if len(weeks) > 1 else "0"
    day_case = "CASE " + " ".join("WHEN d.day < ? THEN ?" for _ in weeks[1:]) + f" ELSE {len(weeks) - 1} END" \
        if len(weeks) > 1 else "0"
    join_params = [p for i, (start, _) in enumerate(weeks[1:]) for p in (to_db_time(start), i)]
    day_params = [p for i, (_, day) in enumerate(weeks[1:]) for p in (day, i)]
    cohort = (f"SELECT m.user_id, {join_case} AS w FROM members m WHERE m.guild_id = ? AND m.joined_at >= ?"
              " AND m.joined_at < ?")
    cohort_params = [*join_params, guild_id, to_db_time(weeks[0][0]), to_db_time(end)]
    sizes = await db.fetchall(f"SELECT w, COUNT(*) FROM ({cohort}) c GROUP BY w", cohort_params)
    active = await db.fetchall(
        f"SELECT c.w, {day_case} AS dw, COUNT(DISTINCT c.user_id) FROM ({cohort}) c CROSS JOIN {days} d"
        " WHERE d.guild_id = ? AND d.user_id = c.user_id AND d.day >= ? AND d.day <= ? GROUP BY c.w, dw", (*day_params, *cohort_params, guild_id, weeks[0][1], last_day))
    return {int(r[0]): int(r[1]) for r in sizes}, {(int(r[0]), int(r[1])): int(r[2]) for r in active}


async def busiest(db: Database, tables: set[str], guild_id: int, first_hour: str, end_hour: str,
                  top: int = 8) -> tuple[list[tuple[int, int]], dict[int, int]]:
    """([(channel_id, messages)] busiest first, {local hour of day: messages}) for local hours
    [first_hour, end_hour) ('YYYY-MM-DD HH')."""
    if "activity_channel_hours" not in tables:
        return [], {}
    params = (guild_id, first_hour, end_hour)
    channels = await db.fetchall(
        "SELECT channel_id, SUM(messages) AS n FROM activity_channel_hours WHERE guild_id = ? AND hour >= ?"
        " AND hour < ? GROUP BY channel_id ORDER BY n DESC, channel_id LIMIT ?", (*params, top))
    hours = await db.fetchall(
        "SELECT substr(hour, 12, 2) AS h, SUM(messages) FROM activity_channel_hours WHERE guild_id = ?"
        " AND hour >= ? AND hour < ? GROUP BY h", params)
    return [(int(r[0]), int(r[1])) for r in channels], {int(r[0]): int(r[1]) for r in hours}
