"""SQL for building the stats rollups in small steps (migration 0029), beside bot/db/stats.py.

A community that upgrades with a year of history (or a bulk load) has rollups to build from millions
of rows: done in one transaction that held the writer for about a minute at 100,000 members, and
claims, commands and posts waited behind it. Here every `step` is one short transaction (a chunk of
about CHUNK_ROWS source rows) that also records how far the build went, so

- the writer is free between steps (the caller yields it), and a step never holds it long;
- a build cut short at any point (kill -9) goes on from where the last committed step left it;
- a row is counted exactly once even while the bot writes during the build.

What is built, and why each is exact with writes going on:

- member-days (stats_member_days, stats_days): a set, kept on every write already. The build inserts
  the activity rows, in (day, user) order, then the ledger rows, in id order, each chunk with ON CONFLICT
  DO NOTHING, and adds to a day's count only the (member, day) rows it really inserted (RETURNING).
  Done: stats_member_days_state holds the guild.
- the kept windows (stats_windows, stats_window_state): a window holds the activity rows from
  (first_day, first_user) on, in (day, member) order, and the ledger rows at >= start_at, and the writes
  add a row to it exactly when its key is at or past those (bot/db/participation.py). The builder moves first_day and start_at a chunk at a time
  to the targets the report asks for: back in time, adding the rows it passes (a window built from
  nothing starts at the far future), or forward, subtracting them (the days that left the window).
  A write lands either before a chunk (the chunk reads it) or after (its key is then past the cursor
  and the write adds it itself), never both. The window's totals move with each chunk by how many
  members started or stopped being active, posters, participants or prompt answerers.
- the quiz days (stats_quiz_days, stats_quiz_state): the answers per member per local day, added by
  every answer's write once the guild has a kept window. Extending them to earlier days (or counting
  them again in a new time zone) counts, when the fill starts, the answers of the questions still open
  then, and in chunks afterwards the answers of the questions that were closed then (no answer can be
  added to those); later answers are counted by their writes.

A window is read (`window_ready`) only when both cursors are at their targets, in the quiz days' zone,
with no fill under way; until then /stats reads the raw rows on the read connections (the same
figures, slower), so a report is never wrong while a build runs.
"""
from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .connection import Database, Tx, from_db_time, to_db_time

CHUNK_ROWS = 1000  # source rows per step (inline; the background sizes its own): tens of ms of the writer
FAR_DAY = "9999-12-31"  # a window's cursors before its build: nothing counted yet
FAR_AT = "9999-12-31T00:00:00.000000Z"
_QUIZ_TABLES = frozenset({"quiz_answers", "quiz_questions", "quiz_runs"})
_BUILD_TABLES = frozenset({"stats_member_days", "stats_member_days_state", "stats_member_days_build", "stats_days",
                           "stats_windows", "stats_window_state", "stats_quiz_days", "stats_quiz_state",
                           "activity_daily", "participation_ledger"})


def can_build(tables: set[str]) -> bool:
    return _BUILD_TABLES <= tables


def _zone(name: str):
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def midnight(day: str, tz) -> str:
    """The UTC start of a local day, as stored text."""
    return to_db_time(datetime.combine(date.fromisoformat(day), time(0), tzinfo=tz).astimezone(timezone.utc))


# --- what is left to do ----------------------------------------------------------------------------

async def _next_work(r, tables: set[str], guild_id: int) -> tuple | None:
    """The next step for this guild, read through `r` (the database, or a transaction): None when
    the rollups are built and every window is where it was asked to be."""
    if await r.fetchval("SELECT 1 FROM stats_member_days_state WHERE guild_id = ?", (guild_id,)) is None:
        return ("member_days",)
    quiz = await r.fetchone("SELECT time_zone, first_day, fill_at FROM stats_quiz_state WHERE guild_id = ?",
                            (guild_id,))
    if quiz is not None and quiz[2] is not None:
        return ("quiz_fill",)
    windows = await r.fetchall(
        "SELECT window_days, first_day, start_at, target_first_day, target_start_at, time_zone, first_user"
        " FROM stats_window_state WHERE guild_id = ? ORDER BY window_days", (guild_id,))
    if not windows:
        return None
    zone, need = min(w[5] for w in windows), min(w[3] for w in windows)
    if quiz is None or quiz[0] != zone or need < quiz[1]:
        return ("quiz_start", zone, need)
    for w in windows:
        if (w[1], w[2], int(w[6])) != (w[3], w[4], 0):
            return ("window", int(w[0]))
    if need > quiz[1]:
        return ("quiz_trim", need)
    return None


async def pending(db: Database, tables: set[str], guild_id: int) -> bool:
    """Whether this guild's rollups have a step to take (a read: no writer)."""
    return can_build(tables) and await _next_work(db, tables, guild_id) is not None


async def step(db: Database, tables: set[str], guild_id: int, now: datetime, rows: int | None = None) -> bool:
    """Take the next step, in one short transaction (chunks of `rows` source rows, CHUNK_ROWS by
    default); False when there was nothing left to do."""
    rows = rows or CHUNK_ROWS
    if not can_build(tables) or await _next_work(db, tables, guild_id) is None:
        return False
    async with db.transaction() as tx:
        work = await _next_work(tx, tables, guild_id)  # (again, inside: the report may have moved a target)
        if work is None:
            return False
        kind = work[0]
        if kind == "member_days":
            await _member_days_step(tx, tables, guild_id, now, rows)
        elif kind == "quiz_fill":
            await _quiz_fill_step(tx, guild_id, rows)
        elif kind == "quiz_start":
            await _quiz_fill_start(tx, tables, guild_id, work[1], work[2])
        elif kind == "window":
            await _window_step(tx, guild_id, work[1], rows)
        elif kind == "quiz_trim":  # quiz days no kept window reaches any more
            await tx.execute("DELETE FROM stats_quiz_days WHERE guild_id = ? AND day < ?", (guild_id, work[1]))
            await tx.execute("UPDATE stats_quiz_state SET first_day = ? WHERE guild_id = ?", (work[1], guild_id))
    return True


async def guilds_pending(db: Database, tables: set[str]) -> list[int]:
    """Guilds with a build under way (one cut short by a stop or a crash goes on at start)."""
    if not can_build(tables):
        return []
    rows = await db.fetchall(
        "SELECT guild_id FROM stats_member_days_build UNION SELECT guild_id FROM stats_window_state"
        " WHERE first_day <> target_first_day OR first_user <> 0 OR start_at <> target_start_at"
        " UNION SELECT guild_id FROM stats_quiz_state WHERE fill_at IS NOT NULL")
    return sorted(int(r[0]) for r in rows)


# --- member-days -------------------------------------------------------------------------------------

async def _member_days_step(tx: Tx, tables: set[str], guild_id: int, now: datetime, rows: int) -> None:
    progress = await tx.fetchone("SELECT activity_day, activity_user, activity_done, ledger_id"
                                 " FROM stats_member_days_build WHERE guild_id = ?", (guild_id,))
    if progress is None:  # the first step: the day counts, from the rows the writes kept so far
        await tx.execute("INSERT INTO stats_member_days_build (guild_id, started_at) VALUES (?, ?)",
                         (guild_id, to_db_time(now)))
        await tx.execute("DELETE FROM stats_days WHERE guild_id = ?", (guild_id,))
        await tx.execute("INSERT INTO stats_days (guild_id, day, active) SELECT guild_id, day, COUNT(*)"
                         " FROM stats_member_days WHERE guild_id = ? GROUP BY guild_id, day", (guild_id,))
        return
    day, user, activity_done, ledger_id = progress[0], int(progress[1]), int(progress[2]), int(progress[3])
    if not activity_done:
        after = "guild_id = :guild AND messages > 0 AND day >= :day AND (day > :day OR (day = :day AND user_id > :user))"
        params = {"guild": guild_id, "day": day, "user": user, "skip": rows - 1}
        last = await tx.fetchone(f"SELECT day, user_id FROM activity_daily WHERE {after}"
                                 " ORDER BY day, user_id LIMIT 1 OFFSET :skip", params)
        upto = "" if last is None else " AND (day < :last_day OR (day = :last_day AND user_id <= :last_user))"
        if last is not None:
            params |= {"last_day": last[0], "last_user": int(last[1])}
        added = await tx.fetchall(
            "INSERT INTO stats_member_days (guild_id, day, user_id) SELECT guild_id, day, user_id FROM activity_daily"
            f" WHERE {after}{upto} ON CONFLICT (guild_id, day, user_id) DO NOTHING RETURNING day", params)
        await _count_days(tx, guild_id, added)
        if last is None:
            await tx.execute("UPDATE stats_member_days_build SET activity_done = 1 WHERE guild_id = ?", (guild_id,))
        else:
            await tx.execute("UPDATE stats_member_days_build SET activity_day = ?, activity_user = ? WHERE guild_id = ?",
                             (last[0], int(last[1]), guild_id))
        return
    # the ledger in id order (`+guild_id`: SQLite walks the table by id, not an index by guild)
    params = {"guild": guild_id, "after": ledger_id, "skip": rows - 1}
    last = await tx.fetchval("SELECT id FROM participation_ledger WHERE +guild_id = :guild AND id > :after"
                             " ORDER BY id LIMIT 1 OFFSET :skip", params)
    upto = "" if last is None else " AND id <= :last"
    added = await tx.fetchall(
        "INSERT INTO stats_member_days (guild_id, day, user_id) SELECT DISTINCT guild_id, day, user_id"
        f" FROM participation_ledger WHERE +guild_id = :guild AND id > :after{upto}"
        " ON CONFLICT (guild_id, day, user_id) DO NOTHING RETURNING day", params | {"last": last})
    await _count_days(tx, guild_id, added)
    if last is None:  # done: from here on the writes alone keep it
        await tx.execute("INSERT INTO stats_member_days_state (guild_id, built_at) VALUES (?, ?)"
                         " ON CONFLICT (guild_id) DO NOTHING", (guild_id, to_db_time(now)))
        await tx.execute("DELETE FROM stats_member_days_build WHERE guild_id = ?", (guild_id,))
    else:
        await tx.execute("UPDATE stats_member_days_build SET ledger_id = ? WHERE guild_id = ?", (int(last), guild_id))


async def _count_days(tx: Tx, guild_id: int, added) -> None:
    per_day = Counter(r[0] for r in added)
    if per_day:
        await tx.executemany(
            "INSERT INTO stats_days (guild_id, day, active) VALUES (?, ?, ?) ON CONFLICT (guild_id, day)"
            " DO UPDATE SET active = stats_days.active + excluded.active",
            [(guild_id, d, n) for d, n in sorted(per_day.items())])


# --- the kept windows --------------------------------------------------------------------------------

async def aim_window(db: Database, guild_id: int, window_days: int, first_day: str, start_at: str,
                     time_zone: str) -> None:
    """Ask for the window of `window_days` days from `first_day` (`start_at` its local midnight in UTC),
    kept in `time_zone`: a window not kept yet starts empty (its cursors at the far future), and the
    guild's windows all move to this zone (their rows do not depend on it; the quiz days are counted
    again). The builder's steps take it there."""
    async with db.transaction() as tx:
        row = await tx.fetchone("SELECT target_first_day, target_start_at, time_zone FROM stats_window_state"
                                " WHERE guild_id = ? AND window_days = ?", (guild_id, window_days))
        if row is None:
            await tx.execute(
                "INSERT INTO stats_window_state (guild_id, window_days, first_day, start_at, time_zone,"
                " target_first_day, target_start_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (guild_id, window_days, FAR_DAY, FAR_AT, time_zone, first_day, start_at))
        elif tuple(row) != (first_day, start_at, time_zone):
            await tx.execute("UPDATE stats_window_state SET target_first_day = ?, target_start_at = ?"
                             " WHERE guild_id = ? AND window_days = ?", (first_day, start_at, guild_id, window_days))
        await tx.execute("UPDATE stats_window_state SET time_zone = ? WHERE guild_id = ? AND time_zone <> ?",
                         (time_zone, guild_id, time_zone))


async def window_aimed(db: Database, guild_id: int, window_days: int, first_day: str, start_at: str,
                       time_zone: str) -> bool:
    """Whether the window is already asked for there (a read: the report asks the writer only when not)."""
    row = await db.fetchone("SELECT target_first_day, target_start_at, time_zone FROM stats_window_state"
                            " WHERE guild_id = ? AND window_days = ?", (guild_id, window_days))
    return row is not None and tuple(row) == (first_day, start_at, time_zone)


async def window_ready(db: Database, guild_id: int, window_days: int, first_day: str, start_at: str,
                       time_zone: str) -> bool:
    """Whether the window is built where asked, with its quiz days, so the report can read it."""
    return await db.fetchval(
        "SELECT 1 FROM stats_window_state s JOIN stats_quiz_state q ON q.guild_id = s.guild_id"
        " WHERE s.guild_id = ? AND s.window_days = ? AND s.first_day = ? AND s.start_at = ?"
        " AND s.first_user = 0 AND s.target_first_day = s.first_day AND s.target_start_at = s.start_at"
        " AND s.time_zone = ?"
        " AND q.time_zone = s.time_zone AND q.first_day <= s.first_day AND q.fill_at IS NULL",
        (guild_id, window_days, first_day, start_at, time_zone)) is not None


_LEDGER_CHUNK = ("SELECT user_id, 0 AS m, COUNT(*) AS p, SUM(points) AS pts,"
                 " SUM(CASE WHEN action = 'prompt_answer' THEN 1 ELSE 0 END) AS pr FROM participation_ledger"
                 " WHERE guild_id = :guild AND at >= :lo AND at < :hi GROUP BY user_id")
_ACTIVITY_CHUNK = ("SELECT user_id, SUM(messages) AS m, 0 AS p, 0 AS pts, 0 AS pr FROM activity_daily WHERE"
                   " guild_id = :guild AND messages > 0 AND day >= :lo_day AND day <= :hi_day"
                   " AND (day > :lo_day OR user_id >= :lo_user) AND (day < :hi_day OR user_id < :hi_user)"
                   " GROUP BY user_id")


async def _boundary(tx: Tx, table: str, column: str, guild_id: int, lo: str, hi: str, rows: int, *,
                    down: bool) -> str:
    """Where a chunk of about `rows` rows of [lo, hi) ends: going down, the chunk is [result, hi) (the
    `rows`-th newest key, all rows of that key in); going up, [lo, result) (never empty)."""
    where = f"guild_id = ? AND {column} >= ? AND {column} < ?"
    if down:
        key = await tx.fetchval(f"SELECT {column} FROM {table} WHERE {where} ORDER BY {column} DESC"
                                " LIMIT 1 OFFSET ?", (guild_id, lo, hi, rows - 1))
        return lo if key is None else key
    key = await tx.fetchval(f"SELECT {column} FROM {table} WHERE {where} ORDER BY {column} LIMIT 1 OFFSET ?",
                            (guild_id, lo, hi, rows))
    if key is None:
        return hi
    if key == lo:  # more than `rows` rows share the first key: the chunk is that key's rows
        key = await tx.fetchval(f"SELECT MIN({column}) FROM {table} WHERE guild_id = ? AND {column} > ?"
                                f" AND {column} < ?", (guild_id, lo, hi))
        return hi if key is None else key
    return key


async def _window_step(tx: Tx, guild_id: int, window_days: int, rows: int) -> None:
    """Move one cursor of the window one chunk toward its target: the ledger's (start_at) first, then the
    activity's ((first_day, first_user): a day's rows a chunk of members at a time)."""
    first_day, first_user, start_at, target_day, target_at = await tx.fetchone(
        "SELECT first_day, first_user, start_at, target_first_day, target_start_at FROM stats_window_state"
        " WHERE guild_id = ? AND window_days = ?", (guild_id, window_days))
    if start_at != target_at:
        if target_at < start_at:  # back in time: the rows of [new cursor, cursor) come in
            lo = await _boundary(tx, "participation_ledger", "at", guild_id, target_at, start_at, rows, down=True)
            hi, sign = start_at, 1
        else:  # forward: the rows of [cursor, new cursor) leave
            hi = await _boundary(tx, "participation_ledger", "at", guild_id, start_at, target_at, rows, down=False)
            lo, sign = start_at, -1
        await _apply_chunk(tx, guild_id, window_days, _LEDGER_CHUNK, {"guild": guild_id, "lo": lo, "hi": hi}, sign)
        await tx.execute("UPDATE stats_window_state SET start_at = ? WHERE guild_id = ? AND window_days = ?",
                         (lo if sign > 0 else hi, guild_id, window_days))
        return
    cursor, target = (first_day, int(first_user)), (target_day, 0)
    if target < cursor:
        lo = await _activity_boundary(tx, guild_id, target, cursor, rows, down=True)
        hi, sign = cursor, 1
    else:
        hi = await _activity_boundary(tx, guild_id, cursor, target, rows, down=False)
        lo, sign = cursor, -1
    await _apply_chunk(tx, guild_id, window_days, _ACTIVITY_CHUNK,
                       {"guild": guild_id, "lo_day": lo[0], "lo_user": lo[1], "hi_day": hi[0], "hi_user": hi[1]}, sign)
    await tx.execute("UPDATE stats_window_state SET first_day = ?, first_user = ? WHERE guild_id = ? AND window_days = ?",
                     (*(lo if sign > 0 else hi), guild_id, window_days))


# activity rows with (day, user_id) in [(lo_day, lo_user), (hi_day, hi_user)), on the (guild_id, day, user_id) index
_ACTIVITY_KEYS = ("guild_id = :guild AND messages > 0 AND day >= :lo_day AND day <= :hi_day"
                  " AND (day > :lo_day OR user_id >= :lo_user) AND (day < :hi_day OR user_id < :hi_user)")


async def _activity_boundary(tx: Tx, guild_id: int, lo: tuple, hi: tuple, rows: int, *, down: bool) -> tuple:
    """The activity chunk's other end: going down [result, hi) holds `rows` rows, going up [lo, result)."""
    params = {"guild": guild_id, "lo_day": lo[0], "lo_user": lo[1], "hi_day": hi[0], "hi_user": hi[1],
              "skip": rows - 1 if down else rows}
    order = "DESC" if down else "ASC"
    key = await tx.fetchone(f"SELECT day, user_id FROM activity_daily WHERE {_ACTIVITY_KEYS}"
                            f" ORDER BY day {order}, user_id {order} LIMIT 1 OFFSET :skip", params)
    if key is None:
        return lo if down else hi
    return (key[0], int(key[1]))


def _flag(expr: str) -> str:
    return f"CASE WHEN {expr} THEN 1 ELSE 0 END"


async def _apply_chunk(tx: Tx, guild_id: int, window_days: int, chunk_sql: str, params: dict, sign: int) -> None:
    """Add (sign 1) or subtract (sign -1) a chunk's per-member sums to the window's rows, and move the
    window's totals by what changed: members who became (or stopped being) active, posters, participants
    and prompt answerers, and the messages and prompt answers themselves."""
    op = "+" if sign > 0 else "-"
    cte = f"WITH chunk AS ({chunk_sql}) "
    params = params | {"window": window_days}
    delta = await tx.fetchone(
        cte + "SELECT COALESCE(SUM(" + _flag("nm > 0 OR np > 0") + " - " + _flag("om > 0 OR op > 0") + "), 0),"
        " COALESCE(SUM(" + _flag("nm > 0") + " - " + _flag("om > 0") + "), 0),"
        " COALESCE(SUM(" + _flag("np > 0") + " - " + _flag("op > 0") + "), 0),"
        " COALESCE(SUM(nm - om), 0), COALESCE(SUM(npr - opr), 0),"
        " COALESCE(SUM(" + _flag("npr > 0") + " - " + _flag("opr > 0") + "), 0)"
        " FROM (SELECT COALESCE(w.messages, 0) AS om, COALESCE(w.parts, 0) AS op, COALESCE(w.prompts, 0) AS opr,"
        f" COALESCE(w.messages, 0) {op} c.m AS nm, COALESCE(w.parts, 0) {op} c.p AS np,"
        f" COALESCE(w.prompts, 0) {op} c.pr AS npr FROM chunk c LEFT JOIN stats_windows w ON w.guild_id = :guild"
        " AND w.window_days = :window AND w.user_id = c.user_id) AS moved", params)
    await tx.execute(
        cte + "INSERT INTO stats_windows (guild_id, window_days, user_id, messages, parts, points, prompts, score)"
        f" SELECT :guild, :window, user_id, {op}m, {op}p, {op}pts, {op}pr, {op}(m + p) FROM chunk WHERE 1 = 1"
        " ON CONFLICT (guild_id, window_days, user_id) DO UPDATE SET messages = stats_windows.messages"
        " + excluded.messages, parts = stats_windows.parts + excluded.parts, points = stats_windows.points"
        " + excluded.points, prompts = stats_windows.prompts + excluded.prompts,"
        " score = stats_windows.score + excluded.score", params)
    if sign < 0:  # a row exists only while its member did something in the window
        await tx.execute(cte + "DELETE FROM stats_windows WHERE guild_id = :guild AND window_days = :window"
                         " AND messages <= 0 AND parts <= 0 AND user_id IN (SELECT user_id FROM chunk)", params)
    await tx.execute(
        "UPDATE stats_window_state SET active = active + ?, posters = posters + ?, participants = participants + ?,"
        " messages = messages + ?, prompt_answers = prompt_answers + ?, prompt_people = prompt_people + ?"
        " WHERE guild_id = ? AND window_days = ?", (*(int(v or 0) for v in delta), guild_id, window_days))


# --- the quiz days ----------------------------------------------------------------------------------

async def _quiz_fill_start(tx: Tx, tables: set[str], guild_id: int, zone: str, need: str) -> None:
    """Make the quiz days exact from `need` on in `zone`: in another zone (or none yet) all of the guild's
    are counted again; else the days before the kept ones are added. The answers of the questions open
    now are counted here; those of the closed ones by the fill's steps."""
    tz = _zone(zone)
    quiz = await tx.fetchone("SELECT time_zone, first_day FROM stats_quiz_state WHERE guild_id = ?", (guild_id,))
    if tz is None:  # (the config's zone name: not expected) nothing can be counted in it
        await tx.execute("INSERT INTO stats_quiz_state (guild_id, time_zone, first_day) VALUES (?, ?, ?)"
                         " ON CONFLICT (guild_id) DO UPDATE SET time_zone = excluded.time_zone,"
                         " first_day = excluded.first_day", (guild_id, zone, need))
        return
    lo = midnight(need, tz)
    if quiz is None or quiz[0] != zone:
        await tx.execute("DELETE FROM stats_quiz_days WHERE guild_id = ?", (guild_id,))
        hi = FAR_AT
    else:  # past-dated writes may have counted answers on days not kept yet: those days are counted anew
        await tx.execute("DELETE FROM stats_quiz_days WHERE guild_id = ? AND day >= ? AND day < ?",
                         (guild_id, need, quiz[1]))
        hi = midnight(quiz[1], tz)
    max_question, open_ids = None, []
    if _QUIZ_TABLES <= tables:
        max_question = await tx.fetchval("SELECT MAX(id) FROM quiz_questions")
        open_ids = [int(r[0]) for r in await tx.fetchall(
            "SELECT qq.id FROM quiz_questions qq JOIN quiz_runs r ON r.id = qq.run_id"
            " WHERE r.guild_id = ? AND qq.status <> 'closed'", (guild_id,))]
        for i in range(0, len(open_ids), 500):
            ids = open_ids[i:i + 500]
            answers = await tx.fetchall(
                "SELECT user_id, answered_at FROM quiz_answers WHERE question_id IN"
                f" ({', '.join('?' * len(ids))}) AND answered_at >= ? AND answered_at < ?", (*ids, lo, hi))
            await _count_answers(tx, guild_id, tz, answers)
    filling = max_question is not None
    await tx.execute(
        "INSERT INTO stats_quiz_state (guild_id, time_zone, first_day, fill_start_at, fill_at, fill_max_question,"
        " fill_open) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (guild_id) DO UPDATE SET time_zone = excluded.time_zone,"
        " first_day = excluded.first_day, fill_start_at = excluded.fill_start_at, fill_at = excluded.fill_at,"
        " fill_max_question = excluded.fill_max_question, fill_open = excluded.fill_open",
        (guild_id, zone, need, lo if filling else None, hi if filling else None,
         int(max_question) if filling else None, json.dumps(open_ids) if filling else None))


async def _quiz_fill_step(tx: Tx, guild_id: int, rows: int) -> None:
    zone, lo, hi, max_question, open_json = await tx.fetchone(
        "SELECT time_zone, fill_start_at, fill_at, fill_max_question, fill_open FROM stats_quiz_state"
        " WHERE guild_id = ?", (guild_id,))
    tz = _zone(zone)
    key = await tx.fetchval("SELECT answered_at FROM quiz_answers WHERE answered_at >= ? AND answered_at < ?"
                            " ORDER BY answered_at DESC LIMIT 1 OFFSET ?", (lo, hi, rows - 1))
    new_hi = lo if key is None else key
    answers = await tx.fetchall(
        "SELECT qa.user_id, qa.answered_at, qa.question_id FROM quiz_answers qa"
        " JOIN quiz_questions qq ON qq.id = qa.question_id JOIN quiz_runs r ON r.id = qq.run_id"
        " WHERE qa.answered_at >= ? AND qa.answered_at < ? AND r.guild_id = ? AND qa.question_id <= ?",
        (new_hi, hi, guild_id, max_question))
    skip = set(json.loads(open_json or "[]"))
    if tz is not None:
        await _count_answers(tx, guild_id, tz, [a for a in answers if int(a[2]) not in skip])
    if new_hi == lo:
        await tx.execute("UPDATE stats_quiz_state SET fill_start_at = NULL, fill_at = NULL, fill_max_question = NULL,"
                         " fill_open = NULL WHERE guild_id = ?", (guild_id,))
    else:
        await tx.execute("UPDATE stats_quiz_state SET fill_at = ? WHERE guild_id = ?", (new_hi, guild_id))


async def _count_answers(tx: Tx, guild_id: int, tz, answers) -> None:
    """Add answers (user_id, answered_at) to the quiz days of their local day in `tz`."""
    days: Counter = Counter()
    bounds: tuple = ()
    for user_id, at in ((a[0], a[1]) for a in answers):
        if not bounds or not bounds[1] <= at < bounds[2]:  # (answers come a day at a time)
            local = from_db_time(at).astimezone(tz).date()
            bounds = (local.isoformat(), midnight(local.isoformat(), tz),
                      midnight((local + timedelta(days=1)).isoformat(), tz))
        days[(bounds[0], int(user_id))] += 1
    if days:
        await tx.executemany(
            "INSERT INTO stats_quiz_days (guild_id, day, user_id, answers) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (guild_id, day, user_id) DO UPDATE SET answers = stats_quiz_days.answers + excluded.answers",
            [(guild_id, d, u, n) for (d, u), n in sorted(days.items())])
