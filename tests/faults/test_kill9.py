"""kill -9 of a real process at chosen points and at random, then a restart: nothing lost, nothing doubled.

The process (child.py) runs the real outbox on a real SQLite file and sends to a fake Discord whose
state is an fsynced append-only file (fault_ledger.py), so the ledger of what Discord saw survives
the kill exactly. Each test prints its figures (pytest -s):

    python -m pytest -s tests/faults            # this checkout
    python tests/faults/test_kill9.py /work/main  # the same figures for another checkout, no asserts
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CHILD = HERE / "child.py"
sys.path.insert(0, str(HERE))

from fault_ledger import count_by_content  # noqa: E402

pytestmark = pytest.mark.sqlite_only("a child process killed while writing a SQLite file")


@dataclass
class Figures:
    expected: int = 0
    sent: int = 0  # delivered exactly once (edits: applied)
    lost: int = 0  # never delivered
    doubled: int = 0  # extra copies Discord holds
    unknown: int = 0  # rows reported "interrupted, may not have gone out"
    kills: int = 0

    def line(self, what: str) -> str:
        return (f"{what}: sent={self.sent}/{self.expected} lost={self.lost} doubled={self.doubled} "
                f"unknown-notices={self.unknown} kills={self.kills}")


def child_env(root: Path) -> dict[str, str]:
    return dict(os.environ, KIZUNA_ROOT=str(root), PYTHONDONTWRITEBYTECODE="1")


def start(tmp: Path, root: Path, workload: str, *, die: str | None = None, offset: float = 0.0) -> subprocess.Popen:
    cmd = [sys.executable, str(CHILD), str(tmp / "k.db"), str(tmp / "discord.jsonl"), workload,
           "--offset-minutes", str(offset)]
    if die:
        cmd += ["--die", die]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env(root))


def finish(proc: subprocess.Popen, timeout: float = 60) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def expected_workload(workload: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location("fault_child_workload", CHILD)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.workload(workload)


def figures(tmp: Path, workload: str) -> Figures:
    import sqlite3

    counts, messages = count_by_content(str(tmp / "discord.jsonl"))
    fig = Figures()
    final = {m.content: (m.edits[-1] if m.edits else m.content) for m in messages.values()}
    finals = set(final.values())
    for target, message, key in expected_workload(workload):
        fig.expected += 1
        if message.replaces:  # an edit: the original now shows it
            if message.content in finals:
                fig.sent += 1
            else:
                fig.lost += 1
            continue
        n = counts.get(message.content, 0)
        fig.sent += n == 1
        fig.lost += n == 0
        fig.doubled += max(0, n - 1)
    with sqlite3.connect(tmp / "k.db") as conn:
        fig.unknown = conn.execute("SELECT COUNT(*) FROM outbox WHERE status = 'unknown'").fetchone()[0]
    return fig


def ledger_lines(tmp: Path) -> int:
    try:
        with open(tmp / "discord.jsonl", "rb") as f:
            return f.read().count(b"\n")
    except FileNotFoundError:
        return 0


def point_kill(tmp: Path, root: Path, workload: str, die: str, *, late: bool) -> Figures:
    """Die at one point, then restart (at once, or after Discord's nonce window) and finish."""
    code, out, err = finish(start(tmp, root, workload, die=die))
    assert code == -signal.SIGKILL, f"the child did not die at {die}: {code}\n{err}"
    code, out, err = finish(start(tmp, root, workload, offset=10.0 if late else 0.0))
    assert code == 0 and "done" in out, err
    fig = figures(tmp, workload)
    fig.kills = 1
    return fig


def random_kills(tmp: Path, root: Path, workload: str, *, kills: int, seed: int) -> Figures:
    """Kill the child at random moments (after a random number of Discord writes, plus a random few
    milliseconds) until `kills` kills landed mid-work; every other restart comes after the nonce
    window. Then one run to the end."""
    rng = random.Random(seed)
    landed, run, offset = 0, 0, 0.0
    while landed < kills:
        proc = start(tmp, root, workload, offset=offset)
        if proc.stdout.readline().strip() != "ready":
            code, out, err = finish(proc)
            raise AssertionError(f"the child failed to start: {code}\n{err}")
        threshold = ledger_lines(tmp) + rng.randint(5, 40)
        while proc.poll() is None and ledger_lines(tmp) < threshold:
            time.sleep(0.001)
        time.sleep(rng.uniform(0, 0.004))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            landed += 1
        code, _, err = finish(proc)
        if code == 0:
            break  # finished before the kill: nothing left to kill
        assert code == -signal.SIGKILL, err
        run += 1
        offset += 10.0 * (run % 2)  # every other restart is after Discord's nonce window
    code, out, err = finish(start(tmp, root, workload, offset=offset + 10.0))
    assert code == 0 and "done" in out, err
    fig = figures(tmp, workload)
    fig.kills = landed
    return fig


# --- the suite -------------------------------------------------------------------------------------------
POINTS = [
    ("channel:5", "before:send:3", False), ("channel:5", "after:send:3", False), ("channel:5", "after:send:3", True),
    ("channel:5", "marked:send:3", False),
    ("persona:5", "before:send:3", False), ("persona:5", "after:send:3", False), ("persona:5", "after:send:3", True),
    ("persona:5", "marked:send:3", False),
    ("dm:5", "before:send:3", False), ("dm:5", "after:send:3", False), ("dm:5", "after:send:3", True),
    ("dm:5", "marked:send:3", False),
    ("edit:3", "before:edit:2", False), ("edit:3", "after:edit:2", True), ("edit:3", "marked:edit:2", False),
    ("channel:50", "after:send:1", False),  # right after the first send of a batch (reported: 49 of 50 lost)
]


@pytest.mark.parametrize("workload,die,late", POINTS,
                         ids=[f"{w}-{d}-{'late' if late else 'at-once'}" for w, d, late in POINTS])
def test_a_kill_at_a_chosen_point_then_a_restart_sends_each_message_exactly_once(tmp_path, workload, die, late):
    fig = point_kill(tmp_path, ROOT, workload, die, late=late)
    print(fig.line(f"kill -9 at {die} in {workload} (restart {'after the nonce window' if late else 'at once'})"))
    assert (fig.sent, fig.lost, fig.doubled, fig.unknown) == (fig.expected, 0, 0, 0)


def test_24_random_kills_during_900_scheduled_posts_lose_nothing_and_double_nothing(tmp_path):
    fig = random_kills(tmp_path, ROOT, "mixed:900", kills=24, seed=14)
    print(fig.line("24 random kill -9 during 900 posts (channel, persona, DM, edit)"))
    assert fig.kills >= 24
    assert (fig.sent, fig.lost, fig.doubled, fig.unknown) == (fig.expected, 0, 0, 0)


if __name__ == "__main__":  # figures for another checkout (e.g. main before this change), no asserts
    import tempfile

    root = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT).resolve()
    for workload, die, late in POINTS:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                print(point_kill(Path(tmp), root, workload, die, late=late).line(
                    f"{root.name}: kill at {die} in {workload} late={late}"), flush=True)
            except AssertionError as exc:
                print(f"{root.name}: kill at {die} in {workload}: {str(exc)[:200]}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        print(random_kills(Path(tmp), root, "mixed:900", kills=24, seed=14).line(f"{root.name}: 24 random kills"))
