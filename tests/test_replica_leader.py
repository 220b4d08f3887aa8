"""Who runs a community (issue 18, item 4): the leader lock on PostgreSQL, one per community schema on
one server; `python -m bot status`; and SQLite's one process per database, refused with a clear line.
The processes themselves (a leader killed with SIGKILL, fencing, `run` as a standby) are in
tests/faults/test_replicas.py."""
from __future__ import annotations

import asyncio
import os

import pytest

from bot.__main__ import main as cli
from bot.db.connection import open_database
from bot.db.leader import Leadership, leader_report
from bot.db.transfer import migrate, parse_target
from bot.db.writer_lock import DatabaseInUse
from tests.pg_community import pg_community  # noqa: F401

pytestmark = pytest.mark.sqlite_only("names its SQLite files and PostgreSQL databases itself")


async def test_one_leader_per_community_and_the_next_one_takes_over_when_it_stops(pg_community):
    brand_a = parse_target(pg_community)
    brand_b = parse_target(pg_community, schema="community_b")  # another community on the same server
    for target in (brand_a, brand_b):
        await migrate(target, create=True)
    first = await Leadership.connect(brand_a.dsn, brand_a.schema)
    second = await Leadership.connect(brand_a.dsn, brand_a.schema)
    other = await Leadership.connect(brand_b.dsn, brand_b.schema)
    try:
        assert await first.try_lead() and not await second.try_lead()
        assert await other.try_lead()  # its own lock: communities do not wait for each other
        await first.check()
        report = await leader_report(second.conn, brand_a.schema)
        assert report["leader"]["pid"] == os.getpid() and report["leader"]["session_pid"] == first.session_pid
        assert [r["node"] for r in report["standbys"]] == [second.node]
        await first.release()
        assert await second.try_lead()
        report = await leader_report(second.conn, brand_a.schema)
        assert report["leader"]["node"] == second.node and report["standbys"] == []
        assert [(r["node"], r["role"]) for r in report["gone"]] == [(first.node, "stopped")]
    finally:
        for leadership in (first, second, other):
            await leadership.release()


async def test_a_leader_whose_session_was_ended_knows_it_at_its_next_check(pg_community):
    from bot.db.leader import LeadershipLost

    target = parse_target(pg_community)
    await migrate(target, create=True)
    leader = await Leadership.connect(target.dsn, target.schema)
    admin = await Leadership.connect(target.dsn, target.schema)
    try:
        assert await leader.try_lead()
        await admin.conn.execute("SELECT pg_terminate_backend($1)", leader.session_pid)
        with pytest.raises(LeadershipLost, match="stopped answering"):
            await leader.check()
        assert await admin.try_lead()  # the lock went with the session
    finally:
        await leader.release()
        await admin.release()


def test_status_on_sqlite_names_the_process_that_writes_it(tmp_path, capsys):
    path = tmp_path / "k.db"
    asyncio.run(_closed(path))
    assert cli(["status", "--db", str(path)]) == 0
    assert f"sqlite:{path}: no bot is running on it" in capsys.readouterr().out

    async def while_open() -> int:
        db = await open_database(path)
        try:
            return await asyncio.to_thread(cli, ["status", "--db", f"sqlite:{path}"])
        finally:
            await db.close()

    assert asyncio.run(while_open()) == 0
    out = capsys.readouterr().out
    assert f"sqlite:{path}: running: pid {os.getpid()} on " in out and " since 20" in out
    assert "replicas with a standby need PostgreSQL" in out


async def _closed(path) -> None:
    db = await open_database(path)
    await db.close()


async def test_a_second_writer_on_sqlite_is_told_there_are_no_standbys_there(tmp_path):
    db = await open_database(tmp_path / "k.db")
    try:
        with pytest.raises(DatabaseInUse) as refused:
            await open_database(tmp_path / "k.db")
    finally:
        await db.close()
    assert "is in use by another Kizuna process (pid" in str(refused.value)
    assert "SQLite has no standbys: to run a second process that waits and takes over, put the community on " \
           "PostgreSQL (DATABASE_URL)" in str(refused.value)


async def test_a_cut_off_leader_stops_before_the_server_lets_its_lock_go(pg_community):
    """The server drops a silent lock session only after its keepalives and user timeout; the leader
    has stopped by then (its checks fail within HEARTBEAT + TIMEOUT): never two leaders at once."""
    from bot.db import leader

    target = parse_target(pg_community)
    await migrate(target, create=True)
    session = await Leadership.connect(target.dsn, target.schema)
    try:
        idle, interval, count, user_timeout = [int(await session.conn.fetchval(f"SHOW {name}")) for name in (
            "tcp_keepalives_idle", "tcp_keepalives_interval", "tcp_keepalives_count", "tcp_user_timeout")]
    finally:
        await session.release()
    server_gives_up = min(idle + interval * count, user_timeout / 1000)
    assert server_gives_up > leader.HEARTBEAT + leader.TIMEOUT
    assert server_gives_up <= 15  # and a standby is not kept waiting long after a real loss
