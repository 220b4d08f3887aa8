"""One writer per database (issue 14, part 3), in process: the writer lock names its holder, migrations
are safe even when two connections run them at once, a failed open leaves nothing running, and the
read-only commands read beside the writer without writing. Real processes: tests/faults/test_writer_processes.py."""
from __future__ import annotations

import asyncio
import fcntl
import json
import os
import socket
import sqlite3
import threading
from pathlib import Path

import aiosqlite
import pytest

from bot.db import Database, DatabaseInUse, DatabaseOpenError, open_database
from bot.db.connection import available_migrations, open_database_readonly
from bot.db.writer_lock import WriterLock, lock_path_for

pytestmark = pytest.mark.sqlite_only("the SQLite writer's lock file and aiosqlite's thread (PostgreSQL: the leader lock)")

MIGRATIONS = [name for _, name, _ in available_migrations()]


def _aiosqlite_threads_alive(before: set[threading.Thread]) -> list[threading.Thread]:
    """Threads started since `before` that are still running once given a moment to stop (a thread that
    outlives its failed open keeps the process from exiting: the hang that was reported)."""
    left = []
    for thread in set(threading.enumerate()) - before:
        if not thread.daemon:
            thread.join(timeout=10)  # bounded: a thread that never ends fails the test below
            if thread.is_alive():
                left.append(thread)
    return left


# --- the writer lock ---------------------------------------------------------------------------------

async def test_a_second_writer_is_refused_at_once_naming_the_first(tmp_path):
    path = tmp_path / "k.db"
    first = await open_database(path)
    try:
        with pytest.raises(DatabaseInUse) as refused:
            await open_database(path)
        message = str(refused.value)
        assert f"{path} is in use by another Kizuna process" in message
        assert f"pid {os.getpid()} on {socket.gethostname()}" in message
        assert "since 20" in message and "UTC" in message
        assert str(lock_path_for(path)) in message
        assert refused.value.holder["pid"] == os.getpid() and refused.value.holder["command"]
        # the refused open changed nothing: the first still writes
        await first.execute("INSERT INTO schema_migrations (version, name) VALUES (9999, 'probe')")
    finally:
        await first.close()


async def test_closing_the_database_lets_the_next_writer_in(tmp_path):
    path = tmp_path / "k.db"
    for _ in range(3):
        db = await open_database(path)
        assert db.writer_lock is not None and db.writer_lock.held
        await db.close()
        assert not db.writer_lock.held


async def test_a_lock_file_left_behind_does_not_keep_anyone_out(tmp_path):
    """What a `kill -9`ed holder leaves: its details in the file, but no lock (the kernel dropped it)."""
    path = tmp_path / "k.db"
    lock_path_for(path).write_text(json.dumps({"pid": 999999, "host": "gone", "command": "python -m bot run",
                                               "since": "2026-01-01 00:00:00 UTC"}))
    db = await open_database(path)
    try:
        assert json.loads(lock_path_for(path).read_text())["pid"] == os.getpid()
    finally:
        await db.close()


async def test_a_holder_that_has_not_written_its_details_yet_is_still_refused_clearly(tmp_path):
    path = tmp_path / "k.db"
    with open(lock_path_for(path), "w") as other:  # another process, between taking the lock and writing
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(DatabaseInUse, match="it has not written its details yet"):
            await open_database(path)
    assert not path.exists()  # refused before SQLite was touched: migrations run only under the lock


# --- migrations that cannot race -----------------------------------------------------------------------

@pytest.mark.parametrize("connections", [2, 3])
async def test_connections_migrating_a_new_database_at_once_apply_each_migration_once(tmp_path, connections):
    """Two processes starting at once on a new database crashed ("table ... already exists", "database is
    locked"). The lock keeps a second process out; the migrations are safe on their own as well."""
    path = tmp_path / "k.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
    conns = [await aiosqlite.connect(path, isolation_level=None) for _ in range(connections)]
    try:
        for conn in conns:
            await conn.execute("PRAGMA busy_timeout=10000")
        dbs = [Database(conn, path) for conn in conns]
        applied = await asyncio.gather(*(db.migrate() for db in dbs))
        assert sorted(name for names in applied for name in names) == MIGRATIONS
        rows = await dbs[0].fetchall("SELECT name FROM schema_migrations ORDER BY version")
        assert [row[0] for row in rows] == MIGRATIONS
    finally:
        for conn in conns:
            await conn.close()


# --- a failed open leaves nothing behind -------------------------------------------------------------

def _folder(tmp_path: Path) -> Path:
    (tmp_path / "k.db").mkdir()
    return tmp_path / "k.db"


def _not_a_database(tmp_path: Path) -> Path:
    (tmp_path / "k.db").write_bytes(b"these are notes, not SQLite\n" * 100)
    return tmp_path / "k.db"


def _parent_is_a_file(tmp_path: Path) -> Path:
    (tmp_path / "data").write_text("a file where the folder should be")
    return tmp_path / "data" / "k.db"


FAILED_OPENS = {
    "a folder": (_folder, "it is a folder, not a database file"),
    "a file that is not a database": (_not_a_database, "file is not a database"),
    "a folder that cannot be made": (_parent_is_a_file, "cannot create the folder for the database"),
}


@pytest.mark.parametrize("case", sorted(FAILED_OPENS))
async def test_a_failed_open_says_why_and_leaves_no_thread_or_lock_behind(tmp_path, case):
    make, reason = FAILED_OPENS[case]
    path = make(tmp_path)
    before = set(threading.enumerate())
    with pytest.raises(DatabaseOpenError) as failed:
        await open_database(path)
    assert reason in str(failed.value) and str(path) in str(failed.value)
    assert _aiosqlite_threads_alive(before) == []
    if lock_path_for(path).parent.is_dir():  # the lock was given back: the next try is not refused
        WriterLock.acquire(path).release()


async def test_a_migration_that_fails_releases_the_lock_and_the_thread(tmp_path, monkeypatch):
    import bot.db.connection as connection

    path = tmp_path / "k.db"
    monkeypatch.setattr(connection, "available_migrations",
                        lambda: [(1, "0001_broken.sql", "CREATE TABLE t (a INTEGER);\nNOT SQL AT ALL;\n")])
    before = set(threading.enumerate())
    with pytest.raises(DatabaseOpenError, match="syntax error"):
        await open_database(path)
    assert _aiosqlite_threads_alive(before) == []
    WriterLock.acquire(path).release()
    with sqlite3.connect(path) as conn:  # the migration's transaction was rolled back as a whole
        assert conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 't'").fetchone()[0] == 0


# --- readers: stats, export, preview -------------------------------------------------------------------

async def test_a_reader_reads_beside_the_writer_without_taking_its_lock_and_cannot_write(tmp_path):
    path = tmp_path / "k.db"
    writer = await open_database(path)
    try:
        await writer.execute("INSERT INTO schema_migrations (version, name) VALUES (9999, 'probe')")
        reader = await open_database_readonly(path)
        try:
            assert reader.writer_lock is None
            assert await reader.fetchval("SELECT name FROM schema_migrations WHERE version = 9999") == "probe"
            with pytest.raises(sqlite3.OperationalError, match="readonly"):
                await reader.execute("DELETE FROM schema_migrations WHERE version = 9999")
            with pytest.raises(DatabaseInUse, match=f"pid {os.getpid()}"):  # the writer's lock is untouched
                await open_database(path)
        finally:
            await reader.close()
        assert await writer.fetchval("SELECT COUNT(*) FROM schema_migrations WHERE version = 9999") == 1
    finally:
        await writer.close()


@pytest.mark.parametrize("command", [["stats"], ["export", "feedback"], ["playground", "--script"]])
def test_every_command_says_why_a_database_cannot_be_opened(tmp_path, capsys, command):
    from bot.__main__ import main

    path = _not_a_database(tmp_path)
    if command[-1] == "--script":
        (tmp_path / "script.txt").write_text(":users\n", encoding="utf-8")
        command = [*command, str(tmp_path / "script.txt")]
    assert main([*command, "--config", "config", "--db", str(path)]) == 1
    err = capsys.readouterr().err
    assert str(path) in err and "not a" in err and "Traceback" not in err


def test_a_failure_after_the_database_is_open_still_lets_the_process_exit(tmp_path, monkeypatch):
    """Start-up fails after the open (a service's start raises): the playground's bot is closed, so the
    database, its thread and the writer lock go with it, and the command ends instead of hanging."""
    from bot.__main__ import main
    from bot.app import App

    async def broken_start(self):
        raise RuntimeError("a service failed to start")

    monkeypatch.setattr(App, "start", broken_start)
    (tmp_path / "script.txt").write_text(":users\n", encoding="utf-8")
    before = set(threading.enumerate())
    with pytest.raises(RuntimeError, match="a service failed to start"):
        main(["playground", "--config", "config", "--script", str(tmp_path / "script.txt"),
              "--db", str(tmp_path / "k.db")])
    assert _aiosqlite_threads_alive(before) == []
    WriterLock.acquire(tmp_path / "k.db").release()


async def test_app_open_that_fails_after_the_database_closes_it(tmp_path, monkeypatch):
    from bot.app import App
    from bot.config import load_config

    def broken_init(self, *args, **kwargs):
        raise RuntimeError("a feature failed to build")

    monkeypatch.setattr(App, "__init__", broken_init)
    before = set(threading.enumerate())
    with pytest.raises(RuntimeError, match="a feature failed to build"):
        await App.open(load_config("config"), db_path=tmp_path / "k.db", real_scheduler=False)
    assert _aiosqlite_threads_alive(before) == []
    WriterLock.acquire(tmp_path / "k.db").release()
