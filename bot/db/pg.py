"""The PostgreSQL backend: the same public API as the SQLite `Database`, through asyncpg.

Chosen by the target alone (bot/db/connection.py `open_database`): a `postgresql://` URL (from
`--db`, DATABASE_URL or `community.database`) opens this, anything else a SQLite file. The repositories
write one SQL for both; the differences are handled here, once, at the boundary:

- placeholders: `?` becomes `$1, $2, ...` (outside quotes and comments), translated once per SQL text
  and kept on the database object (`_sql`), not in the module;
- parameters: asyncpg is strict about types where SQLite is not, so text parameters accept any value
  (an int id compared with a TEXT column is sent as its text, as SQLite's affinity would store it);
- rows: asyncpg `Record`s, read as the repositories read `sqlite3.Row`s (row[0], row["name"], dict(row));
  SUM/AVG of BIGINTs (PostgreSQL's `numeric`) come back as int or float, as SQLite gives them;
- errors: a constraint violation raises a `sqlite3.IntegrityError` (subclass) and a write on a
  read-only database a `sqlite3.OperationalError`, so a service catches one class on both backends;
- migrations: the same numbered files, each statement translated by `pg_sql` (the one rewrite:
  SQLite's `INTEGER PRIMARY KEY` row id becomes an identity column), applied once each under an
  advisory lock. A statement marked `-- postgresql only` (or `-- sqlite only`) runs on that engine
  alone (`migration_statements`); the one such migration is 0025, which checks the claim tables'
  references to drops once per statement instead of PostgreSQL's per-row foreign-key triggers.

Like the SQLite backend there is ONE writer connection: every write goes through `transaction()`,
which holds an asyncio lock, so writes of one process never interleave (the same behaviour, the same
tests). Reads outside a transaction go to a small pool (`readers`); inside one they stay on the
writer and see its uncommitted rows. Every statement is counted while in flight, so the offline
harness can wait for the database (`barrier`) as it does for aiosqlite's thread.

Each community may live in its own schema: `?schema=NAME` on the URL (or `community.database_schema`)
sets the connections' search_path, and the migrations create the tables there.

Portable SQL, in short (every store test runs on both, so a slip fails there):
- `?` placeholders (or `:name` with a dict); `RETURNING id`, never lastrowid;
- `INSERT .. ON CONFLICT (cols) DO NOTHING | DO UPDATE SET c = excluded.c`, never INSERT OR IGNORE/REPLACE;
- snowflakes BIGINT, times TEXT from to_db_time, flags INTEGER 0/1 (`SUM(CASE WHEN .. THEN 1 ELSE 0 END)`,
  never a bare comparison used as a number);
- COALESCE (not IFNULL), CASE (not the two-argument max/min), no strftime/julianday/datetime(),
  no PRAGMA or sqlite_master outside a `db.dialect` branch;
- a parameter whose type the statement does not show (`? IS NULL`, `? || col`) gets `CAST(? AS TEXT)`;
- every selected column that is not an aggregate is in the GROUP BY; LIKE is case-sensitive on PostgreSQL;
- migrations: plain DDL ending `;` at line end (a `$$ ... $$` body is kept whole), `id INTEGER PRIMARY KEY`
  for a row id (no AUTOINCREMENT); an engine's own statement is marked `-- postgresql only` / `-- sqlite only`;
- a SQLite-only hot path (`transact_in_thread`, `Tx.run_sync`) keeps an async path beside it under
  `if db.dialect == "sqlite"`.
"""
from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import sqlite3
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterable, Iterator, Sequence, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .connection import DatabaseUnavailable, available_migrations, migration_statements
from .writer_lock import DatabaseOpenError

log = logging.getLogger(__name__)
T = TypeVar("T")

READERS = 3
_READ_ONLY_SQL = re.compile(r"\s*(SELECT|WITH)\b", re.IGNORECASE)
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# SQLite's row id column (a bare `INTEGER PRIMARY KEY`) is an identity column on PostgreSQL; every
# other type the migrations use (INTEGER, BIGINT, TEXT) means the same on both
_ROWID = re.compile(r"\bINTEGER\s+PRIMARY\s+KEY\b", re.IGNORECASE)
_STATUS_COUNT = re.compile(r"(\d+)$")


class PgIntegrityError(sqlite3.IntegrityError):
    """A constraint refused the write (PostgreSQL): caught as sqlite3.IntegrityError on both backends."""


class PgReadOnlyError(sqlite3.OperationalError):
    """A write on a database opened read-only (PostgreSQL)."""


def split_url(url: str, schema: str | None = None) -> tuple[str, str]:
    """(the URL asyncpg gets, the schema): `?schema=NAME` is ours, not a server setting."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    for key, value in query:
        if key == "schema" and schema is None:
            schema = value
    rest = urlencode([(k, v) for k, v in query if k != "schema"])
    schema = schema or "public"
    if not _SCHEMA_NAME.match(schema):
        raise DatabaseOpenError(f"schema name {schema!r}: use lower-case letters, digits and _ (at most 63)")
    return urlunsplit(parts._replace(query=rest)), schema


def home_for(url: str, schema: str | None = None) -> Path:
    """A local name for this database's files (the last good config): data/<database>.<schema>.pg."""
    dsn, schema = split_url(url, schema)
    name = urlsplit(dsn).path.lstrip("/") or "postgres"
    return Path("data") / f"{name}.{schema}.pg"


def translate(sql: str) -> tuple[str, tuple[str, ...] | None]:
    """`?` and `:name` placeholders to `$n`, skipping quoted text, comments and `::` casts. Returns the
    SQL and, for named placeholders, the names in `$n` order (a dict of parameters is bound by them)."""
    if "?" not in sql and ":" not in sql:
        return sql, None
    out: list[str] = []
    names: list[str] = []
    n = 0
    i, size = 0, len(sql)
    while i < size:
        ch = sql[i]
        if ch == "?":
            n += 1
            out.append(f"${n}")
        elif ch == ":" and sql.startswith("::", i):
            out.append("::")
            i += 1
        elif ch == ":" and i + 1 < size and (sql[i + 1].isalpha() or sql[i + 1] == "_"):
            end = i + 1
            while end < size and (sql[end].isalnum() or sql[end] == "_"):
                end += 1
            name = sql[i + 1:end]
            if name not in names:
                names.append(name)
            out.append(f"${names.index(name) + 1}")
            i = end - 1
        elif ch in ("'", '"'):
            end = sql.find(ch, i + 1)
            while end != -1 and end + 1 < size and sql[end + 1] == ch:  # '' inside a literal
                end = sql.find(ch, end + 2)
            end = size - 1 if end == -1 else end
            out.append(sql[i:end + 1])
            i = end
        elif ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            end = size - 1 if end == -1 else end
            out.append(sql[i:end + 1])
            i = end
        else:
            out.append(ch)
        i += 1
    if n and names:
        raise ValueError("one statement uses both ? and :name placeholders")
    return "".join(out), (tuple(names) if names else None)


def pg_sql(statement: str) -> str:
    """A migration statement as PostgreSQL takes it (see _ROWID): the only dialect rule."""
    return _ROWID.sub("BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", statement)


def _count(status: str) -> int:
    match = _STATUS_COUNT.search(status or "")
    return int(match.group(1)) if match else -1


def _text(value: Any) -> str:
    # what SQLite's TEXT affinity would store: an int as its digits, a bool as 1/0
    if isinstance(value, bool):
        return "1" if value else "0"
    return value if isinstance(value, str) else str(value)


def _numeric(text: str) -> int | float:
    # SUM of BIGINTs is `numeric` on PostgreSQL: give the int (or float) SQLite gives
    if "." in text or "e" in text or "N" in text:
        return float(text)
    return int(text)


async def _init_connection(conn) -> None:
    await conn.set_type_codec("text", schema="pg_catalog", encoder=_text, decoder=str, format="text")
    await conn.set_type_codec("numeric", schema="pg_catalog", encoder=str, decoder=_numeric, format="text")


def _mapped(exc: BaseException) -> BaseException | None:
    import asyncpg

    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        return PgIntegrityError(str(exc))
    if isinstance(exc, asyncpg.ReadOnlySQLTransactionError):
        return PgReadOnlyError(str(exc))
    return None


class PgTx:
    """Statements inside one transaction (the writer lock is held)."""

    dialect = "postgresql"

    def __init__(self, db: "PgDatabase", conn) -> None:
        self.db = db
        self.conn = conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return _count(await self.db._call(self.conn.execute, sql, params))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        if rows:
            await self.db._call_many(self.conn, sql, rows)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()):
        return await self.db._call(self.conn.fetchrow, sql, params)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list:
        return await self.db._call(self.conn.fetch, sql, params)

    async def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError("run_sync is SQLite's thread hand-off: write the PostgreSQL path with awaits")


class PgDatabase:
    """One writer connection (under an asyncio lock) and a pool of readers; see the module doc."""

    dialect = "postgresql"

    def __init__(self, url: str, schema: str, *, home: Path | None = None, read_only: bool = False) -> None:
        self.url = url  # without ?schema=
        self.schema = schema
        self.path = home or home_for(url, schema)  # local files of this database (the last good config)
        self.read_only = read_only
        self.writer_lock = None  # between processes: PostgreSQL's own locks (see migrate)
        self.conn = None  # the writer connection (asyncpg), None when read-only
        self.readers = None  # asyncpg pool for reads outside a transaction
        self._lock = asyncio.Lock()
        self._sql: dict[str, tuple] = {}  # SQL text -> (with $n placeholders, names) (translated once)
        self._in_tx: contextvars.ContextVar[bool] = contextvars.ContextVar(f"kizuna_pg_tx_{id(self)}", default=False)
        self._busy = 0  # statements in flight (the harness's barrier waits for none)
        self._idle = asyncio.Event()
        self._idle.set()

    # --- the boundary: every statement goes through here ----------------------------------------
    async def _call(self, method, sql: str, params: Sequence[Any] | dict):
        found = self._sql.get(sql)
        if found is None:
            found = self._sql[sql] = translate(sql)
        text, names = found
        if names is not None:
            params = [params[name] for name in names]
        with self._working():
            return await method(text, *params)

    @contextmanager
    def _working(self) -> Iterator[None]:
        """Around every use of a connection: counted as in flight (the harness's barrier waits for none),
        and asyncpg's constraint errors raised as the SQLite engine's classes."""
        self._busy += 1
        self._idle.clear()
        try:
            yield
        except Exception as exc:
            mapped = _mapped(exc)
            if mapped is not None:
                raise mapped from exc
            raise
        finally:
            self._busy -= 1
            if not self._busy:
                self._idle.set()

    async def _call_many(self, conn, sql: str, rows: list) -> None:
        names = translate(sql)[1]
        if names is not None:
            rows = [[row[name] for name in names] for row in rows]
            sql = translate(sql)[0]  # already numbered: _call leaves $n alone
        await self._call(lambda q: conn.executemany(q, rows), sql, ())

    async def barrier(self) -> None:
        """Return when no statement is in flight (the offline harness's settle)."""
        while self._busy:
            await self._idle.wait()

    # --- the public API (as bot/db/connection.py Database) --------------------------------------
    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PgTx]:
        if self.conn is None:
            raise PgReadOnlyError("the database is open read-only")
        async with self._lock:
            await self._call(self.conn.execute, "BEGIN", ())
            token = self._in_tx.set(True)
            try:
                yield PgTx(self, self.conn)
            except BaseException:
                if not self.conn.is_closed():
                    await self._call(self.conn.execute, "ROLLBACK", ())
                raise
            else:
                await self._call(self.conn.execute, "COMMIT", ())
            finally:
                self._in_tx.reset(token)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Any]:
        """The raw asyncpg writer connection inside the writer lock, with no transaction opened: for
        hot paths that drive asyncpg themselves (the drop claim batch's COPY/unnest); the caller
        opens its own transaction (`conn.transaction()`)."""
        async with self._lock:
            with self._working():
                yield self.conn

    async def transact_in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError("transact_in_thread is SQLite's thread hand-off: use transaction()")

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        async with self.transaction() as tx:
            return await tx.execute(sql, params)

    def _reading(self, sql: str) -> bool:
        return self.readers is not None and not self._in_tx.get() and bool(_READ_ONLY_SQL.match(sql))

    async def _fetch(self, kind: str, sql: str, params: Sequence[Any]):
        if self._reading(sql):
            return await self._call(getattr(self.readers, kind), sql, params)
        if self._in_tx.get():
            return await self._call(getattr(self.conn, kind), sql, params)
        async with self._lock:  # a write sent through fetch* (RETURNING): one statement, autocommit
            if self.conn is None:
                raise PgReadOnlyError("the database is open read-only")
            return await self._call(getattr(self.conn, kind), sql, params)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()):
        return await self._fetch("fetchrow", sql, params)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list:
        return await self._fetch("fetch", sql, params)

    async def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def optimize(self, *, force: bool = False) -> bool:
        return False  # autovacuum keeps PostgreSQL's statistics

    async def migrate(self) -> list[str]:
        """Apply every migration not yet applied, each in its own transaction under an advisory lock
        on this schema, so two processes migrating at once apply each exactly once."""
        async with self.transaction() as tx:
            await tx.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            await tx.execute("SELECT pg_advisory_xact_lock(hashtextextended('kizuna:migrate:' || current_schema(), 0))")
            await tx.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        done = {row[0] for row in await self.fetchall("SELECT version FROM schema_migrations")}
        applied = []
        for version, name, sql in available_migrations():
            if version in done:
                continue
            async with self.transaction() as tx:
                await tx.execute("SELECT pg_advisory_xact_lock(hashtextextended('kizuna:migrate:' || current_schema(), 0))")
                if await tx.fetchval("SELECT 1 FROM schema_migrations WHERE version = ?", (version,)):
                    continue
                for statement in migration_statements(sql, "postgresql"):
                    await tx.execute(pg_sql(statement))
                await tx.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", (version, name))
            log.info("applied migration %s", name)
            applied.append(name)
        return applied

    async def close(self) -> None:
        readers, self.readers = self.readers, None
        conn, self.conn = self.conn, None
        if readers is not None:
            try:
                await asyncio.wait_for(readers.close(), timeout=10)
            except Exception:
                readers.terminate()
        if conn is not None and not conn.is_closed():
            try:
                await asyncio.wait_for(conn.close(), timeout=10)
            except Exception:
                conn.terminate()


def _settings(schema: str, read_only: bool) -> dict[str, str]:
    settings = {"search_path": f'"{schema}"', "application_name": "kizuna"}
    if read_only:
        settings["default_transaction_read_only"] = "on"
    return settings


async def _connect(url: str, schema: str, read_only: bool = False):
    import asyncpg

    conn = await asyncpg.connect(url, server_settings=_settings(schema, read_only), statement_cache_size=1000)
    await _init_connection(conn)
    return conn


async def _pool(url: str, schema: str, size: int, read_only: bool):
    import asyncpg

    return await asyncpg.create_pool(url, min_size=0, max_size=size, init=_init_connection,
                                     server_settings=_settings(schema, read_only), statement_cache_size=1000)


async def open_postgres(url: str, *, schema: str | None = None, home: Path | None = None,
                        readers: int = READERS) -> PgDatabase:
    """Open a PostgreSQL database for this process to write, and migrate it. DatabaseOpenError (one
    line) when it cannot be reached; nothing is left open then."""
    dsn, schema = split_url(url, schema)
    db = PgDatabase(dsn, schema, home=home)
    try:
        db.conn = await _connect(dsn, schema)
        await db.migrate()
        if readers > 0:
            db.readers = await _pool(dsn, schema, readers, read_only=True)  # connects on first use
    except BaseException as exc:
        await db.close()
        if isinstance(exc, (OSError, asyncio.TimeoutError)) or type(exc).__module__.startswith("asyncpg"):
            raise DatabaseOpenError(f"cannot open the database {_safe(url)}: {exc}") from exc
        raise
    return db


async def open_postgres_readonly(url: str, *, schema: str | None = None, home: Path | None = None) -> PgDatabase:
    """Open for reading only: never creates nor migrates; DatabaseUnavailable when it is not an
    up-to-date Kizuna database."""
    dsn, schema = split_url(url, schema)
    db = PgDatabase(dsn, schema, home=home, read_only=True)
    try:
        db.readers = await _pool(dsn, schema, 2, read_only=True)
        version = await db.fetchval("SELECT max(version) FROM schema_migrations")
    except Exception as exc:
        await db.close()
        raise DatabaseUnavailable(f"{_safe(url)} is not a Kizuna database ({exc})") from None
    latest = max((v for v, _, _ in available_migrations()), default=0)
    if (version or 0) < latest:
        await db.close()
        raise DatabaseUnavailable(f"{_safe(url)} was written by an older Kizuna: start the bot on it once "
                                  "(`python -m bot run`) to upgrade it, then try again")
    return db


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url
