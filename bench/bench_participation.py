"""Participation figures: buffered activity ingestion, and 1,000 members answering one quiz question.

    python bench/bench_participation.py

Both parts drive the service (`app.participation`), the layer the cogs call: the activity listener
calls `record_message` per guild message, and the quiz answer button's callback calls
`quiz.answer` (plus an ephemeral reply that the service does not see). Real SQLite file, WAL.
Targets: >= 200,000 message events/s with the DB count equal to the events sent; 1,000 answers
arriving within one second all recorded, handler p99 < 50 ms.
"""
from __future__ import annotations

import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import App  # noqa: E402
from bot.clock import FakeClock  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.db import participation as repo  # noqa: E402
from bot.db import quizzes as quiz_repo  # noqa: E402
from bot.errors import UserError  # noqa: E402
from bot.runtime import tune_process  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
GUILD = 1000
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
EVENTS = 100_000
MEMBERS = 1_000


async def open_app(folder: str) -> App:
    return await App.open(load_config(ROOT / "config"), db_path=Path(folder) / "bench.db", clock=FakeClock(T0),
                          real_scheduler=False)


async def bench_activity(folder: str) -> bool:
    app = await open_app(folder)
    rng = random.Random(7)
    # 100,000 messages from 5,000 members over three days (timestamps spread, crossing local midnights)
    events = [(431_000_000_000_000_000 + rng.randrange(5_000), 800 + rng.randrange(8),
               T0 + timedelta(seconds=rng.randrange(3 * 86_400))) for _ in range(EVENTS)]
    events.sort(key=lambda e: e[2])
    record = app.participation.record_message
    t0, c0 = time.perf_counter(), time.process_time()
    for user_id, channel_id, at in events:
        record(GUILD, user_id, channel_id, at)
    t_ingest, c_ingest = time.perf_counter() - t0, time.process_time() - c0
    await app.participation.flush_activity()
    t_total = time.perf_counter() - t0
    stored = await repo.activity_total(app.db, GUILD)
    pairs = await app.db.fetchval("SELECT COUNT(*) FROM activity_daily")
    await app.close()
    ok = stored == EVENTS and EVENTS / t_total >= 200_000
    print(f"activity: {EVENTS:,} events ingested in {t_ingest * 1000:.1f} ms = {EVENTS / t_ingest:,.0f} events/s;"
          f" with the flush {t_total * 1000:.1f} ms = {EVENTS / t_total:,.0f} events/s;"
          f" stored {stored:,} messages in {pairs:,} (member, day) rows -> {'OK' if ok else 'FAIL'}")
    print(f"activity (CPU time, independent of other load on the machine): {EVENTS / max(c_ingest, 1e-9):,.0f} events"
          " per CPU-second while ingesting")
    return ok


async def bench_quiz(folder: str) -> bool:
    app = await open_app(folder)
    quiz = app.participation.quiz
    await quiz.start_quiz(GUILD, bank="tea", questions=1, seconds=60)
    current = await quiz.current(GUILD)
    question_id = current["open"]["id"]
    n_choices = len(current["open"]["snapshot"]["choices"])
    rng = random.Random(11)
    latencies: list[float] = []

    async def member(user_id: int, delay: float) -> None:
        await asyncio.sleep(delay)
        t = time.perf_counter()
        await quiz.answer(GUILD, question_id, user_id, rng.randrange(n_choices))
        latencies.append(time.perf_counter() - t)

    start = time.perf_counter()
    await asyncio.gather(*(member(431_000_000_000_000_000 + i, rng.random()) for i in range(MEMBERS)))
    wall = time.perf_counter() - start
    recorded = len(await quiz_repo.answers(app.db, question_id))
    refused = 0
    try:
        await quiz.answer(GUILD, question_id, 431_000_000_000_000_000, 0)
    except UserError:
        refused = 1
    lat = sorted(latencies)
    p50, p99 = lat[len(lat) // 2] * 1000, lat[int(len(lat) * 0.99) - 1] * 1000
    ok = recorded == MEMBERS and p99 < 50 and refused == 1
    print(f"quiz: {MEMBERS:,} members answered within {wall:.2f} s; recorded {recorded:,};"
          f" handler p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {lat[-1] * 1000:.2f} ms,"
          f" mean {statistics.mean(lat) * 1000:.2f} ms; a second answer refused: {bool(refused)} -> {'OK' if ok else 'FAIL'}")

    # worst case for information: every answer in the same instant (they queue on the one writer)
    await app.scheduler.advance_to(T0 + timedelta(seconds=61))  # close the question, award the ledger
    awarded = await app.db.fetchval("SELECT COUNT(*) FROM participation_ledger")
    await quiz.start_quiz(GUILD, bank="tea", questions=1, seconds=60)
    question_id = (await quiz.current(GUILD))["open"]["id"]
    burst: list[float] = []

    async def burst_member(user_id: int) -> None:
        t = time.perf_counter()
        await quiz.answer(GUILD, question_id, user_id, 0)
        burst.append(time.perf_counter() - t)

    t = time.perf_counter()
    await asyncio.gather(*(burst_member(431_000_000_000_000_000 + i) for i in range(MEMBERS)))
    wall = time.perf_counter() - t
    burst.sort()
    print(f"quiz (burst, informational): {MEMBERS:,} answers at the same instant done in {wall * 1000:.0f} ms"
          f" ({MEMBERS / wall:,.0f} answers/s), p99 {burst[int(len(burst) * 0.99) - 1] * 1000:.1f} ms;"
          f" ledger rows awarded at the first close: {awarded:,}")
    await app.close()
    return ok


async def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        ok = await bench_activity(folder)
    with tempfile.TemporaryDirectory() as folder:
        ok = await bench_quiz(folder) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    tune_process()  # the collector and GIL settings `python -m bot run` uses
    raise SystemExit(asyncio.run(main()))
