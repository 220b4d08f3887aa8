"""The SQLite connection: WAL, foreign keys, migrations, and a writer lock.

One aiosqlite connection is shared by the whole bot. Because coroutines interleave on it, every write
goes through `Database.transaction()` (or `Database.execute`, a one-statement transaction), which holds
an asyncio lock; reads outside a transaction use `fetchone` / `fetchall`.
The SQL in repositories sticks to what PostgreSQL also accepts (ON CONFLICT, RETURNING, no REPLACE).

One process writes a database: `open_database` first takes the OS lock on `<db>.lock`
(bot/db/writer_lock.py) and refuses at once, naming the holder, when another process has it; migrations
run under that lock. `open_database_readonly` is for the commands that only read (`stats`, `export`,
`preview`): no lock, so they work while the bot runs (WAL lets readers in), and no writes at all
(`PRAGMA query_only`, no migrations, no recovery).
Any failure while opening closes what was opened (aiosqlite's thread would otherwise keep the process
alive) and raises DatabaseOpenError with the reason in one line.
"""
from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterable, Sequence, TypeVar

import aiosqlite

from .writer_lock import DatabaseOpenError, WriterLock

log = logging.getLogger(__name__)
T = TypeVar("T")

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# How long a write waits for another process's write lock (a `sqlite3` shell in BEGIN, a VACUUM, a
# backup tool) before it fails with "database is locked". Waiting loses nothing, failing may: a
# scheduled post or a drop's DM queue that fails is not retried until something else wakes it.
# The wait happens in aiosqlite's thread, so the event loop keeps running (tests/faults/test_sqlite_busy.py).
BUSY_TIMEOUT_SECONDS = 30


def is_busy(exc: BaseException) -> bool:
    """Did the database refuse because another writer held its lock past the busy timeout? Work that
    meets this can be tried again later (nothing of it was written)."""
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc))


def to_db_time(value: datetime) -> str:
    """Times are stored as ISO-8601 UTC text with microseconds, so text order is time order."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store")
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_db_time(value: str | None) -> datetime | None:
    if value is None:
        return None
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


class Tx:
    """Statements inside one transaction (the writer lock is held)."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        cur = await self.conn.execute(sql, params)
        count = cur.rowcount
        await cur.close()
        return count

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self.conn.executemany(sql, rows)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
        async with self.conn.execute(sql, params) as cur:
            return await cur.fetchone()

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        async with self.conn.execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]


class Database:
    def __init__(self, conn: aiosqlite.Connection, path: Path, *, writer_lock: WriterLock | None = None) -> None:
        self.conn = conn
        self.path = path
        self.writer_lock = writer_lock  # the OS lock held while open (None: read-only, or in memory)
        self._lock = asyncio.Lock()
        self._reader = Tx(conn)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        async with self._lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield Tx(self.conn)
            except BaseException:
                await self.conn.rollback()
                raise
            else:
                await self.conn.commit()

    async def transact_in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(connection, *args)` as ONE transaction (BEGIN IMMEDIATE .. COMMIT, ROLLBACK if it
        raises) in the database's own thread, on the plain `sqlite3.Connection`: one hand-off for
        the whole transaction instead of one per statement, and the event loop stays free to run
        other tasks while the thread works. For hot paths only (the drop claim batch); `fn` must
        not touch anything the loop changes meanwhile. Uses aiosqlite's `_execute`, the method its
        own `execute` is built on; tests/test_store.py fails loudly if an upgrade changes it."""
        async with self._lock:
            return await self.conn._execute(_in_transaction, self.conn, fn, args)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        async with self.transaction() as tx:
            return await tx.execute(sql, params)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
        return await self._reader.fetchone(sql, params)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        return await self._reader.fetchall(sql, params)

    async def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return await self._reader.fetchval(sql, params)

    async def migrate(self) -> list[str]:
        """Apply every migration not yet applied, in order, each in its own BEGIN IMMEDIATE transaction
        that checks again, inside it, that the migration is still missing: two connections migrating
        at once (the writer lock already prevents it between processes) apply each exactly once."""
        async with self.transaction() as tx:
            await tx.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)"
            )
        done = {row[0] for row in await self.fetchall("SELECT version FROM schema_migrations")}
        applied = []
        for version, name, sql in available_migrations():
            if version in done:
                continue
            async with self.transaction() as tx:
                if await tx.fetchval("SELECT 1 FROM schema_migrations WHERE version = ?", (version,)):
                    continue  # applied by another connection since we looked
                for statement in _split_sql(sql):
                    await tx.execute(statement)
                await tx.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", (version, name))
            log.info("applied migration %s", name)
            applied.append(name)
        return applied

    async def close(self) -> None:
        """Close the connection and let go of the writer lock; closing twice does nothing more."""
        try:
            await self.conn.close()
        finally:
            if self.writer_lock is not None:
                self.writer_lock.release()  # safe to call twice


def _in_transaction(conn: aiosqlite.Connection, fn: Callable[..., T], args: tuple) -> T:
    raw = conn._conn  # in aiosqlite's thread, the only thread that uses this connection
    raw.execute("BEGIN IMMEDIATE")
    try:
        result = fn(raw, *args)
    except BaseException:
        raw.rollback()
        raise
    raw.commit()
    return result


def available_migrations() -> list[tuple[int, str, str]]:
    folder = resources.files("bot.db") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [v for v, _, _ in found]
    if len(versions) != len(set(versions)):
        raise RuntimeError(f"two migrations share a number: {sorted(versions)}")
    return found


def _split_sql(sql: str) -> list[str]:
    # migrations hold plain DDL/DML separated by semicolons at line ends (no triggers with bodies)
    return [s.strip() for s in re.split(r";\s*(?:\n|$)", sql) if s.strip() and not _only_comments(s)]


def _only_comments(statement: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in statement.splitlines())


def _check_path(path: Path) -> None:
    if path.is_dir():
        raise DatabaseOpenError(f"cannot open the database {path}: it is a folder, not a database file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseOpenError(f"cannot create the folder for the database {path}: {exc}") from exc


async def open_database(path: str | Path) -> Database:
    """Open the database at `path` for this process to write: the writer lock, then the migrations.
    Raises DatabaseInUse when another process writes it, DatabaseOpenError for any other reason it
    cannot be opened; nothing is left open then."""
    path = Path(path)
    in_memory = str(path) == ":memory:"
    if not in_memory:
        _check_path(path)
    writer_lock = None if in_memory else WriterLock.acquire(path)
    conn: aiosqlite.Connection | None = None
    try:
        conn = await aiosqlite.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_SECONDS)
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA synchronous=NORMAL")
        db = Database(conn, path, writer_lock=writer_lock)
        await db.migrate()
    except BaseException as exc:
        if conn is not None:
            try:
                await conn.close()  # stops aiosqlite's (non-daemon) thread: the process can exit
            except Exception:
                log.debug("closing after a failed open failed", exc_info=True)
        if writer_lock is not None:
            writer_lock.release()
        if isinstance(exc, (sqlite3.Error, OSError)):
            raise DatabaseOpenError(f"cannot open the database {path}: {exc}") from exc
        raise
    return db


class DatabaseUnavailable(Exception):
    """A database a read-only command cannot use; the message says why, in one line."""


async def open_database_readonly(path: str | Path) -> Database:
    """Open an existing Kizuna database for reading only (`stats`, `export`, `preview`): never creates
    the file (a mistyped path is an error, not a new empty database) and never migrates it."""
    path = Path(path)
    if not path.is_file():
        raise DatabaseUnavailable(f"no database at {path} (check --db, KIZUNA_DB or community.database)")
    conn = await aiosqlite.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    try:
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA query_only=ON")
        async with conn.execute("SELECT max(version) FROM schema_migrations") as cur:
            row = await cur.fetchone()
    except Exception as exc:  # not SQLite at all, or SQLite without our tables
        await conn.close()
        raise DatabaseUnavailable(f"{path} is not a Kizuna database ({exc})") from None
    latest = max((v for v, _, _ in available_migrations()), default=0)
    if (row[0] or 0) < latest:
        await conn.close()
        raise DatabaseUnavailable(f"{path} was written by an older Kizuna: start the bot on it once "
                                  "(`python -m bot run`) to upgrade it, then try again")
    db = Database(conn, path)
    return db


