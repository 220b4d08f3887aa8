"""One writer per database, with real processes (issue 14, part 3). Reported: a second `run` or
`playground` on the same database started silently and its start-up recovery rewrote the first one's
rows; two cold starts at once crashed in 5 of 11 runs; a failed open hung instead of exiting.

Every process here has a timeout: a process that hangs fails the test (no timing asserts). Bounded:
about 30 processes, about 8 s of CPU."""
from __future__ import annotations

import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
from contextlib import closing
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config"
TIMEOUT = 30  # seconds a process may take before it counts as hung (they take about one)
IN_USE = "is in use by another Kizuna process"

pytestmark = pytest.mark.sqlite_only("the SQLite writer's OS file lock between processes")

# the real open path (writer lock, then migrations) without the bot around it: cheap enough to start
# ten pairs. It waits for a line on stdin so that both of a pair start opening at the same moment.
OPENER = """
import asyncio, sys
from bot.db import DatabaseInUse, open_database
sys.stdin.readline()
async def main():
    try:
        db = await open_database(sys.argv[1])
    except DatabaseInUse as exc:
        print(exc, file=sys.stderr)
        return 3
    await db.close()
    print("opened")
    return 0
sys.exit(asyncio.run(main()))
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")  # this checkout's bot, not another
    env["PYTHONUNBUFFERED"] = "1"
    env["DISCORD_TOKEN"] = "not-a-real-token"  # `run` must be refused before it would use it
    env.pop("KIZUNA_DB", None)
    return env


def _bot(*args: str, stdin=subprocess.DEVNULL) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "bot", *args[:1], "--config", str(CONFIG), *args[1:]]
    return subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env(), cwd=ROOT)


def _finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"{proc.args} did not exit within {TIMEOUT}s (hung):\n{err[-2000:]}")
    return proc.returncode, out, err


@pytest.fixture
def script(tmp_path) -> Path:
    path = tmp_path / "script.txt"
    path.write_text(":users\n", encoding="utf-8")
    return path


@pytest.fixture
def holder(tmp_path):
    """`python -m bot playground --db X` at its prompt: a process that holds X, as `run` would."""
    db = tmp_path / "k.db"
    proc = _bot("playground", "--db", str(db), stdin=subprocess.PIPE)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        while True:
            try:
                line = lines.get(timeout=TIMEOUT)
            except queue.Empty:
                pytest.fail("the holding playground did not reach its prompt")
            if "Kizuna playground:" in line:
                break
        yield proc, db
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=TIMEOUT)


def _held_ledger(db: Path) -> list[str]:
    with closing(sqlite3.connect(db)) as conn:
        return [row[0] for row in conn.execute("SELECT name FROM schema_migrations ORDER BY version")]


def test_a_second_process_is_refused_at_once_naming_the_first_and_starts_once_the_first_is_killed_9(
        holder, script):
    proc, db = holder
    second = _bot("playground", "--script", str(script), "--db", str(db))
    bot_run = _bot("run", "--db", str(db))
    stats = _bot("stats", "--db", str(db))
    for refused in (second, bot_run):
        code, out, err = _finish(refused)
        assert code == 1, err
        assert f"{db} {IN_USE} (pid {proc.pid} on " in err, err
        assert "`python -m bot playground --config" in err and " since 20" in err, err
        assert "Traceback" not in err and "logging in" not in err, err  # refused before Discord
        assert "vera" not in out  # the refused playground never ran its script
    code, out, err = _finish(stats)  # `stats` and `export` only read: they work beside the writer
    assert code == 0 and "Members:" in out, err
    assert proc.poll() is None  # the holder is untouched

    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=TIMEOUT)
    assert f'"pid": {proc.pid}' in (db.parent / "k.db.lock").read_text()  # what the dead holder left
    code, out, err = _finish(_bot("playground", "--script", str(script), "--db", str(db)))
    assert code == 0, err
    assert "vera" in out and IN_USE not in err


def test_ten_pairs_of_cold_starts_on_a_new_database_never_crash(tmp_path):
    """Each of a pair either opens (and migrates) or is refused with the clear line; never "table ...
    already exists", "database is locked" or a hang; the database ends with every migration once."""
    from bot.db.connection import available_migrations

    expected = [name for _, name, _ in available_migrations()]
    outcomes = []
    for n in range(10):
        db = tmp_path / f"cold-{n}.db"
        pair = [subprocess.Popen([sys.executable, "-c", OPENER, str(db)], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), cwd=ROOT)
                for _ in range(2)]
        for proc in pair:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        for proc in pair:
            code, out, err = _finish(proc)
            assert (code, out) == (0, "opened\n") or (code == 3 and IN_USE in err), err
            outcomes.append(code)
        assert _held_ledger(db) == expected
    print(f"\n10 pairs of cold starts: {outcomes.count(0)} opened, {outcomes.count(3)} refused, 0 crashed")


def _folder(tmp_path: Path) -> Path:
    (tmp_path / "folder.db").mkdir()
    return tmp_path / "folder.db"


def _not_a_database(tmp_path: Path) -> Path:
    (tmp_path / "notes.db").write_bytes(b"these are notes, not SQLite\n" * 100)
    return tmp_path / "notes.db"


def test_a_failed_open_exits_non_zero_with_the_reason_and_does_not_hang(tmp_path, script):
    folder, garbage = _folder(tmp_path), _not_a_database(tmp_path)
    cases = {  # every command that opens the database: playground and run write, stats and export read
        "playground": (_bot("playground", "--script", str(script), "--db", str(garbage)),
                       f"cannot open the database {garbage}: file is not a database"),
        "run": (_bot("run", "--db", str(folder)), f"cannot open the database {folder}: it is a folder"),
        "stats": (_bot("stats", "--db", str(garbage)), f"{garbage} is not a Kizuna database"),
        "export": (_bot("export", "feedback", "--db", str(folder)), f"no database at {folder}"),
    }
    for command, (proc, reason) in cases.items():
        code, out, err = _finish(proc)  # a hang fails here, after TIMEOUT seconds
        assert code == 1, (command, err)
        assert reason in err and "Traceback" not in err, (command, err)
        assert "logging in" not in err, err
    assert garbage.read_bytes().startswith(b"these are notes")  # and it was left as it was
