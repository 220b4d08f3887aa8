"""Schedules bench: load 10,000 schedules, then 1,000 posts due in the same minute.

    python bench/bench_schedules.py

Kizuna runs one bot (one process, one token, one database) per community.

1. load: one community's schedules.yaml with 10,000 schedules (daily / weekly / cron / one-off, text
   and pools) is parsed with line tracking and validated (`SchedulesFile`, with cross-file
   references), its triggers built and its job registered (ledger state rows written,
   AsyncIOScheduler started). Target: < 2 s. Then three hours of those schedules firing (fake clock,
   posts queued, not sent): the cost per instant.
2. burst: 100 communities, each its own App (database, scheduler, outbox) as its own bot would be,
   have 10 schedules (10 channels) due at the same minute. Their schedulers fire them (all in this
   one process and event loop: harsher than 100 processes), each service claims ledger rows and
   queues posts, and each outbox worker sends them to a fake sender (no network) with Discord
   pacing on (50 requests/s per bot). Lateness = time the fake sender got the message - the
   scheduled time. Target: p99 < 1 s.
"""
from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import App  # noqa: E402
from bot.clock import FakeClock, SystemClock  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.config.schedules import SchedulesFile  # noqa: E402
from bot.config.yamlsrc import load_source  # noqa: E402
from bot.services.messages import Sent  # noqa: E402
from bot.services.outbox import OutboxSettings  # noqa: E402
from bot.runtime import tune_process  # noqa: E402

SCHEDULES = 10_000
COMMUNITIES = 100  # in the burst
CHANNELS = ["announcements", "lounge", "daily-prompt", "quiz", "feedback", "leaf-lounge", "blossom-garden",
            "welcome", "lounge", "announcements"]


def schedules_yaml(count: int) -> str:
    lines = ["pools:", "  tips:", "    order: shuffle", "    items:"]
    lines += [f"      - \"Tip {i} from {{persona.name}}\"" for i in range(8)]
    lines.append("schedules:")
    for n in range(count):
        g, i = divmod(n, 100)  # a hundred schedules per "page", each page with its own times
        channel = CHANNELS[i % len(CHANNELS)]
        kind = i % 4
        minute = (i * 7 + g) % 60
        rule = ('daily: "%02d:%02d"' % (i % 24, minute) if kind == 0 else
                'weekly: {days: [mon, thu], at: "%02d:%02d"}' % (i % 24, minute) if kind == 1 else
                'cron: "%d */2 * * mon-fri"' % minute if kind == 2 else
                "at: 2027-0%d-1%dT12:%02d" % (1 + i % 9, i % 10, minute))
        content = "pool: tips" if i % 5 == 0 else f'text: "{{persona.greeting}} post {n}, {{date}}"'
        lines.append(f"  - {{id: p{g}-s{i}, channel: {channel}, {rule}, {content}}}")  # one line each: 10,000 fit in 1 MiB
    return "\n".join(lines) + "\n"


class FakeSender:
    def __init__(self) -> None:
        self.arrivals: list[float] = []

    async def send(self, guild_id, target, message):
        self.arrivals.append(time.perf_counter())
        return Sent(len(self.arrivals), 1)


def _load() -> str:
    try:
        import os

        return f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    except OSError:
        return "?"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def bench_load(tmp: Path) -> None:
    config = load_config(ROOT / "config")
    (tmp / "schedules.yaml").write_text(schedules_yaml(SCHEDULES), encoding="utf-8")
    clock = FakeClock(datetime(2026, 12, 1, tzinfo=timezone.utc))
    app = await App.open(config, db_path=tmp / "load.db", clock=clock, real_scheduler=True)
    t0, c0 = time.perf_counter(), time.process_time()
    source = load_source(tmp / "schedules.yaml")
    model = SchedulesFile.model_validate(source.data)
    problems = list(model.references(config))
    assert not problems, problems[:3]
    t1 = time.perf_counter()
    await app.schedules.load(model, catch_up=True)
    t2 = time.perf_counter()
    app.scheduler.start()
    t3, c3 = time.perf_counter(), time.process_time()
    jobs = sum(1 for j in app.scheduler.jobs if j.startswith("schedule:"))
    print(f"load: {SCHEDULES:,} schedules in one community -> {jobs} scheduler job")
    print(f"  parse + validate {t1 - t0:.3f} s | triggers + ledger state + job {t2 - t1:.3f} s"
          f" | AsyncIOScheduler start {t3 - t2:.3f} s")
    total = t3 - t0
    print(f"  total {total:.3f} s wall, {c3 - c0:.3f} s CPU"
          f" (target < 2 s: {'OK' if total < 2 else 'MISSED'}; load average {_load()})")
    # then three hours of it running: after each instant the job asks every schedule for its next time
    app.outbox.pacing = False
    t4, c4 = time.perf_counter(), time.process_time()
    instants = await app.scheduler.advance_to(clock.now() + timedelta(hours=3))
    t5, c5 = time.perf_counter(), time.process_time()
    print(f"  three hours of firings: {instants} instants (posts queued) in {t5 - t4:.3f} s wall,"
          f" {c5 - c4:.3f} s CPU ({(c5 - c4) / max(instants, 1) * 1000:.1f} ms CPU per instant)")
    await app.close()


async def bench_burst(tmp: Path) -> None:
    config = load_config(ROOT / "config")
    clock = SystemClock()
    now = clock.now()
    due = (now + timedelta(minutes=1)).replace(second=0, microsecond=0)
    if (due - now).total_seconds() < 8:  # time to open the hundred apps
        due += timedelta(minutes=1)
    local = due.astimezone(config.timezone)
    at = f'daily: "{local:%H:%M}"'
    apps, senders = [], []
    for g in range(COMMUNITIES):
        app = await App.open(config, db_path=tmp / f"burst-{g}.db", clock=clock, real_scheduler=False,
                             outbox_settings=OutboxSettings(pace=True, global_scope="guild"))
        app.guild_id = 20_000 + g  # each bot serves its own community
        sender = FakeSender()
        app.outbox.sender = sender
        yaml_lines = ["schedules:"] + [
            f"  - {{id: p{i}, channel: {CHANNELS[i] if i < 8 else 'mod-queue' if i == 8 else 'mod-log'},"
            f" {at}, text: \"burst {i} in community {g}\"}}" for i in range(10)]
        model = SchedulesFile.model_validate(__import__("yaml").safe_load("\n".join(yaml_lines)))
        await app.schedules.load(model, catch_up=False)
        app.outbox.start(poll_seconds=0.05)
        apps.append(app)
        senders.append(sender)
    wait = (due - clock.now()).total_seconds()
    print(f"burst ({COMMUNITIES} communities, one bot each, in one process): waiting {wait:.1f} s for"
          f" {local:%H:%M} {config.timezone.key} ...")
    await asyncio.sleep(max(0.0, wait))
    fired_at, cpu0 = time.perf_counter(), time.process_time()
    lag_to_due = (clock.now() - due).total_seconds()  # the sleep overshoots a little: count it as lateness
    instants = sum(await asyncio.gather(*(app.scheduler.run_due() for app in apps)))
    queued_at = time.perf_counter()
    fired = COMMUNITIES * 10
    deadline = time.perf_counter() + 60
    while sum(len(s.arrivals) for s in senders) < fired and time.perf_counter() < deadline:
        await asyncio.sleep(0.01)
    cpu = time.process_time() - cpu0
    arrivals = [a for s in senders for a in s.arrivals]
    lateness = [a - fired_at + lag_to_due for a in arrivals]
    print(f"  {fired} posts due ({instants} community jobs fired), {len(arrivals)} left the outboxes;"
          f" claims + queueing took {queued_at - fired_at:.3f} s; {cpu:.3f} s CPU in all (load average {_load()})")
    if lateness:
        p99 = pct(lateness, 99)
        print(f"  lateness p50 {pct(lateness, 50):.3f} s | p99 {p99:.3f} s | max {max(lateness):.3f} s"
              f" | mean {statistics.mean(lateness):.3f} s  (target p99 < 1 s: {'OK' if p99 < 1 else 'MISSED'})")
    for app in apps:
        await app.close()


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="kizuna-bench-") as folder:
        tmp = Path(folder)
        await bench_load(tmp)
        if "--load-only" not in sys.argv:
            await bench_burst(tmp)


if __name__ == "__main__":
    tune_process()  # the collector and GIL settings `python -m bot run` uses
    asyncio.run(main())
