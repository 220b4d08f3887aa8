"""Schedules bench: load 10,000 schedules across 100 guilds, then 1,000 posts due in the same minute.

    python bench/bench_schedules.py

1. load: 100 schedules.yaml files (100 schedules each: daily / weekly / cron / one-off, text and
   pools) are parsed with line tracking and validated (`SchedulesFile`, with cross-file references),
   their triggers built and their jobs registered (ledger state rows written, AsyncIOScheduler
   started). Target: < 2 s.
2. burst: 10 schedules in each of 100 guilds (10 channels each) fire at the same minute. The
   scheduler fires them, the service claims ledger rows and queues posts, and the outbox worker
   sends them to a fake sender (no network) with Discord pacing on. Lateness = time the fake
   sender got the message - the scheduled time. Target: p99 < 1 s.
   Run twice: with one bot per community (Kizuna's deployment: each bot token has its own
   50 requests/s) and with one bot token for all 100 guilds, where Discord's global 50/s makes
   1,000 posts take about 20 s whatever the code does.
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

GUILDS = 100
PER_GUILD = 100
CHANNELS = ["announcements", "lounge", "daily-prompt", "quiz", "feedback", "leaf-lounge", "blossom-garden",
            "welcome", "lounge", "announcements"]


def schedules_yaml(g: int, per_guild: int) -> str:
    lines = ["pools:", "  tips:", "    order: shuffle", "    items:"]
    lines += [f"      - \"Tip {i} from {{persona.name}}\"" for i in range(8)]
    lines.append("schedules:")
    for i in range(per_guild):
        channel = CHANNELS[i % len(CHANNELS)]
        kind = i % 4
        minute = (i * 7 + g) % 60  # every guild has its own times
        rule = ('daily: "%02d:%02d"' % (i % 24, minute) if kind == 0 else
                'weekly: {days: [mon, thu], at: "%02d:%02d"}' % (i % 24, minute) if kind == 1 else
                'cron: "%d */2 * * mon-fri"' % minute if kind == 2 else
                "at: 2027-0%d-1%dT12:%02d" % (1 + i % 9, i % 10, minute))
        content = "pool: tips" if i % 5 == 0 else f'text: "{{persona.greeting}} post {i} of guild {g} on {{date}}"'
        lines.append(f"  - id: g{g}-s{i}\n    channel: {channel}\n    {rule}\n    {content}")
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
    for g in range(GUILDS):
        (tmp / f"g{g}.yaml").write_text(schedules_yaml(g, PER_GUILD), encoding="utf-8")
    clock = FakeClock(datetime(2026, 12, 1, tzinfo=timezone.utc))
    app = await App.open(config, db_path=tmp / "load.db", clock=clock, real_scheduler=True)
    t0, c0 = time.perf_counter(), time.process_time()
    models = []
    for g in range(GUILDS):
        source = load_source(tmp / f"g{g}.yaml")
        model = SchedulesFile.model_validate(source.data)
        problems = list(model.references(config))
        assert not problems, problems[:3]
        models.append(model)
    t1 = time.perf_counter()
    for g, model in enumerate(models):
        await app.schedules.load_guild(10_000 + g, model, "Asia/Tokyo", catch_up=True)
    t2 = time.perf_counter()
    app.scheduler.start()
    t3, c3 = time.perf_counter(), time.process_time()
    jobs = sum(1 for j in app.scheduler.jobs if j.startswith("schedule:"))  # one per guild
    print(f"load: {GUILDS * PER_GUILD:,} schedules in {GUILDS} guilds -> {jobs:,} scheduler jobs (one per guild)")
    print(f"  parse + validate {t1 - t0:.3f} s | triggers + ledger state + jobs {t2 - t1:.3f} s"
          f" | AsyncIOScheduler start {t3 - t2:.3f} s")
    total = t3 - t0
    print(f"  total {total:.3f} s wall, {c3 - c0:.3f} s CPU"
          f" (target < 2 s: {'OK' if total < 2 else 'MISSED'}; load average {_load()})")
    await app.close()


async def bench_burst(tmp: Path, scope: str) -> None:
    config = load_config(ROOT / "config")
    clock = SystemClock()
    settings = OutboxSettings(pace=True, global_scope=scope)
    app = await App.open(config, db_path=tmp / f"burst-{scope}.db", clock=clock, real_scheduler=False,
                         outbox_settings=settings)
    sender = FakeSender()
    app.outbox.sender = sender
    now = clock.now()
    due = (now + timedelta(minutes=1)).replace(second=0, microsecond=0)
    if (due - now).total_seconds() < 3:
        due += timedelta(minutes=1)
    local = due.astimezone(config.timezone)
    at = f'daily: "{local:%H:%M}"'
    for g in range(GUILDS):
        yaml_lines = ["schedules:"] + [
            f"  - {{id: g{g}-p{i}, channel: {CHANNELS[i] if i < 8 else 'mod-queue' if i == 8 else 'mod-log'},"
            f" {at}, text: \"burst {i} in guild {g}\"}}" for i in range(10)]
        model = SchedulesFile.model_validate(__import__("yaml").safe_load("\n".join(yaml_lines)))
        await app.schedules.load_guild(20_000 + g, model, "Asia/Tokyo", catch_up=False)
    app.outbox.start(poll_seconds=0.05)
    wait = (due - clock.now()).total_seconds()
    print(f"burst ({'one bot per community' if scope == 'guild' else 'one bot token for all guilds'}):"
          f" waiting {wait:.1f} s for {local:%H:%M} {config.timezone.key} ...")
    await asyncio.sleep(max(0.0, wait))
    fired_at, cpu0 = time.perf_counter(), time.process_time()
    lag_to_due = (clock.now() - due).total_seconds()  # the sleep overshoots a little: count it as lateness
    instants = await app.scheduler.run_due()  # one job per guild: 100 wake-ups for 1,000 posts
    queued_at = time.perf_counter()
    fired = GUILDS * 10
    deadline = time.perf_counter() + 60
    while len(sender.arrivals) < fired and time.perf_counter() < deadline:
        await asyncio.sleep(0.01)
    cpu = time.process_time() - cpu0
    lateness = [a - fired_at + lag_to_due for a in sender.arrivals]
    print(f"  {fired} posts due ({instants} guild jobs fired), {len(sender.arrivals)} left the outbox;"
          f" claims + queueing took {queued_at - fired_at:.3f} s; {cpu:.3f} s CPU in all (load average {_load()})")
    if lateness:
        p99 = pct(lateness, 99)
        verdict = (f"target p99 < 1 s: {'OK' if p99 < 1 else 'MISSED'}" if scope == "guild" else
                   f"informational: Discord's 50 requests/s per token puts the floor at {fired / 50:.0f} s")
        print(f"  lateness p50 {pct(lateness, 50):.3f} s | p99 {p99:.3f} s | max {max(lateness):.3f} s"
              f" | mean {statistics.mean(lateness):.3f} s  ({verdict})")
    await app.close()


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="kizuna-bench-") as folder:
        tmp = Path(folder)
        await bench_load(tmp)
        await bench_burst(tmp, "guild")
        if "--quick" not in sys.argv:
            await bench_burst(tmp, "bot")


if __name__ == "__main__":
    tune_process()  # the collector and GIL settings `python -m bot run` uses
    asyncio.run(main())
