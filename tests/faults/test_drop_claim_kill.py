"""kill -9 of a real process inside a drop claim burst, then a restart: stock exact, nobody over the
limit, one DM (with its code) per claim, and nobody told "it's yours" without a committed claim.

The process (drop_child.py) runs the real drops service on a real SQLite file; the members' answers
and the DMs are written to fsynced files, so the ledger survives the kill exactly. Kill points: inside
a claim batch's transaction (at its INSERT, at its COMMIT), just after its COMMIT, after a member was
told, after a DM was queued, after a DM reached Discord; and at random moments. Each run prints its figures (pytest -s).
Every process has a timeout: a hang fails the test."""
from __future__ import annotations

import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
CHILD = HERE / "drop_child.py"
sys.path.insert(0, str(HERE))

import drop_child  # noqa: E402
from fault_ledger import FileDiscord  # noqa: E402

from tests.helpers import config_dir_with  # noqa: E402

pytestmark = pytest.mark.sqlite_only("a child process killed while writing a SQLite file (bench_drops.py --db postgresql kills one on PostgreSQL)")

TIMEOUT = 60  # seconds a run may take before it counts as hung (one takes about a second)
CODE = re.compile(r"`(BURST-\d{4})`")


@dataclass
class Figures:
    stock: int
    granted: int
    remaining: int
    over_limit: int  # members holding more than the limit
    lost_dms: int  # claims whose code never reached the member
    doubled_dms: int  # extra DMs of a code (or a code DM'd to someone who does not hold it)
    told_not_committed: int  # "it's yours" with no committed claim behind it
    told: int
    unsent: int  # outbox rows not sent at the end (pending, sending, unknown, failed)
    kills: int = 0

    def line(self, what: str) -> str:
        return (f"{what}: claims granted={self.granted} remaining={self.remaining} (stock {self.stock}) "
                f"doubled DMs={self.doubled_dms} lost DMs={self.lost_dms} told-but-not-committed="
                f"{self.told_not_committed} (of {self.told} told) over-limit={self.over_limit} "
                f"unsent={self.unsent} kills={self.kills}")

    def exact(self) -> bool:
        return (self.granted + self.remaining == self.stock and self.granted == self.stock and self.over_limit == 0
                and self.lost_dms == 0 and self.doubled_dms == 0 and self.told_not_committed == 0
                and self.unsent == 0)


@pytest.fixture
def files(tmp_path) -> dict[str, Path]:
    config = config_dir_with(tmp_path, {"drops.yaml": drop_child.DROPS_YAML,
                                        f"codes/{drop_child.DROP}.csv": drop_child.CODES})
    return {"config": config, "db": tmp_path / "k.db", "discord": tmp_path / "discord.jsonl",
            "told": tmp_path / "told.txt"}


def start(files: dict[str, Path], die: str | None = None) -> subprocess.Popen:
    cmd = [sys.executable, str(CHILD), str(files["config"]), str(files["db"]), str(files["discord"]),
           str(files["told"])] + (["--die", die] if die else [])
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=HERE.parents[1])


def finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"the drop child did not exit within {TIMEOUT}s (hung):\n{err[-2000:]}")
    return proc.returncode, out, err


def restart_to_the_end(files: dict[str, Path]) -> None:
    code, out, err = finish(start(files))
    assert code == 0 and "done" in out, err[-3000:]


def figures(files: dict[str, Path]) -> Figures:
    with closing(sqlite3.connect(files["db"])) as conn:
        stock, remaining, limit = conn.execute("SELECT stock, remaining, claim_limit FROM drops").fetchone()
        claims = conn.execute(
            "SELECT c.user_id, c.slot, k.code FROM drop_claims c LEFT JOIN drop_codes k ON k.claim_id = c.id"
            " WHERE c.status = 'claimed'").fetchall()
        unsent = conn.execute("SELECT COUNT(*) FROM outbox WHERE status <> 'sent'").fetchone()[0]
    discord = FileDiscord(str(files["discord"]))
    discord.close()
    dm_codes = Counter()  # (member, code) -> DMs carrying it
    for msg in discord.messages.values():
        if msg.channel.startswith("dm:"):
            for code in CODE.findall(msg.content):
                dm_codes[(int(msg.channel[3:]), code)] += 1
    owed = {(uid, code) for uid, _, code in claims}
    lost = sum(1 for uid, _, code in claims if code is None or dm_codes[(uid, code)] == 0)
    doubled = sum(n - 1 for n in dm_codes.values() if n > 1) + sum(n for k, n in dm_codes.items() if k not in owed)
    held = Counter(uid for uid, _, _ in claims)
    told = [tuple(map(int, line.split())) for line in files["told"].read_text().splitlines()] \
        if files["told"].exists() else []
    committed = {(uid, slot) for uid, slot, _ in claims}
    return Figures(stock=stock, granted=len(claims), remaining=remaining,
                   over_limit=sum(1 for n in held.values() if n > limit), lost_dms=lost, doubled_dms=doubled,
                   told_not_committed=sum(1 for t in told if t not in committed), told=len(told), unsent=unsent)


POINTS = ["insert:2", "commit:2", "after-commit:2", "told:5", "queued:3", "dm:4"]


@pytest.mark.parametrize("die", POINTS)
def test_a_kill_9_inside_a_claim_burst_then_a_restart_grants_exactly_the_stock_with_one_dm_each(files, die):
    code, out, err = finish(start(files, die))
    assert "ready" in out, err[-3000:]
    assert code == -signal.SIGKILL, f"the child did not die at {die} (exit {code}):\n{err[-3000:]}"
    before = figures(files)
    assert before.told_not_committed == 0, before.line("right after the kill")
    point, n = die.split(":")
    if point in ("insert", "commit", "after-commit"):  # the kill landed where it was meant to: each wave is a batch
        committed_batches = int(n) - (point != "after-commit")
        assert before.granted == drop_child.WAVE * committed_batches, before.line(f"after the kill at {die}")
    if point == "queued":
        with closing(sqlite3.connect(files["db"])) as conn:
            queued = conn.execute("SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE 'drop:%:dm:%'").fetchone()[0]
        assert queued >= int(n), f"killed after {queued} DMs were queued, not {n}"
    restart_to_the_end(files)
    fig = figures(files)
    fig.kills = 1
    print(f"\n{fig.line(f'kill -9 at {die}')} (at the kill: {before.granted} granted, {before.told} told)")
    assert fig.exact(), fig.line(die)


def test_random_kills_during_a_claim_burst_leave_exact_stock_and_one_dm_per_claim(files):
    """Killed at random moments (a random number of claims told, then a random few milliseconds),
    restarted each time with the members clicking again; then one run to the end."""
    rng = random.Random(1406)
    kills = 0
    for _ in range(3):
        told_before = len(files["told"].read_text().splitlines()) if files["told"].exists() else 0
        proc = start(files)
        if proc.stdout.readline().strip() != "ready":
            code, out, err = finish(proc)
            pytest.fail(f"the child failed to start ({code}):\n{err[-3000:]}")
        threshold = told_before + rng.randint(0, 12)
        deadline = time.monotonic() + TIMEOUT
        while proc.poll() is None and time.monotonic() < deadline and (
                not files["told"].exists() or len(files["told"].read_text().splitlines()) < threshold):
            time.sleep(0.001)
        time.sleep(rng.uniform(0, 0.01))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        code, out, err = finish(proc)
        assert code in (0, -signal.SIGKILL), err[-3000:]
        kills += code == -signal.SIGKILL
        assert figures(files).told_not_committed == 0
    restart_to_the_end(files)
    fig = figures(files)
    fig.kills = kills
    print(f"\n{fig.line('random kill -9 during the burst')}")
    assert kills >= 1
    assert fig.exact(), fig.line("random kills")
