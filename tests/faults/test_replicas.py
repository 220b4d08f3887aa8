"""Replicas on PostgreSQL (issue 18, item 4): a leader and a standby `run` process for one community on one
server. The leader is killed with SIGKILL while posts are due and a drop claim burst is running; the
standby takes over, and the ledgers show every post once, every claim once with its one DM, the stock
exact. The processes (replica_child.py) use the same leader lock and fencing as `python -m bot run`.

Kill points: in the middle of a claim wave (its minute's post in flight beside it), and right after a
scheduled post reached Discord but before the outbox recorded it (the new leader must find it, not post
it again). Each run prints its figures (pytest -s). Every process has a timeout: a hang fails the test.
The 10 s bound is the issue's promise; a takeover takes well under a second here.
"""
from __future__ import annotations

import asyncio
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CHILD = HERE / "replica_child.py"
sys.path.insert(0, str(HERE))

import replica_child  # noqa: E402
from fault_ledger import FileDiscord  # noqa: E402

from tests.helpers import config_dir_with  # noqa: E402
from tests.pg_community import pg_community  # noqa: E402,F401

pytestmark = pytest.mark.sqlite_only("starts its own processes on its own PostgreSQL database")

TIMEOUT = 60  # seconds a process may take before it counts as hung
TAKEOVER = 10.0  # the bound: from the leader's death to the standby running the community
CODE = re.compile(r"`(REPL-\d{4})`")


class Child:
    """A replica process whose stdout lines are read in a thread, each awaited with a timeout."""

    def __init__(self, files: dict, *extra: str) -> None:
        cmd = [sys.executable, str(CHILD), str(files["config"]), files["url"], str(files["discord"]),
               str(files["told"]), *extra]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, cwd=ROOT)
        self.lines: queue.Queue[str] = queue.Queue()
        self.err: list[str] = []
        self._readers = [threading.Thread(target=lambda: [self.lines.put(line) for line in self.proc.stdout],
                                          daemon=True),
                         threading.Thread(target=lambda: [self.err.append(line) for line in self.proc.stderr],
                                          daemon=True)]
        for reader in self._readers:
            reader.start()

    def expect(self, word: str, timeout: float = TIMEOUT) -> float:
        """Wait for the line `word <monotonic>`; returns the time the child stamped on it."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.stop()
                pytest.fail(f"no `{word}` within {timeout}s (exit {self.proc.poll()}):\n{''.join(self.err)[-3000:]}")
            head, _, stamp = line.strip().partition(" ")
            if head == word:
                return float(stamp)

    def wait(self) -> int:
        """Its exit code, once it has exited and everything it wrote has been read."""
        try:
            code = self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.stop()
            pytest.fail(f"the replica did not exit within {TIMEOUT}s:\n{''.join(self.err)[-3000:]}")
        for reader in self._readers:
            reader.join(timeout=TIMEOUT)
        return code

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=TIMEOUT)


@pytest.fixture
def files(tmp_path, pg_community) -> dict:
    config = config_dir_with(tmp_path, {"drops.yaml": replica_child.DROPS_YAML,
                                        f"codes/{replica_child.DROP}.csv": replica_child.CODES,
                                        "schedules.yaml": replica_child.SCHEDULES_YAML})
    return {"config": config, "url": pg_community, "discord": tmp_path / "discord.jsonl",
            "told": tmp_path / "told.txt"}


async def _figures(url: str) -> dict:
    import asyncpg

    from bot.db.transfer import parse_target

    target = parse_target(url)
    conn = await asyncpg.connect(target.dsn, server_settings={"search_path": target.schema})
    try:
        stock, remaining, limit = await conn.fetchrow("SELECT stock, remaining, claim_limit FROM drops")
        claims = await conn.fetch("SELECT c.user_id, c.slot, k.code FROM drop_claims c LEFT JOIN drop_codes k"
                                  " ON k.claim_id = c.id WHERE c.status = 'claimed'")
        ledger = await conn.fetch("SELECT occurrence, status FROM schedule_ledger WHERE schedule_id = 'tick'")
        unsent = await conn.fetchval("SELECT count(*) FROM outbox WHERE status <> 'sent'")
        term = await conn.fetchval("SELECT term FROM leader_term WHERE slot = 1")  # raised by each leader
    finally:
        await conn.close()
    return {"stock": stock, "remaining": remaining, "limit": limit, "claims": [tuple(c) for c in claims],
            "ledger": [tuple(r) for r in ledger], "unsent": unsent, "term": term}


def figures(files: dict) -> dict:
    db = asyncio.run(_figures(files["url"]))
    discord = FileDiscord(str(files["discord"]))
    discord.close()
    ticks = Counter(m.content for m in discord.messages.values() if m.content.startswith("tick "))
    dm_codes = Counter()
    for msg in discord.messages.values():
        if msg.channel.startswith("dm:"):
            for code in CODE.findall(msg.content):
                dm_codes[(int(msg.channel[3:]), code)] += 1
    owed = {(uid, code) for uid, _, code in db["claims"]}
    told = [tuple(map(int, line.split())) for line in files["told"].read_text().splitlines()] \
        if files["told"].exists() else []
    committed = {(uid, slot) for uid, slot, _ in db["claims"]}
    held = Counter(uid for uid, _, _ in db["claims"])
    return {
        "posts": sum(ticks.values()), "distinct_posts": len(ticks),
        "doubled_posts": sum(n - 1 for n in ticks.values()),
        "ledger_posted": sum(1 for _, status in db["ledger"] if status == "posted"),
        "ledger_rows": len(db["ledger"]),
        "stock": db["stock"], "granted": len(db["claims"]), "remaining": db["remaining"],
        "over_limit": sum(1 for n in held.values() if n > db["limit"]),
        "lost_dms": sum(1 for uid, _, code in db["claims"] if code is None or dm_codes[(uid, code)] == 0),
        "doubled_dms": sum(n - 1 for n in dm_codes.values() if n > 1) + sum(n for k, n in dm_codes.items()
                                                                          if k not in owed),
        "told": len(told), "told_not_committed": sum(1 for t in told if t not in committed),
        "unsent": db["unsent"], "term": db["term"],
    }


@pytest.mark.parametrize("die", ["told:20", "post:3"])
def test_a_standby_takes_over_a_leader_killed_9_mid_burst_and_every_post_and_claim_is_there_once(files, die):
    leader = Child(files, "--wait-go", "--die", die)
    standby = None
    try:
        leader.expect("leader")
        leader.expect("ready")
        standby = Child(files, "--wait-go")
        standby.expect("standby")  # it found the leader and waits
        leader.proc.stdin.write("go\n")
        leader.proc.stdin.flush()
        dead_at = leader.expect("dying")
        code = leader.wait()
        assert code == -signal.SIGKILL, f"the leader did not die at {die} (exit {code}):\n{''.join(leader.err)[-3000:]}"
        took_lead = standby.expect("leader", TAKEOVER) - dead_at
        running = standby.expect("ready", TAKEOVER) - dead_at  # started: the old leader's rows recovered
        at_kill = figures(files)  # before the members click again
        standby.proc.stdin.write("go\n")
        standby.proc.stdin.flush()
        standby.expect("done")
        assert standby.wait() == 0, "".join(standby.err)[-3000:]
    finally:
        leader.stop()
        if standby is not None:
            standby.stop()
    fig = figures(files)
    print(f"\nkill -9 of the leader at {die}: standby leads after {took_lead:.2f}s, runs the community after "
          f"{running:.2f}s; at the kill {at_kill['posts']} posts, {at_kill['granted']} claims, {at_kill['told']} "
          f"told; at the end posts={fig['posts']}/{replica_child.MINUTES} doubled={fig['doubled_posts']} "
          f"claims granted={fig['granted']} remaining={fig['remaining']} (stock {fig['stock']}) "
          f"doubled DMs={fig['doubled_dms']} lost DMs={fig['lost_dms']} told-not-committed="
          f"{fig['told_not_committed']} over-limit={fig['over_limit']} unsent={fig['unsent']}")
    assert 0 < at_kill["posts"] < replica_child.MINUTES and 0 < at_kill["granted"] < fig["stock"]  # killed mid-way
    assert running < TAKEOVER
    assert fig["posts"] == fig["distinct_posts"] == fig["ledger_posted"] == fig["ledger_rows"] == replica_child.MINUTES
    assert fig["doubled_posts"] == 0
    assert fig["granted"] == fig["stock"] and fig["remaining"] == 0 and fig["over_limit"] == 0
    assert fig["lost_dms"] == fig["doubled_dms"] == fig["told_not_committed"] == fig["unsent"] == 0
    assert fig["term"] == 2  # each leader's outbox claimed under its own term (the fence, bot/db/leader.py)


def test_status_names_the_leader_and_its_standbys_and_a_leader_cut_off_from_its_lock_stops(files, capsys):
    """A leader, a standby replica and `python -m bot run` itself, which finds the leader, says who it
    is and waits (never logs in). `status` names all three. Then the server ends the leader's lock
    session (a network cut, an operator's pg_terminate_backend): the leader notices at its next check
    and exits (code 3, for a supervisor to restart it as a standby) instead of going on beside the new
    leader; the standby takes over and `status` says so."""
    from bot.__main__ import main as cli
    from bot.cli._replica import LOST_EXIT

    leader = Child(files, "--wait-go")
    standby = run = None
    try:
        leader.expect("ready")
        standby = Child(files, "--wait-go")  # once it leads, it waits at `ready` for the last status
        standby.expect("standby")
        run = _bot_run(files)
        line = _line_with(run, "standby:")
        assert f"is led by pid {leader.proc.pid} on " in line and "this process waits and takes over" in line, line
        assert cli(["status", "--db", files["url"]]) == 0
        out = capsys.readouterr().out
        assert f"leader:  pid {leader.proc.pid} on " in out and "replica_child.py" in out and " since 20" in out
        assert f"standby: pid {standby.proc.pid} on " in out and f"standby: pid {run.pid} on " in out
        assert "`python -m bot run --config" in out
        run.kill()  # only the replica may take over below
        run.wait(timeout=TIMEOUT)

        asyncio.run(_terminate_lock_session(files["url"], leader.proc.pid))
        assert leader.wait() == LOST_EXIT, "".join(leader.err)[-3000:]
        assert "the leader's lock session for community_a stopped answering" in "".join(leader.err)
        standby.expect("ready")
        assert cli(["status", "--db", files["url"]]) == 0
        out = capsys.readouterr().out
        assert f"leader:  pid {standby.proc.pid} on " in out
        assert f"gone:    pid {leader.proc.pid} on " in out and "(leader)" in out
    finally:
        leader.stop()
        if standby is not None:
            standby.stop()
        if run is not None and run.poll() is None:
            run.kill()
            run.wait(timeout=TIMEOUT)


def _bot_run(files: dict) -> subprocess.Popen:
    import os

    env = dict(os.environ, DISCORD_TOKEN="not-a-real-token", PYTHONPATH=str(ROOT))
    env.pop("KIZUNA_DB", None)
    return subprocess.Popen([sys.executable, "-m", "bot", "run", "--config", str(files["config"]), "--db",
                             files["url"]], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            cwd=files["config"].parent, env=env)


def _line_with(proc: subprocess.Popen, text: str) -> str:
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stderr], daemon=True).start()
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        if text in line:
            return line
    pytest.fail(f"no line with {text!r} from {proc.args} (exit {proc.poll()})")


async def _terminate_lock_session(url: str, pid: int) -> int:
    import asyncpg

    from bot.db.transfer import parse_target

    target = parse_target(url)
    conn = await asyncpg.connect(target.dsn, server_settings={"search_path": target.schema})
    try:
        for _ in range(TIMEOUT * 20):  # the leader notes its row once its App has made the tables
            session = await conn.fetchval("SELECT session_pid FROM replica_nodes WHERE pid = $1 AND role = 'leader'",
                                          pid)
            if session:
                break
            await asyncio.sleep(0.05)
        assert await conn.fetchval("SELECT pg_terminate_backend($1)", session)
        return session
    finally:
        await conn.close()
