"""Drop claim burst: 20,000 claims from 10,000 members fired at once at stock 5,000.

    python bench/bench_drops.py                # the burst, then the same burst killed (-9) midway
    python bench/bench_drops.py --claims 40000 --members 20000 --stock 10000
    python bench/bench_drops.py --loop asyncio     # the default loop instead of uvloop (as `bot run` uses)
    python bench/bench_drops.py --db postgresql://user@host/db   # on PostgreSQL (a fresh schema per run)
    python bench/bench_drops.py --db postgresql    # on a throwaway PostgreSQL server the bench starts
    python bench/bench_drops.py --db both          # SQLite and a throwaway PostgreSQL, side by side

Checks and prints: exactly `stock` granted, 0 duplicates, remaining + granted = initial stock, claims/s
(target >= 20,000/s) and claim latency p50/p99 (target p99 < 300 ms) as seen by the claimer (from the
call to the answer, through the real DropsService: window check, tier lookup, single writer, the store).
The same burst is then fired through the bot's real Discord port (a KizunaBot on the offline
harness with every member in discord.py's cache). Then a child process runs the same burst and is killed with SIGKILL after a few committed batches;
the database is reopened (migrations, service start) and the invariant checked, and the burst is fired
again on the restarted service to show it finishes at exactly `stock`.

On PostgreSQL (`--db postgresql`, a throwaway server on loopback with fsync on, or `--db URL`) the same
runs print the same figures; `--db both` runs SQLite and then PostgreSQL and prints them side by side.
The claim writer writes each batch as one statement there (bot/db/drops.py `write_batch_pg`).
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import App  # noqa: E402
from bot.clock import SystemClock  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.config.drops import DropSpec, DropsFile  # noqa: E402
from bot.config.loader import Config  # noqa: E402
from bot.db import drops as repo  # noqa: E402
from bot.errors import UserError  # noqa: E402
from bot.runtime import settle_heap, tune_process  # noqa: E402

GUILD = 1
FIRST_MEMBER = 1_000_000


class BenchGuild:
    """Every bench user is a plain member (the claim path still asks, like it asks Discord's cache)."""

    async def member_role_keys(self, guild_id, user_id):
        return {"member"}

    async def add_role(self, *a, **k):
        return True

    async def remove_role(self, *a, **k):
        return True

    async def members_with_role(self, guild_id, role_key):
        return []


def bench_config(stock: int) -> Config:
    base = load_config(ROOT / "config")
    drop = DropSpec(id="bench", item="Bench tin", stock=stock, waitlist=True, channel="announcements")
    return dataclasses.replace(base, drops=DropsFile(drops=(drop,)))


async def open_app(db_path: Path | str, stock: int, batch: int | None = None) -> App:
    app = await App.open(bench_config(stock), db_path=db_path, clock=SystemClock(), real_scheduler=False)
    app.guild = BenchGuild()
    app.guild_id = GUILD
    if batch:
        app.drops.writer.max_batch = batch
    await app.start()
    settle_heap()  # as `python -m bot run` does once the bot is ready
    return app


def burst(claims: int, members: int, seed: int = 7) -> list[int]:
    users = [FIRST_MEMBER + (i % members) for i in range(claims)]
    random.Random(seed).shuffle(users)
    return users


async def fire(app: App, drop_id: int, users: list[int], slice_size: int | None = None, *, guild_id: int = GUILD,
               rate: float | None = None) -> tuple[float, list[float], dict[str, int]]:
    """Fire every claim without waiting for any answer, each claim its own task (as discord.py runs each
    interaction). slice_size None: all 20,000 tasks are created in one go (one loop turn runs every
    claim's first step before anything else can run); otherwise `slice_size` claims per loop turn, the
    way discord.py hands a burst of gateway frames to the bot. With `rate` (claims a second), claim i
    arrives at start + i / rate (an open-loop arrival: every claim whose time has come is started at the
    next loop turn, however late the loop is), and its latency counts from that arrival time, so a loop
    that falls behind pays for it in the figure.

    The bench waits for the last answer with a countdown, not `asyncio.gather`: gather adds a Python
    done-callback per task that runs on the same loop while claims are still being answered (15-30 ms of
    a 20,000-claim burst's p99, measured), a cost of the bench that no bot has. A claim that fails with
    anything but a UserError fails the run."""
    latencies = [0.0] * len(users)
    outcomes: dict[str, int] = {}
    failures: list[BaseException] = []
    left = len(users)
    all_answered = asyncio.Event()
    perf = time.perf_counter
    press = app.drops.press

    async def one(i: int, user_id: int, arrived: float | None = None) -> None:
        nonlocal left
        t0 = perf() if arrived is None else arrived
        try:
            result = await press(guild_id, drop_id, user_id)
            key = result.status
        except UserError as exc:
            key = exc.key
        except BaseException as exc:  # noqa: BLE001 - reported after the burst
            failures.append(exc)
            key = "failed"
        latencies[i] = perf() - t0
        outcomes[key] = outcomes.get(key, 0) + 1
        left -= 1
        if not left:
            all_answered.set()

    tasks: list[asyncio.Future] = []  # kept referenced until the end
    start = perf()
    if not users:
        return 0.0, latencies, outcomes
    if rate is not None:
        i, n = 0, len(users)
        while i < n:
            due = min(n, int((perf() - start) * rate) + 1)
            tasks.extend(asyncio.ensure_future(one(k, users[k], start + k / rate)) for k in range(i, due))
            i = due
            await asyncio.sleep(0.0005)  # the next frames arrive while the loop works
    elif slice_size is None:
        tasks.extend(asyncio.ensure_future(one(i, u)) for i, u in enumerate(users))
    else:
        for first in range(0, len(users), slice_size):
            tasks.extend(asyncio.ensure_future(one(i, users[i]))
                         for i in range(first, min(first + slice_size, len(users))))
            await asyncio.sleep(0)
    await all_answered.wait()
    elapsed = perf() - start
    if failures:
        raise RuntimeError(f"{len(failures)} claims failed; the first: {failures[0]!r}") from failures[0]
    return elapsed, latencies, outcomes


async def invariant(app: App, drop_id: int) -> dict:
    check = await repo.stock_check(app.db, drop_id)
    check["members_holding"] = await app.db.fetchval(
        "SELECT COUNT(DISTINCT user_id) FROM drop_claims WHERE drop_id = ? AND status = 'claimed'", (drop_id,))
    check["duplicates"] = check["held"] - check["members_holding"]
    return check


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def one_burst(args, slice_size: int | None, rate: float | None = None):
    with tempfile.TemporaryDirectory() as folder:
        app = await open_app(args.store.target(folder, "bench"), args.stock)
        opened = await app.drops.open(GUILD, "bench", by=1)
        users = burst(args.claims, args.members)
        elapsed, latencies, outcomes = await fire(app, opened.run_id, users, slice_size, rate=rate)
        check = await invariant(app, opened.run_id)
        await app.close()
    return check, elapsed, latencies, outcomes


def run_burst(args, slice_size: int | None, rate: float | None = None) -> bool:
    """The burst `args.runs` times, each on a fresh database: every run's line, then min / median / max."""
    how = ("all created at once (one loop turn)" if slice_size is None and rate is None
           else f"arriving at {rate:,.0f} claims/s (latency from each claim's arrival)" if rate is not None
           else f"{slice_size} per loop turn")
    key = "burst" if rate is None else "paced burst"
    ok, runs = True, []
    for _ in range(args.runs):
        check, elapsed, latencies, outcomes = run_on(args.loop, one_burst(args, slice_size, rate))
        ok = report(key, f"burst: {args.claims:,} claims from {args.members:,} members at stock {args.stock:,}, {how}",
                    check, elapsed, latencies, outcomes, args) and ok
        runs.append((len(latencies) / elapsed, pct(latencies, 50) * 1000, pct(latencies, 99) * 1000,
                     max(latencies) * 1000))
    if len(runs) > 1:
        rates, p50s, p99s = (sorted(r[i] for r in runs) for i in range(3))
        median = len(runs) // 2
        print(f"  over {len(runs)} runs: claims/s min {rates[0]:,.0f} · median {rates[median]:,.0f} · max"
              f" {rates[-1]:,.0f} · p99 ms min {p99s[0]:.1f} · median {p99s[median]:.1f} · max {p99s[-1]:.1f}")
        fast = rates[median] >= 20_000 and p99s[median] < 300
        args.figures[key].update({
            "claims/s": f"{rates[median]:,.0f} (median of {len(runs)})", "p50 ms": f"{p50s[median]:.1f} (median)",
            "p99 ms": f"{p99s[median]:.1f} (median; {p99s[0]:.1f}-{p99s[-1]:.1f})",
            "max ms": f"{max(r[3] for r in runs):.1f} (of all runs)",
            "verdict": ("OK" if ok else "FAILED") + (" · fast (median)" if fast else " · BELOW TARGET (median)")})
    return ok


def report(key: str, title: str, check: dict, elapsed: float, latencies: list[float], outcomes: dict[str, int],
           args) -> bool:
    rate = len(latencies) / elapsed
    p50, p99, worst = (pct(latencies, p) * 1000 for p in (50, 99, 100))
    print(f"{title} [{args.store.name}]")
    print(f"  granted {check['held']:,} · duplicates {check['duplicates']} · over limit {check['over_limit']}"
          f" · remaining {check['remaining']:,} · remaining + granted = {check['remaining'] + check['held']:,}"
          f" (initial {check['stock']:,})")
    print(f"  answers: {', '.join(f'{k} {v:,}' for k, v in sorted(outcomes.items()))}")
    print(f"  {rate:,.0f} claims/s ({elapsed * 1000:.0f} ms) · latency p50 {p50:.1f} ms · p99 {p99:.1f} ms"
          f" · max {worst:.1f} ms")
    ok = (check["held"] == args.stock and check["duplicates"] == 0 and check["over_limit"] == 0
          and check["remaining"] + check["held"] == check["stock"])
    fast = rate >= 20_000 and p99 < 300
    print(f"  correctness {'OK' if ok else 'FAILED'} · speed {'OK' if fast else 'BELOW TARGET'}"
          f" (targets: >= 20,000 claims/s, p99 < 300 ms)")
    args.figures[key] = {"granted": f"{check['held']:,}", "duplicates": str(check["duplicates"]),
                         "remaining + granted": f"{check['remaining'] + check['held']:,} / {check['stock']:,}",
                         "claims/s": f"{rate:,.0f}", "p50 ms": f"{p50:.1f}", "p99 ms": f"{p99:.1f}",
                         "max ms": f"{worst:.1f}", "verdict": ("OK" if ok else "FAILED") + (" · fast" if fast else
                                                                                              " · BELOW TARGET")}
    return ok


def run_on(loop_name: str, main):
    """The event loop `python -m bot run` uses (uvloop when installed), or asyncio's default one."""
    if loop_name == "uvloop":
        from bot.cli.run import run_loop
        return run_loop(main)
    return asyncio.run(main)


def loop_in_use(loop_name: str) -> str:
    if loop_name == "uvloop":
        try:
            import uvloop
        except ImportError:
            return "asyncio default loop (uvloop not installed)"
        return f"uvloop {uvloop.__version__}"
    return "asyncio default loop"


def cpu_reference(loop_name: str) -> str:
    """What this machine gives right now, to read the figures against: plain Python speed, and the
    asyncio floor (20,000 trivial tasks each awaiting a future that a batching writer resolves)."""
    t = time.perf_counter()
    total = 0
    for i in range(1_000_000):
        total += i
    loop_ms = (time.perf_counter() - t) * 1000

    async def floor() -> tuple[float, float]:
        loop = asyncio.get_running_loop()
        queue: list[asyncio.Future] = []
        state: dict = {"task": None}
        latencies: list[float] = []

        async def writer() -> None:
            while queue:
                batch = queue[:2000]
                del queue[:2000]
                await asyncio.sleep(0)
                for fut in batch:
                    fut.set_result(None)
            state["task"] = None

        async def one() -> None:
            t0 = time.perf_counter()
            fut = loop.create_future()
            queue.append(fut)
            if state["task"] is None:
                state["task"] = asyncio.ensure_future(writer())
            await fut
            latencies.append(time.perf_counter() - t0)

        start = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(20_000)))
        return 20_000 / (time.perf_counter() - start), pct(latencies, 99) * 1000

    rate, p99 = run_on(loop_name, floor())
    return (f"machine now: load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs · 1M-iteration Python loop"
            f" {loop_ms:.0f} ms · asyncio floor (no work at all) {rate:,.0f} tasks/s, p99 {p99:.0f} ms"
            f" · loop: {loop_in_use(loop_name)}")


async def run_real_port_burst(args) -> bool:
    """The same burst through the bot's real Discord port: a KizunaBot on the offline harness with
    `members` members in discord.py's member cache, so each claim looks the member's roles up the
    way the running bot does (`DiscordGuildPort.member_role_keys`). The claims are still fired at
    the service (discord.py's interaction parsing is not part of the figure)."""
    from bot.offline import Harness

    with tempfile.TemporaryDirectory() as folder:
        users = {f"fan{i}": ["member"] for i in range(args.members)}
        async with Harness.start(config=bench_config(args.stock), db_path=args.store.target(folder, "k"),
                                 users=users) as g:
            ids = [g.user_id(f"fan{i}") for i in range(args.members)]
            opened = await g.app.drops.open(g.app.guild_id, "bench", by=1)
            settle_heap()
            claimers = [ids[u - FIRST_MEMBER] for u in burst(args.claims, args.members)]
            with g.unwatched():  # the harness's step counting is not part of the bot's figure
                elapsed, latencies, outcomes = await fire(g.app, opened.run_id, claimers, args.slice,
                                                          guild_id=g.app.guild_id)
            check = await invariant(g.app, opened.run_id)
    return report("port", f"burst through the real Discord port (offline harness, {args.members:,} members in"
                  f" discord.py's cache)", check, elapsed, latencies, outcomes, args)


# --- the crash run -------------------------------------------------------------------------------------

async def child(db_path: Path | str, args) -> None:
    """Open the drop, then fire the burst with small batches; print a line after each commit."""
    app = await open_app(db_path, args.stock, batch=args.crash_batch)
    opened = await app.drops.open(GUILD, "bench", by=1)
    committed = 0

    def after(items, outcomes) -> None:
        nonlocal committed
        committed += sum(1 for o in outcomes if o.status == "granted")
        print(f"committed {committed}", flush=True)

    app.drops.writer.after_batch.append(after)
    print(f"open {opened.run_id}", flush=True)
    await fire(app, opened.run_id, burst(args.claims, args.members), args.slice)
    print("finished", flush=True)
    await app.close()


async def run_crash(args) -> bool:
    with tempfile.TemporaryDirectory() as folder:
        db_path = args.store.target(folder, "crash")
        proc = subprocess.Popen([sys.executable, __file__, "--child", str(db_path), "--stock", str(args.stock),
                                 "--claims", str(args.claims), "--members", str(args.members),
                                 "--crash-batch", str(args.crash_batch), "--loop", args.loop, "--db", args.db]
                                + (["--slice", str(args.slice)] if args.slice else []),
                                stdout=subprocess.PIPE, text=True, cwd=ROOT)
        seen_granted = 0
        batches = 0
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("committed"):
                batches += 1
                seen_granted = int(line.split()[1])
                if batches >= args.kill_after:
                    os.kill(proc.pid, signal.SIGKILL)
                    break
            elif line.startswith("finished"):
                break
        proc.wait()
        killed = proc.returncode == -signal.SIGKILL
        print(f"crash [{args.store.name}]: child {'killed with SIGKILL' if killed else 'finished before the kill'} after"
              f" {batches} committed batch(es) ({seen_granted:,} granted reported before the kill)")

        app = await open_app(db_path, args.stock)  # restart: migrations, recovery, service start
        run = await repo.latest_run(app.db, GUILD, "bench")
        check = await invariant(app, run["id"])
        ok_after_crash = (check["remaining"] + check["held"] == check["stock"] and check["duplicates"] == 0
                          and check["over_limit"] == 0 and check["held"] >= seen_granted)
        print(f"  after restart: granted {check['held']:,} · remaining {check['remaining']:,} · remaining + granted ="
              f" {check['remaining'] + check['held']:,} (initial {check['stock']:,}) · duplicates"
              f" {check['duplicates']} · {'OK' if ok_after_crash else 'FAILED'}")
        elapsed, _, outcomes = await fire(app, run["id"], burst(args.claims, args.members), args.slice)
        check = await invariant(app, run["id"])
        ok_final = (check["held"] == args.stock and check["duplicates"] == 0
                    and check["remaining"] + check["held"] == check["stock"])
        print(f"  burst again on the restarted bot: granted {check['held']:,} · duplicates {check['duplicates']} ·"
              f" remaining {check['remaining']:,} · {'OK' if ok_final else 'FAILED'}"
              f" ({', '.join(f'{k} {v:,}' for k, v in sorted(outcomes.items()))})")
        await app.close()
    args.figures["crash"] = {"after SIGKILL: granted + remaining": f"{check['remaining'] + check['held']:,} / "
                             f"{check['stock']:,} {'OK' if ok_after_crash and ok_final else 'FAILED'}"}
    return ok_after_crash and ok_final


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=20_000)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--stock", type=int, default=5_000)
    parser.add_argument("--crash-batch", type=int, default=200, help="writer batch size in the crash child")
    parser.add_argument("--kill-after", type=int, default=8, help="SIGKILL the child after this many commits")
    parser.add_argument("--slice", type=int, default=None,
                        help="hand the loop this many claims per turn instead of all 20,000 at once")
    parser.add_argument("--rate", type=float, default=None,
                        help="also fire the burst arriving at this many claims a second (as gateway frames"
                             " arrive over time), latency counted from each claim's arrival")
    parser.add_argument("--runs", type=int, default=3, help="times the burst is fired, each on a fresh database"
                        " (min / median / max printed)")
    parser.add_argument("--skip-real-port", action="store_true")
    parser.add_argument("--skip-crash", action="store_true")
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop",
                        help="event loop: uvloop when installed, as `python -m bot run` (default), or asyncio's own")
    parser.add_argument("--db", default="sqlite",
                        help="sqlite (a temporary file, the default), postgresql (a throwaway server the bench starts),"
                             " a postgresql://... URL (a fresh schema per run, dropped after), or both")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    tune_process()  # the collector and GIL settings `python -m bot run` uses
    if args.child:
        run_on(args.loop, child(args.child if args.child.startswith("postgres") else Path(args.child), args))
        return 0
    print(cpu_reference(args.loop))
    names = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    ok, table = True, {}
    for name in names:
        with Store(name) as store:
            args.store, args.figures = store, {}
            ok = run_burst(args, args.slice) and ok
            if args.rate:
                ok = run_burst(args, None, args.rate) and ok
            if not args.skip_real_port:
                ok = run_on(args.loop, run_real_port_burst(args)) and ok
            if not args.skip_crash:
                ok = run_on(args.loop, run_crash(args)) and ok
            table[store.name] = args.figures
    if len(table) > 1:
        side_by_side(table)
    return 0 if ok else 1


class Store:
    """Where each run's database goes: a file in the run's temporary folder (SQLite), or a fresh schema
    on a PostgreSQL server (the URL given, or a throwaway server started here with fsync on, as a real
    one runs), dropped afterwards."""

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self.server = None
        self.url: str | None = None
        self.schemas: list[str] = []

    def __enter__(self) -> "Store":
        if self.spec == "sqlite":
            self.name = "SQLite"
        elif self.spec == "postgresql":
            from bot.offline.postgres import ThrowawayPostgres

            self.server = ThrowawayPostgres(durable=True).start()
            self.url = self.server.url()
            self.name = f"PostgreSQL {self.server.version}"
        elif self.spec.startswith(("postgresql://", "postgres://")):
            self.url = self.spec
            self.name = "PostgreSQL"
        else:
            raise SystemExit(f"--db {self.spec!r}: sqlite, postgresql, both or a postgresql:// URL")
        return self

    def target(self, folder: str, stem: str) -> Path | str:
        if self.url is None:
            return Path(folder) / f"{stem}.db"
        schema = f"bench_{os.getpid()}_{len(self.schemas) + 1}"
        self.schemas.append(schema)
        return f"{self.url}{'&' if '?' in self.url else '?'}schema={schema}"

    def __exit__(self, *exc) -> None:
        if self.url is not None and self.schemas:
            import asyncpg

            from bot.db.pg import split_url

            async def drop() -> None:
                conn = await asyncpg.connect(split_url(self.url)[0])
                try:
                    for schema in self.schemas:
                        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
                finally:
                    await conn.close()

            asyncio.run(drop())
        if self.server is not None:
            self.server.stop()


def side_by_side(table: dict[str, dict[str, dict[str, str]]]) -> None:
    names = list(table)
    rows = []
    for run in ("burst", "port", "crash"):
        keys = next((list(t[run]) for t in table.values() if run in t), [])
        for key in keys:
            rows.append((f"{run}: {key}", [table[n].get(run, {}).get(key, "-") for n in names]))
    width = max(len(r[0]) for r in rows)
    cols = [max(len(n), *(len(r[1][i]) for r in rows)) for i, n in enumerate(names)]
    print()
    print(" " * width + "  " + "  ".join(n.rjust(c) for n, c in zip(names, cols)))
    for label, values in rows:
        print(label.ljust(width) + "  " + "  ".join(v.rjust(c) for v, c in zip(values, cols)))


if __name__ == "__main__":
    raise SystemExit(main())
