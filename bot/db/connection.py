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

Reads never queue behind writes: a database opened for writing also holds a small pool of read-only
connections (`ReadPool`), and `fetchone` / `fetchall` / `fetchval` outside a transaction run there, so a
slow report neither waits for the writer nor holds up a click (WAL: readers see every committed write,
never a half-done transaction). Inside `transaction()` those calls stay on the writer, which sees its own
uncommitted rows. The planner's statistics are kept current with a sampled `ANALYZE` at open and by
the daily jobs (SQLite-only, here and nowhere else; PostgreSQL's autovacuum does it there).
"""
from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import sqlite3
import time
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
_READ_ONLY_SQL = re.compile(r"\s*(SELECT|WITH)\b", re.IGNORECASE)  # no writing WITH .. INSERT in this code
READERS = 3  # read-only connections beside the writer: a slow report, a /me and a click at once
OPTIMIZE_EVERY = 6 * 3600.0  # seconds between sampled ANALYZE runs (the planner's statistics)
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

    dialect = "sqlite"

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
        return list(await self.conn.execute_fetchall(sql, params))  # one round trip to aiosqlite's thread

    async def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(sqlite3_connection, *args)` in the database thread, inside this transaction: one
        hand-off for many statements. Hot paths only (a quiz close awarding every answerer); like
        `Database.transact_in_thread` it goes through aiosqlite's `_execute`."""
        return await self.conn._execute(_call_raw, self.conn, fn, args)


def _call_raw(conn: aiosqlite.Connection, fn: Callable[..., T], args: tuple) -> T:
    return fn(conn._conn, *args)  # in aiosqlite's thread, the only thread that uses this connection


class ReadPool:
    """Read-only connections to the database file, used one at a time each, in worker threads.

    Plain `sqlite3` connections run through `asyncio.to_thread` (the loop's default executor): a query
    takes one hand-off, like aiosqlite, and anything that watches for thread work in flight (the offline
    harness settling) sees it. A free connection serves the query; when all are busy it waits for the
    first to come free. Rows are `sqlite3.Row`, as aiosqlite returns them."""

    def __init__(self, path: Path, size: int) -> None:
        self._all: list[sqlite3.Connection] = []
        self._waiters: asyncio.Queue[sqlite3.Connection] | None = None
        uri = f"{path.resolve().as_uri()}?mode=ro"
        for _ in range(size):
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False,
                                   timeout=BUSY_TIMEOUT_SECONDS)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA query_only=ON")
            self._all.append(conn)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._waiters is None:
            self._waiters = asyncio.Queue()
            for conn in self._all:
                self._waiters.put_nowait(conn)
        conn = await self._waiters.get()
        try:
            return await asyncio.to_thread(fn, conn, *args)
        finally:
            self._waiters.put_nowait(conn)

    def close(self) -> None:
        for conn in self._all:
            try:
                conn.close()
            except sqlite3.Error:
                log.debug("closing a reader failed", exc_info=True)
        self._all.clear()


def _read_one(conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> sqlite3.Row | None:
    cur = conn.execute(sql, params)
    try:
        return cur.fetchone()
    finally:
        cur.close()


def _read_all(conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> list[sqlite3.Row]:
    cur = conn.execute(sql, params)
    try:
        return cur.fetchall()
    finally:
        cur.close()


class Database:
    """The SQLite store. bot/db/pg.py `PgDatabase` is the PostgreSQL one with the same public API:
    transaction() -> Tx (execute, executemany, fetchone, fetchall, fetchval), execute, fetch*,
    migrate, barrier, close, `dialect` ("sqlite" | "postgresql"), `path` (where its local files go)."""

    dialect = "sqlite"

    def __init__(self, conn: aiosqlite.Connection, path: Path, *, writer_lock: WriterLock | None = None) -> None:
        self.conn = conn
        self.path = path
        self.writer_lock = writer_lock  # the OS lock held while open (None: read-only, or in memory)
        self._lock = asyncio.Lock()
        self._reader = Tx(conn)
        self.readers: ReadPool | None = None  # set by open_database (not for ":memory:")
        # whether the current task is inside this database's transaction (its reads stay on the writer)
        self._in_tx: contextvars.ContextVar[bool] = contextvars.ContextVar(f"kizuna_db_tx_{id(self)}", default=False)
        self._optimized_at = 0.0

    def open_readers(self, size: int = READERS) -> None:
        self.readers = ReadPool(self.path, size) if size > 0 else None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        async with self._lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            token = self._in_tx.set(True)  # db.fetch* from inside see the uncommitted rows
            try:
                yield Tx(self.conn)
            except BaseException:
                await self.conn.rollback()
                raise
            else:
                await self.conn.commit()
            finally:
                self._in_tx.reset(token)

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

    def _pool(self, sql: str) -> ReadPool | None:
        """The read pool for a query outside a transaction; the writer for anything else (a statement
        that writes, sent through fetch* with RETURNING, keeps working as it always did)."""
        if self.readers is None or self._in_tx.get() or not _READ_ONLY_SQL.match(sql):
            return None
        return self.readers

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
        pool = self._pool(sql)
        if pool is not None:
            return await pool.run(_read_one, sql, params)
        return await self._reader.fetchone(sql, params)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        pool = self._pool(sql)
        if pool is not None:
            return list(await pool.run(_read_all, sql, params))
        return await self._reader.fetchall(sql, params)

    async def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def barrier(self) -> None:
        """Return when every statement sent before has returned (the offline harness's settle):
        aiosqlite runs a connection's statements one at a time, in order, in its thread."""
        try:
            await self.conn.execute_fetchall("SELECT 1")
        except ValueError:  # the connection is already closed (the bot is shutting down)
            pass

    async def optimize(self, *, force: bool = False) -> bool:
        """SQLite-only: refresh the planner's statistics (a sampled `ANALYZE`), at
        most every OPTIMIZE_EVERY seconds unless forced. Without them the planner can pick a time index
        and visit half a million rows for one member's total (issue 17). True when it ran."""
        now = time.monotonic()
        if not force and now - self._optimized_at < OPTIMIZE_EVERY:
            return False
        self._optimized_at = now
        async with self._lock:
            # a sampled ANALYZE (a few ms even on millions of rows): `PRAGMA optimize` alone looks only
            # at tables this connection has queried, so at open it would do nothing before SQLite 3.46
            await self.conn.execute("PRAGMA analysis_limit=1000")
            await self.conn.execute("ANALYZE")
        return True

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
                for statement in migration_statements(sql, "sqlite"):
                    await tx.execute(statement)
                await tx.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", (version, name))
            log.info("applied migration %s", name)
            applied.append(name)
        return applied

    async def close(self) -> None:
        """Close the connection and its readers and let go of the writer lock; closing twice does
        nothing more."""
        if self.readers is not None:
            self.readers.close()
            self.readers = None
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


def migration_statements(sql: str, dialect: str) -> list[str]:
    """The statements of a migration file that `dialect` ("sqlite" or "postgresql") runs, in order.

    A migration holds statements ending with `;` at a line end; a `$$ ... $$` body (a PostgreSQL
    function) is one piece, whatever it holds. A statement whose leading comment lines include
    `-- postgresql only` (or `-- sqlite only`) runs on that engine alone: the visible way to state a
    dialect difference beyond the one rule `pg_sql` applies (see 0025 for the one there is)."""
    return [s for s in _split_sql(sql) if _statement_dialect(s) in (None, dialect)]


def _split_sql(sql: str) -> list[str]:
    done, current = [], ""
    for index, part in enumerate(sql.split("$$")):
        if index:
            current += "$$"
        if index % 2:  # inside a $$ ... $$ body
            current += part
            continue
        *ends, rest = re.split(r";\s*(?:\n|$)", part)
        for end in ends:
            done.append(current + end)
            current = ""
        current += rest
    done.append(current)
    return [s.strip() for s in done if s.strip() and not _only_comments(s)]


_DIALECT_MARK = re.compile(r"^--\s*(sqlite|postgresql) only\s*$")


def _statement_dialect(statement: str) -> str | None:
    for line in statement.splitlines():
        line = line.strip()
        if not line:
            continue
        if not line.startswith("--"):
            return None  # the comments before the SQL are over
        mark = _DIALECT_MARK.match(line)
        if mark:
            return mark.group(1)
    return None


def _only_comments(statement: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in statement.splitlines())


def _check_path(path: Path) -> None:
    if path.is_dir():
        raise DatabaseOpenError(f"cannot open the database {path}: it is a folder, not a database file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseOpenError(f"cannot create the folder for the database {path}: {exc}") from exc


def database_target(target: str | Path) -> str | Path:
    """What `open_database` opens for `target`: itself. The one seam where a target is chosen (the
    test suite's PostgreSQL run maps each SQLite path a test names to a fresh PostgreSQL database here)."""
    return target


def is_postgres_url(target: object) -> bool:
    """A `postgresql://` (or `postgres://`) URL: the PostgreSQL backend; anything else is a SQLite file."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


async def open_database(path: str | Path, *, schema: str | None = None) -> "Database":
    """Open the database at `path` (a SQLite file, or a `postgresql://` URL: bot/db/pg.py) for this
    process to write: the writer lock (SQLite), then the migrations. Raises DatabaseInUse when another
    process writes it, DatabaseOpenError for any other reason it cannot be opened; nothing is left open
    then. `schema`: the PostgreSQL schema (else the URL's `?schema=`, else public)."""
    target = database_target(path)
    if is_postgres_url(target):
        from .pg import open_postgres

        home = None if is_postgres_url(path) else Path(path)
        return await open_postgres(target, schema=schema, home=home)
    path = Path(target)
    in_memory = str(path) == ":memory:"
    if not in_memory:
        _check_path(path)
    writer_lock = None if in_memory else WriterLock.acquire(path)
    conn: aiosqlite.Connection | None = None
    db: Database | None = None
    try:
        conn = await aiosqlite.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_SECONDS)
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA synchronous=NORMAL")
        db = Database(conn, path, writer_lock=writer_lock)
        await db.migrate()
        await db.optimize(force=True)
        if not in_memory:
            db.open_readers()
    except BaseException as exc:
        if db is not None and db.readers is not None:
            db.readers.close()
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


async def open_database_readonly(path: str | Path, *, schema: str | None = None) -> "Database":
    """Open an existing Kizuna database for reading only (`stats`, `export`, `preview`): never creates
    the file (a mistyped path is an error, not a new empty database) and never migrates it."""
    target = database_target(path)
    if is_postgres_url(target):
        from .pg import open_postgres_readonly

        return await open_postgres_readonly(target, schema=schema, home=None if is_postgres_url(path) else Path(path))
    path = Path(target)
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


