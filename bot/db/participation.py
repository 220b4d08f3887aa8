"""SQL for participation: the points ledger, streak days, activity counts, daily prompts, suggestions."""
from __future__ import annotations

from datetime import datetime
from typing import Iterable, Sequence

from .connection import Database, Tx, from_db_time, to_db_time

# --- ledger ---------------------------------------------------------------------------------------

_INSERT_AWARD = (
    "INSERT INTO participation_ledger (guild_id, user_id, action, ref, points, day, at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (guild_id, user_id, action, ref) DO NOTHING RETURNING id"
)
# The award, added to every kept window it falls in (all time: expired_before is '').
_ADD_TO_WINDOWS = (
    "INSERT INTO points_windows (guild_id, window_days, user_id, points, reached)"
    " SELECT s.guild_id, s.window_days, ?, ?, ? FROM points_window_state s"
    " WHERE s.guild_id = ? AND s.expired_before <= ?"
    " ON CONFLICT (guild_id, window_days, user_id) DO UPDATE SET points = points_windows.points + excluded.points,"
    " reached = CASE WHEN excluded.reached IS NOT NULL AND (points_windows.reached IS NULL"
    " OR excluded.reached > points_windows.reached) THEN excluded.reached ELSE points_windows.reached END"
)
# The member was active that day (the stats' daily active members, bot/db/stats.py): a row back when
# the (member, day) is new, and then the day's count goes up.
_ACTIVE_DAY = ("INSERT INTO stats_member_days (guild_id, day, user_id) VALUES (?, ?, ?)"
               " ON CONFLICT (guild_id, day, user_id) DO NOTHING RETURNING 1")
_COUNT_DAY = ("INSERT INTO stats_days (guild_id, day, active) VALUES (?, ?, 1)"
              " ON CONFLICT (guild_id, day) DO UPDATE SET active = stats_days.active + 1")
# A ledger row, added to every kept /stats window it falls in (bot/db/stats.py, migration 0020).
_LEDGER_TO_STATS_WINDOWS = (
    "INSERT INTO stats_windows (guild_id, window_days, user_id, messages, parts, points, prompts, score)"
    " SELECT s.guild_id, s.window_days, ?, 0, 1, ?, ?, 1 FROM stats_window_state s"
    " WHERE s.guild_id = ? AND s.start_at <= ?"
    " ON CONFLICT (guild_id, window_days, user_id) DO UPDATE SET parts = stats_windows.parts + 1,"
    " points = stats_windows.points + excluded.points, prompts = stats_windows.prompts + excluded.prompts,"
    " score = stats_windows.score + 1 RETURNING window_days, messages, parts, prompts"
)
# A day's messages, likewise.
_MESSAGES_TO_STATS_WINDOWS = (
    "INSERT INTO stats_windows (guild_id, window_days, user_id, messages, parts, points, prompts, score)"
    " SELECT s.guild_id, s.window_days, ?, ?, 0, 0, 0, ? FROM stats_window_state s"  # (day, member) from the window's
    " WHERE s.guild_id = ? AND (s.first_day < ? OR (s.first_day = ? AND s.first_user <= ?))"  # first (migration 0029)
    " ON CONFLICT (guild_id, window_days, user_id) DO UPDATE SET"
    " messages = stats_windows.messages + excluded.messages, score = stats_windows.score + excluded.score"
    " RETURNING window_days, messages, parts, prompts"
)
# Each window's totals, from what one write changed in a member's row (see stats_window_state).
_STATS_WINDOW_TOTALS = (
    "UPDATE stats_window_state SET active = active + ?, posters = posters + ?, participants = participants + ?,"
    " messages = messages + ?, prompt_answers = prompt_answers + ?, prompt_people = prompt_people + ?"
    " WHERE guild_id = ? AND window_days = ?"
)


def _stats_window_totals(guild_id: int, rows, d_messages: int, d_parts: int, d_prompts: int) -> list[tuple]:
    """_STATS_WINDOW_TOTALS's parameters: from each window row's new (window_days, messages, parts, prompts)
    and what the write added, the members that became active, posters, participants, prompt answerers."""
    params = []
    for window_days, messages, parts, prompts in rows:
        was_m, was_p, was_pr = messages - d_messages, parts - d_parts, prompts - d_prompts
        params.append((int(was_m == 0 and was_p == 0), int(d_messages > 0 and was_m == 0),
                       int(d_parts > 0 and was_p == 0), d_messages, d_prompts, int(d_prompts > 0 and was_pr == 0),
                       guild_id, window_days))
    return params


def _stats_for_award(conn, guild_id: int, user_id: int, action: str, points: int, day: str, when: str) -> None:
    """(in the database thread) the stats rollups of one new ledger row."""
    if conn.execute(_ACTIVE_DAY, (guild_id, day, user_id)).fetchone() is not None:
        conn.execute(_COUNT_DAY, (guild_id, day))
    prompt = 1 if action == "prompt_answer" else 0
    rows = conn.execute(_LEDGER_TO_STATS_WINDOWS, (user_id, points, prompt, guild_id, when)).fetchall()
    conn.executemany(_STATS_WINDOW_TOTALS, _stats_window_totals(guild_id, rows, 0, 1, prompt))


async def _stats_for_award_async(tx: Tx, guild_id: int, user_id: int, action: str, points: int, day: str,
                                 when: str) -> None:
    """_stats_for_award with awaits (PostgreSQL): the same statements in the same order."""
    if await tx.fetchone(_ACTIVE_DAY, (guild_id, day, user_id)) is not None:
        await tx.execute(_COUNT_DAY, (guild_id, day))
    prompt = 1 if action == "prompt_answer" else 0
    rows = await tx.fetchall(_LEDGER_TO_STATS_WINDOWS, (user_id, points, prompt, guild_id, when))
    await tx.executemany(_STATS_WINDOW_TOTALS, _stats_window_totals(guild_id, [tuple(r) for r in rows], 0, 1, prompt))


def _stats_for_activity(conn, rows: list[tuple[int, int, str, int]]) -> None:
    """(in the database thread) the stats rollups of message counts (guild_id, user_id, day, messages)."""
    for guild_id, user_id, day, messages in rows:
        if messages <= 0:
            continue
        if conn.execute(_ACTIVE_DAY, (guild_id, day, user_id)).fetchone() is not None:
            conn.execute(_COUNT_DAY, (guild_id, day))
        changed = conn.execute(_MESSAGES_TO_STATS_WINDOWS,
                               (user_id, messages, messages, guild_id, day, day, user_id)).fetchall()
        conn.executemany(_STATS_WINDOW_TOTALS, _stats_window_totals(guild_id, changed, messages, 0, 0))


async def _stats_for_activity_async(tx: Tx, rows: list[tuple[int, int, str, int]]) -> None:
    """_stats_for_activity with awaits (PostgreSQL): the same statements in the same order."""
    for guild_id, user_id, day, messages in rows:
        if messages <= 0:
            continue
        if await tx.fetchone(_ACTIVE_DAY, (guild_id, day, user_id)) is not None:
            await tx.execute(_COUNT_DAY, (guild_id, day))
        changed = await tx.fetchall(_MESSAGES_TO_STATS_WINDOWS, (user_id, messages, messages, guild_id, day, day, user_id))
        await tx.executemany(_STATS_WINDOW_TOTALS,
                             _stats_window_totals(guild_id, [tuple(r) for r in changed], messages, 0, 0))


async def award_in(tx: Tx, *, guild_id: int, user_id: int, action: str, ref: str, points: int, day: str,
                   at: datetime) -> bool:
    """Inside a transaction: add a ledger row (and to the kept point windows); False when this
    (member, action, ref) was counted already."""
    when = to_db_time(at)
    row = await tx.fetchone(_INSERT_AWARD, (guild_id, user_id, action, ref, points, day, when))
    if row is None:
        return False
    await tx.execute(_ADD_TO_WINDOWS, (user_id, points, when if points else None, guild_id, when))
    if tx.dialect == "sqlite":
        await tx.run_sync(_stats_for_award, guild_id, user_id, action, points, day, when)
    else:
        await _stats_for_award_async(tx, guild_id, user_id, action, points, day, when)
    return True


def _award_rows(conn, rows: list[tuple]) -> list[bool]:
    """(in the database thread) award_in for many rows (guild_id, user_id, action, ref, points, day, at)."""
    added = []
    for guild_id, user_id, action, ref, points, day, at in rows:
        when = to_db_time(at)
        row = conn.execute(_INSERT_AWARD, (guild_id, user_id, action, ref, points, day, when)).fetchone()
        if row is not None:
            conn.execute(_ADD_TO_WINDOWS, (user_id, points, when if points else None, guild_id, when))
            _stats_for_award(conn, guild_id, user_id, action, points, day, when)
        added.append(row is not None)
    return added


async def award_many_in(tx: Tx, rows: list[tuple]) -> list[bool]:
    """Inside a transaction: award_in for every row (guild_id, user_id, action, ref, points, day, at), in
    one hand-off to the database thread; which of them were new."""
    if tx.dialect == "sqlite":
        return await tx.run_sync(_award_rows, rows)
    return [await award_in(tx, guild_id=g, user_id=u, action=a, ref=r, points=p, day=d, at=t)
            for g, u, a, r, p, d, t in rows]


async def award(db: Database, **kwargs) -> bool:
    async with db.transaction() as tx:
        return await award_in(tx, **kwargs)


async def points_total(db: Database, guild_id: int, user_id: int, since: datetime | None = None) -> int:
    """One member's points (since a time): read from (guild_id, user_id, at, points), that member's rows only."""
    if since is None:
        value = await db.fetchval(
            "SELECT COALESCE(SUM(points), 0) FROM participation_ledger WHERE guild_id = ? AND user_id = ?",
            (guild_id, user_id))
    else:
        value = await db.fetchval(
            "SELECT COALESCE(SUM(points), 0) FROM participation_ledger WHERE guild_id = ? AND user_id = ?"
            " AND at >= ?", (guild_id, user_id, to_db_time(since)))
    return int(value or 0)


# --- rolling point windows (leaderboards, ranks) --------------------------------------------------
# A window's totals are kept in points_windows: awards add to them (award_in), and `move_window`
# subtracts the rows that left the window since it last moved. Ties: more points first, then whoever
# reached the total first (their last scoring entry), then user id.

async def window_state(db: Database | Tx, guild_id: int, window_days: int) -> str | None:
    """Where the window starts now (ledger rows before it are out), or None when it is not kept yet."""
    return await db.fetchval("SELECT expired_before FROM points_window_state WHERE guild_id = ? AND window_days = ?",
                             (guild_id, window_days))


async def move_window(db: Database, guild_id: int, window_days: int, since: datetime | None) -> None:
    """Bring a window to [since, now]: subtract the ledger rows that left it; (re)build it from the
    ledger when it is not kept yet, or when `since` went back (a clock set back)."""
    start = "" if since is None else to_db_time(since)
    if await window_state(db, guild_id, window_days) == start:
        return  # (a read: the writer is not asked for a window already in place)
    async with db.transaction() as tx:
        current = await window_state(tx, guild_id, window_days)
        if current == start:
            return
        if current is None or start < current:
            await tx.execute("DELETE FROM points_windows WHERE guild_id = ? AND window_days = ?",
                             (guild_id, window_days))
            await tx.execute(
                "INSERT INTO points_windows (guild_id, window_days, user_id, points, reached)"
                " SELECT guild_id, ?, user_id, SUM(points), MAX(CASE WHEN points <> 0 THEN at END)"
                " FROM participation_ledger WHERE guild_id = ? AND at >= ? GROUP BY guild_id, user_id",
                (window_days, guild_id, start))
        else:
            gone = await tx.fetchall(
                "SELECT user_id, SUM(points) FROM participation_ledger WHERE guild_id = ? AND at >= ? AND at < ?"
                " GROUP BY user_id", (guild_id, current, start))
            await tx.executemany(
                "UPDATE points_windows SET points = points - ? WHERE guild_id = ? AND window_days = ? AND user_id = ?",
                [(r[1], guild_id, window_days, r[0]) for r in gone])
        await tx.execute(
            "INSERT INTO points_window_state (guild_id, window_days, expired_before) VALUES (?, ?, ?)"
            " ON CONFLICT (guild_id, window_days) DO UPDATE SET expired_before = excluded.expired_before",
            (guild_id, window_days, start))


async def leaderboard(db: Database, guild_id: int, window_days: int, limit: int) -> list[dict]:
    """The top of a kept window (move it first), from the points_windows_rank index."""
    rows = await db.fetchall(
        "SELECT user_id, points, reached FROM points_windows WHERE guild_id = ? AND window_days = ? AND points > 0"
        " ORDER BY points DESC, reached ASC, user_id ASC LIMIT ?", (guild_id, window_days, limit))
    return [{"user_id": r["user_id"], "points": r["points"], "reached": from_db_time(r["reached"]), "rank": rank}
            for rank, r in enumerate(rows, start=1)]


async def rank_of(db: Database, guild_id: int, user_id: int, window_days: int) -> tuple[int | None, int]:
    """(rank or None when the member has no points, number of ranked members) in a kept window: the
    members ahead are counted from the index, nobody is ranked."""
    ranked = int(await db.fetchval(
        "SELECT COUNT(*) FROM points_windows WHERE guild_id = ? AND window_days = ? AND points > 0",
        (guild_id, window_days)) or 0)
    mine = await db.fetchone(
        "SELECT points, reached FROM points_windows WHERE guild_id = ? AND window_days = ? AND user_id = ?",
        (guild_id, window_days, user_id))
    if mine is None or mine["points"] <= 0:
        return None, ranked
    ahead = await db.fetchval(
        "SELECT COUNT(*) FROM points_windows WHERE guild_id = ? AND window_days = ? AND points > 0"
        " AND (points > ? OR (points = ? AND (reached < ? OR (reached = ? AND user_id < ?))))",
        (guild_id, window_days, mine["points"], mine["points"], mine["reached"], mine["reached"], user_id))
    return int(ahead or 0) + 1, ranked


def _ranked_sql(with_since: bool) -> str:
    # The same ranking recomputed from the ledger (tests compare the kept windows with it).
    where = "guild_id = ?" + (" AND at >= ?" if with_since else "")
    return (
        "SELECT user_id, total, reached, ROW_NUMBER() OVER (ORDER BY total DESC, reached ASC, user_id ASC) AS rank"
        " FROM (SELECT user_id, SUM(points) AS total, MAX(CASE WHEN points <> 0 THEN at END) AS reached"
        f" FROM participation_ledger WHERE {where} GROUP BY user_id HAVING SUM(points) > 0) AS totals"
    )


async def leaderboard_from_ledger(db: Database, guild_id: int, since: datetime | None, limit: int) -> list[dict]:
    """The leaderboard recomputed from every ledger row in the window (slow; for checking the windows)."""
    params = (guild_id,) if since is None else (guild_id, to_db_time(since))
    rows = await db.fetchall(f"SELECT * FROM ({_ranked_sql(since is not None)}) AS ranked ORDER BY rank LIMIT ?",
                             params + (limit,))
    return [{"user_id": r["user_id"], "points": r["total"], "reached": from_db_time(r["reached"]),
             "rank": r["rank"]} for r in rows]


async def active_days(db: Database, guild_id: int, user_id: int, actions: Sequence[str] = ()) -> list[str]:
    """Distinct community-local days (YYYY-MM-DD) with a ledger entry, newest first."""
    sql = "SELECT DISTINCT day FROM participation_ledger WHERE guild_id = ? AND user_id = ?"
    params: list = [guild_id, user_id]
    if actions:
        sql += f" AND action IN ({','.join('?' * len(actions))})"
        params += list(actions)
    rows = await db.fetchall(sql + " ORDER BY day DESC", params)
    return [r[0] for r in rows]


async def ledger_for(db: Database, guild_id: int, user_id: int) -> list[dict]:
    rows = await db.fetchall(
        "SELECT action, ref, points, day, at FROM participation_ledger WHERE guild_id = ? AND user_id = ? ORDER BY id",
        (guild_id, user_id))
    return [dict(r) | {"at": from_db_time(r["at"])} for r in rows]


async def action_counts(db: Database, guild_id: int, action: str, since: datetime, until: datetime) -> dict[int, int]:
    """Ledger rows per member of one action in [since, until] (a drop campaign's entries)."""
    rows = await db.fetchall(
        "SELECT user_id, COUNT(*) FROM participation_ledger WHERE guild_id = ? AND action = ? AND at >= ? AND at <= ?"
        " GROUP BY user_id", (guild_id, action, to_db_time(since), to_db_time(until)))
    return {r[0]: r[1] for r in rows}


# --- activity -------------------------------------------------------------------------------------

async def add_activity(db: Database, rows: Iterable[tuple[int, int, str, int]],
                       channel_hours: Iterable[tuple[int, str, int, int]] = ()) -> None:
    """Add message counts: rows of (guild_id, user_id, day, messages), and (guild_id, local hour,
    channel_id, messages) for the busiest channels and hours, in one transaction."""
    rows = list(rows)
    channel_hours = list(channel_hours)
    async with db.transaction() as tx:
        if channel_hours:
            await tx.executemany(
                "INSERT INTO activity_channel_hours (guild_id, hour, channel_id, messages) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (guild_id, hour, channel_id) DO UPDATE"
                " SET messages = activity_channel_hours.messages + excluded.messages", channel_hours)
        await tx.executemany(
            "INSERT INTO activity_daily (guild_id, user_id, day, messages) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (guild_id, user_id, day) DO UPDATE SET messages = activity_daily.messages + excluded.messages",
            rows)
        if tx.dialect == "sqlite":
            await tx.run_sync(_stats_for_activity, rows)
        else:
            await _stats_for_activity_async(tx, rows)


async def activity_total(db: Database, guild_id: int, *, user_id: int | None = None, day: str | None = None) -> int:
    sql = "SELECT COALESCE(SUM(messages), 0) FROM activity_daily WHERE guild_id = ?"
    params: list = [guild_id]
    if user_id is not None:
        sql += " AND user_id = ?"
        params.append(user_id)
    if day is not None:
        sql += " AND day = ?"
        params.append(day)
    return int(await db.fetchval(sql, params) or 0)


# --- daily prompts --------------------------------------------------------------------------------

async def prompt_post_for(db: Database, guild_id: int, occurrence: str) -> dict | None:
    row = await db.fetchone("SELECT * FROM prompt_posts WHERE guild_id = ? AND occurrence = ?", (guild_id, occurrence))
    return None if row is None else dict(row)


async def current_cycle(tx: Tx, guild_id: int) -> int:
    return int(await tx.fetchval("SELECT COALESCE(MAX(cycle), 1) FROM prompt_posts WHERE guild_id = ?", (guild_id,)))


async def used_in_cycle(tx: Tx | Database, guild_id: int, cycle: int) -> set[str]:
    rows = await tx.fetchall("SELECT prompt_key FROM prompt_posts WHERE guild_id = ? AND cycle = ?", (guild_id, cycle))
    return {r[0] for r in rows}


async def insert_prompt_post(tx: Tx, *, guild_id: int, occurrence: str, cycle: int, prompt_key: str, text: str,
                             channel: str, at: datetime) -> int | None:
    row = await tx.fetchone(
        "INSERT INTO prompt_posts (guild_id, occurrence, cycle, prompt_key, text, channel, posted_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
        (guild_id, occurrence, cycle, prompt_key, text, channel, to_db_time(at)))
    return None if row is None else row[0]


async def set_prompt_message(db: Database, post_id: int, message_id: int | None, thread_id: int | None) -> None:
    await db.execute("UPDATE prompt_posts SET message_id = ?, thread_id = ? WHERE id = ?", (message_id, thread_id, post_id))


async def prompt_post_by_thread(db: Database, thread_id: int) -> dict | None:
    row = await db.fetchone("SELECT * FROM prompt_posts WHERE thread_id = ?", (thread_id,))
    return None if row is None else dict(row)


async def prompt_threads(db: Database) -> dict[int, int]:
    """Answer thread id -> prompt post id, for every posted prompt."""
    rows = await db.fetchall("SELECT thread_id, id FROM prompt_posts WHERE thread_id IS NOT NULL")
    return {int(r[0]): int(r[1]) for r in rows}


async def prompt_posts(db: Database, guild_id: int) -> list[dict]:
    rows = await db.fetchall("SELECT * FROM prompt_posts WHERE guild_id = ? ORDER BY id", (guild_id,))
    return [dict(r) for r in rows]


# --- suggestions ----------------------------------------------------------------------------------

async def add_suggestion(tx: Tx, *, guild_id: int, user_id: int, text: str, at: datetime,
                         max_pending: int) -> int | None:
    """Insert a pending suggestion inside the caller's transaction (which queues its card with it);
    None when the member already has `max_pending` waiting."""
    pending = await tx.fetchval(
        "SELECT COUNT(*) FROM prompt_suggestions WHERE guild_id = ? AND user_id = ? AND status = 'pending'",
        (guild_id, user_id))
    if pending >= max_pending:
        return None
    row = await tx.fetchone(
        "INSERT INTO prompt_suggestions (guild_id, user_id, text, created_at) VALUES (?, ?, ?, ?) RETURNING id",
        (guild_id, user_id, text, to_db_time(at)))
    return row[0]


async def suggestion_texts(tx: Tx, guild_id: int, *, since: datetime) -> list[str]:
    """Texts of the suggestions pending or approved, and of any made since `since` (inside the caller's
    transaction, which adds the next one)."""
    rows = await tx.fetchall(
        "SELECT text FROM prompt_suggestions WHERE guild_id = ?"
        " AND (status IN ('pending', 'approved') OR created_at >= ?)", (guild_id, to_db_time(since)))
    return [r[0] for r in rows]


async def suggestions_without_card(db: Database, card_prefix: str) -> list[dict]:
    """Pending suggestions whose mod-queue card was never queued (no outbox row `<card_prefix><id>`)."""
    rows = await db.fetchall(
        "SELECT id, guild_id, user_id, text FROM prompt_suggestions p WHERE p.status = 'pending'"
        " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.dedupe_key = CAST(? AS TEXT) || CAST(p.id AS TEXT))"
        " ORDER BY p.id", (card_prefix,))
    return [dict(r) for r in rows]


async def decide_suggestion(db: Database, suggestion_id: int, *, approve: bool, moderator_id: int,
                            at: datetime) -> dict | None:
    """pending -> approved/rejected; None when it was not pending (decided already, or unknown)."""
    async with db.transaction() as tx:
        row = await tx.fetchone(
            "UPDATE prompt_suggestions SET status = ?, decided_by = ?, decided_at = ?"
            " WHERE id = ? AND status = 'pending' RETURNING id, guild_id, user_id, text, status",
            ("approved" if approve else "rejected", moderator_id, to_db_time(at), suggestion_id))
        return None if row is None else dict(row)


async def suggestion(db: Database, suggestion_id: int) -> dict | None:
    row = await db.fetchone("SELECT * FROM prompt_suggestions WHERE id = ?", (suggestion_id,))
    return None if row is None else dict(row)


async def approved_suggestions(db: Database, guild_id: int) -> list[dict]:
    rows = await db.fetchall(
        "SELECT id, user_id, text FROM prompt_suggestions WHERE guild_id = ? AND status = 'approved' ORDER BY id",
        (guild_id,))
    return [dict(r) for r in rows]
