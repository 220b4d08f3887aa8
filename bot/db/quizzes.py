"""SQL for quiz runs: questions (snapshotted), one answer per member per question, results."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .connection import Database, Tx, from_db_time, to_db_time


def _question(row) -> dict:
    out = dict(row)
    for key in ("opens_at", "opened_at", "closes_at"):
        out[key] = from_db_time(out[key])
    return out


async def create_run(db: Database, *, guild_id: int, bank: str, channel: str, seconds: int, pause_seconds: int,
                     speed_bonus: int, started_by: int | None, occurrence: str | None, snapshots: list[str],
                     at: datetime) -> int | None:
    """A run with its questions (all pending). None when one is already running in the guild, or this
    schedule occurrence already started one."""
    async with db.transaction() as tx:
        running = await tx.fetchval("SELECT id FROM quiz_runs WHERE guild_id = ? AND status = 'running'", (guild_id,))
        if running is not None:
            return None
        row = await tx.fetchone(
            "INSERT INTO quiz_runs (guild_id, bank, channel, seconds, pause_seconds, speed_bonus, started_by,"
            " occurrence, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
            (guild_id, bank, channel, seconds, pause_seconds, speed_bonus, started_by, occurrence, to_db_time(at)))
        if row is None:
            return None
        run_id = row[0]
        await tx.executemany(
            "INSERT INTO quiz_questions (run_id, position, snapshot, opens_at) VALUES (?, ?, ?, ?)",
            [(run_id, i, snap, to_db_time(at) if i == 1 else None) for i, snap in enumerate(snapshots, start=1)])
        return run_id


async def running_run(db: Database, guild_id: int) -> dict | None:
    row = await db.fetchone("SELECT * FROM quiz_runs WHERE guild_id = ? AND status = 'running'", (guild_id,))
    return None if row is None else dict(row)


async def run_for_occurrence(db: Database, guild_id: int, occurrence: str) -> int | None:
    return await db.fetchval("SELECT id FROM quiz_runs WHERE guild_id = ? AND occurrence = ?", (guild_id, occurrence))


async def running_runs(db: Database) -> list[dict]:
    return [dict(r) for r in await db.fetchall("SELECT * FROM quiz_runs WHERE status = 'running' ORDER BY id")]


async def run(db: Database, run_id: int) -> dict | None:
    row = await db.fetchone("SELECT * FROM quiz_runs WHERE id = ?", (run_id,))
    return None if row is None else dict(row)


async def questions(db: Database, run_id: int) -> list[dict]:
    rows = await db.fetchall("SELECT * FROM quiz_questions WHERE run_id = ? ORDER BY position", (run_id,))
    return [_question(r) for r in rows]


async def question(db: Database, question_id: int) -> dict | None:
    row = await db.fetchone(
        "SELECT q.*, r.guild_id, r.seconds, r.speed_bonus, r.channel FROM quiz_questions q"
        " JOIN quiz_runs r ON r.id = q.run_id WHERE q.id = ?", (question_id,))
    return None if row is None else _question(row)


async def schedule_open(db: Database, question_id: int, opens_at: datetime) -> datetime:
    """Set when a pending question opens (once); returns the time in force."""
    async with db.transaction() as tx:
        await tx.execute("UPDATE quiz_questions SET opens_at = ? WHERE id = ? AND opens_at IS NULL",
                         (to_db_time(opens_at), question_id))
        return from_db_time(await tx.fetchval("SELECT opens_at FROM quiz_questions WHERE id = ?", (question_id,)))


async def open_question(db: Database, question_id: int, opened_at: datetime, closes_at: datetime) -> bool:
    return await db.execute(
        "UPDATE quiz_questions SET status = 'open', opened_at = ?, closes_at = ? WHERE id = ? AND status = 'pending'",
        (to_db_time(opened_at), to_db_time(closes_at), question_id)) == 1


# The question's guild, whether it takes answers, and the time zone its /stats windows are kept in (none:
# no window kept yet; the window's days are then filled from the answers when it is built,
# bot/db/stats_build.py).
_QUESTION_ZONE = (
    "SELECT r.guild_id, q.status, (SELECT MIN(s.time_zone) FROM stats_window_state s WHERE s.guild_id = r.guild_id)"
    " FROM quiz_questions q JOIN quiz_runs r ON r.id = q.run_id WHERE q.id = ?"
)
_INSERT_ANSWERS = ("INSERT INTO quiz_answers (question_id, user_id, choice, correct, points, answered_at, text,"
                   " tries) VALUES {} ON CONFLICT (question_id, user_id) DO NOTHING RETURNING user_id, answered_at")
_CHUNK = 100  # rows per INSERT (8 parameters each)
# A retry of a typed answer (tries > 1) replaces the member's wrong answer: never a right one, never with
# an older try (the row keeps one answer per member, so the points at the close are written once).
_RETRY_ANSWER = ("UPDATE quiz_answers SET choice = ?, correct = ?, points = ?, answered_at = ?, text = ?, tries = ?"
                 " WHERE question_id = ? AND user_id = ? AND correct = 0 AND tries < ?")
# Each written answer, counted on its member's local day (the /stats quiz figures, migration 0023).
_QUIZ_DAY = (
    "INSERT INTO stats_quiz_days (guild_id, day, user_id, answers) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (guild_id, day, user_id) DO UPDATE SET answers = stats_quiz_days.answers + excluded.answers"
)


def _zone(name: str | None):
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # (the windows keep the config's zone name: not expected)
        return None


def _local_day(when: str, tz) -> tuple[str, str, str]:
    """The local day of a stored UTC time, with its UTC bounds [start, end) as stored text."""
    day = from_db_time(when).astimezone(tz).date()
    start, end = (datetime.combine(d, time(0), tzinfo=tz).astimezone(timezone.utc)
                  for d in (day, day + timedelta(days=1)))
    return day.isoformat(), to_db_time(start), to_db_time(end)


async def _write_answers(tx: Tx, rows: list[tuple]) -> None:
    """The answers of open questions (a member's latest try in the batch), and each new one written
    (RETURNING: not a second answer) added to its member's local day; a retry (tries > 1) of a member
    who has a wrong answer replaces it. A few statements per batch, on both engines."""
    by_question: dict[int, dict[int, tuple]] = {}
    for q, u, c, k, p, at, text, *more in rows:
        tries = more[0] if more else 1  # (a row without tries: a first answer)
        members = by_question.setdefault(q, {})
        if u not in members or members[u][7] < tries:
            members[u] = (q, u, c, k, p, to_db_time(at), text, tries)
    days: Counter = Counter()
    bounds: tuple = ()
    for q, answers in by_question.items():
        found = await tx.fetchone(_QUESTION_ZONE, (q,))
        if found is None or found[1] != "open":
            continue  # a closed question takes no answer
        guild_id, tz = found[0], _zone(found[2])
        values = list(answers.values())
        for i in range(0, len(values), _CHUNK):
            chunk = values[i:i + _CHUNK]
            written = await tx.fetchall(_INSERT_ANSWERS.format(", ".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * len(chunk))),
                                        [v for row in chunk for v in row])
            new = {user_id for user_id, _ in written}
            retries = [(c, k, p, at, text, tries, q_, u, tries) for q_, u, c, k, p, at, text, tries in chunk
                       if tries > 1 and u not in new]
            if retries:
                await tx.executemany(_RETRY_ANSWER, retries)
            if tz is not None:
                for user_id, when in written:
                    if not bounds or not bounds[1] <= when < bounds[2]:  # (a batch's answers share a day)
                        bounds = _local_day(when, tz)
                    days[(guild_id, bounds[0], user_id)] += 1
    if days:
        await tx.executemany(_QUIZ_DAY, [(g, d, u, n) for (g, d, u), n in days.items()])


async def add_answers(db: Database, rows: list[tuple]) -> None:
    """Answers (question_id, user_id, choice, correct, points, answered_at, text, tries) in one
    transaction (`text`: what was typed for a free-text question, else None; `tries`: the member's tries
    at it so far, 1 for a choice, and may be left out for a first answer). The caller refuses second
    answers and spent tries first; here a duplicate, a stale retry or a closed question is simply not
    written. New answers count in the /stats quiz days (stats_quiz_days) in the same transaction; a
    retry is the same answer."""
    async with db.transaction() as tx:
        await _write_answers(tx, rows)


async def claim_close(tx: Tx, question_id: int) -> bool:
    return await tx.execute("UPDATE quiz_questions SET status = 'closed' WHERE id = ? AND status = 'open'",
                            (question_id,)) == 1


_ANSWERS = ("SELECT user_id, choice, correct, points, answered_at, text, tries FROM quiz_answers WHERE question_id = ?"
            " ORDER BY answered_at, user_id")


async def answers_in(tx: Tx, question_id: int) -> list[dict]:
    rows = await tx.fetchall(_ANSWERS, (question_id,))
    return [dict(r) | {"answered_at": from_db_time(r["answered_at"])} for r in rows]


async def answers(db: Database, question_id: int) -> list[dict]:
    rows = await db.fetchall(_ANSWERS, (question_id,))
    return [dict(r) | {"answered_at": from_db_time(r["answered_at"])} for r in rows]


async def mark_revealed(db: Database, question_id: int) -> None:
    await db.execute("UPDATE quiz_questions SET revealed = 1 WHERE id = ?", (question_id,))


async def finish_run(db: Database, run_id: int, at: datetime) -> bool:
    return await db.execute(
        "UPDATE quiz_runs SET status = 'finished', finished_at = ? WHERE id = ? AND status = 'running'",
        (to_db_time(at), run_id)) == 1


async def run_scores(db: Database, run_id: int) -> list[dict]:
    """Per member: points and right answers in this run; best first, ties by who answered first."""
    rows = await db.fetchall(
        "SELECT a.user_id, SUM(a.points) AS points, SUM(a.correct) AS correct, MIN(a.answered_at) AS first_at"
        " FROM quiz_answers a JOIN quiz_questions q ON q.id = a.question_id WHERE q.run_id = ?"
        " GROUP BY a.user_id ORDER BY points DESC, correct DESC, first_at ASC, a.user_id ASC", (run_id,))
    return [{"user_id": r["user_id"], "points": r["points"], "correct": r["correct"]} for r in rows]
