"""Operators' storage tools (issue 18): migration status, copying a community between stores, backups.

A *store* is where one community's tables live: a SQLite file (`sqlite:PATH`, or a bare path) or a
PostgreSQL schema (`postgresql://user@host/db?schema=NAME`; see `parse_target`). `SqliteStore` and
`PostgresStore` give the copy the same few operations on both — the tables and their columns as the
schema has them (never a hand-written list), rows streamed in batches, a bulk insert, the id sequences —
so `copy_community` is written once:

- the runtime table `replica_nodes` (which processes run on a store) stays behind;
- the source is read in one snapshot (a read transaction), the target written in one transaction;
- tables go in foreign-key order, every column, ids kept; on PostgreSQL each id sequence is set past the
  highest id (`setval`), so the next row gets a fresh id;
- every table's count and checksum (`table_checksum`: an order-independent sum of one hash per row,
  computed in Python from the values both drivers return, normalised by `canonical`) is compared
  *inside* the target's transaction, which is rolled back on any difference: a failed copy leaves the
  target as empty as it found it;
- a target with any row in any table is refused (nothing is ever overwritten), and so is a source or
  target that a running bot writes (the SQLite writer lock, the PostgreSQL leader lock: leader.py).

`backup_sqlite` is SQLite's online backup API (`sqlite3.Connection.backup`): a consistent copy while the
bot runs. PostgreSQL is backed up with its own tool, `pg_dump` (`pg_dump_command`).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, AsyncIterator, ClassVar, Iterable, Protocol, Sequence
from urllib.parse import urlsplit, urlunsplit

from .connection import available_migrations, from_db_time, to_db_time
from .writer_lock import DatabaseOpenError, WriterLock

BATCH = 5000  # rows per read and per insert
MIGRATIONS_TABLE = "schema_migrations"  # compared as a history, not copied as data
_MASK = (1 << 128) - 1


class TransferError(RuntimeError):
    """A copy, backup or status that cannot go on; the message says why, in one line."""


# --- where ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """A store named on the command line: `kind` is "sqlite" (`path`) or "postgresql" (`dsn`, `schema`)."""
    kind: str
    path: Path | None = None
    dsn: str | None = None
    schema: str | None = None

    def __str__(self) -> str:
        if self.kind == "sqlite":
            return f"sqlite:{self.path}"
        return f"{redact(self.dsn)} (schema {self.schema})"


def redact(dsn: str | None) -> str:
    """A PostgreSQL URL without its password, for messages."""
    if not dsn:
        return ""
    parts = urlsplit(dsn)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)


def parse_target(text: str, *, schema: str | None = None) -> Target:
    """`sqlite:PATH`, `sqlite:///ABS/PATH`, a bare path, or `postgresql://…[?schema=NAME]` (also
    `postgres://`). The schema as the bot reads it (bot/db/pg.py `split_url`): `schema` (the config's
    `community.database_schema`) if given, else the URL's `?schema=`, else public."""
    text = str(text).strip()
    if text.startswith(("postgresql://", "postgres://")):
        from .pg import split_url

        try:
            dsn, name = split_url(text, schema)
        except DatabaseOpenError as exc:
            raise TransferError(str(exc)) from None
        return Target("postgresql", dsn=dsn, schema=name)
    if text.startswith("sqlite:"):
        rest = text[len("sqlite:"):]
        if rest.startswith("//"):
            rest = rest[2:]  # sqlite:///abs/path -> /abs/path
        return Target("sqlite", path=Path(rest))
    if "://" in text:
        raise TransferError(f"{text.split('://')[0]}:// is not a store Kizuna knows: use sqlite:PATH or "
                            "postgresql://user@host/database")
    return Target("sqlite", path=Path(text))


# --- values and checksums ----------------------------------------------------------------------------
def canonical(value: Any) -> Any:
    """One value as the checksum sees it, the same for what sqlite3 and asyncpg return for equal data:
    int, str, float and None as they are; a time as its stored text (to_db_time), a bool as its integer,
    a whole Decimal as an integer, bytes as bytes."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return to_db_time(value if value.tzinfo else value.replace(tzinfo=timezone.utc))
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    return value


def row_hash(row: Sequence[Any]) -> int:
    """128 bits of the SHA-256 of the row's `repr` (unambiguous for int, str, float, None and bytes:
    1 and '1' differ, every string is quoted and escaped). The copy hashes every row twice, so the
    usual row, plain values only, is hashed without looking at each value in Python (issue 18: a
    320,000-row community copied at about three times the speed)."""
    if not Checksum.PLAIN.issuperset(map(type, row)):
        row = [canonical(v) for v in row]
    return int.from_bytes(hashlib.sha256(repr(tuple(row)).encode()).digest()[:16], "big")


@dataclass
class Checksum:
    """Count and an order-independent checksum (the sum of the rows' hashes, so a doubled row counts)."""
    PLAIN: ClassVar[frozenset] = frozenset({int, str, float, type(None)})  # both drivers' BIGINT, INTEGER, TEXT
    count: int = 0
    total: int = 0

    def add(self, rows: Iterable[Sequence[Any]]) -> None:
        for row in rows:
            self.count += 1
            self.total = (self.total + row_hash(row)) & _MASK

    @property
    def hex(self) -> str:
        return f"{self.total:032x}"


async def table_checksum(store: "Store", table: str, columns: Sequence[str]) -> Checksum:
    check = Checksum()
    async for batch in store.rows(table, columns):
        check.add(batch)
    return check


# --- the stores ----------------------------------------------------------------------------------
@dataclass
class Table:
    name: str
    columns: list[str]
    types: dict[str, str] = field(default_factory=dict)  # column -> declared type (lower case)
    parents: set[str] = field(default_factory=set)  # tables its foreign keys point at


def in_dependency_order(tables: dict[str, Table]) -> list[Table]:
    """Parents before children (a foreign key's target is filled first); ties by name."""
    done: list[Table] = []
    seen: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in seen or name not in tables:
            return
        if name in path:
            raise TransferError(f"the foreign keys of {name} form a cycle: {' -> '.join(path + (name,))}")
        for parent in sorted(tables[name].parents - {name}):
            visit(parent, path + (name,))
        seen.add(name)
        done.append(tables[name])

    for name in sorted(tables):
        visit(name, ())
    return done


class Store(Protocol):
    """The operations a copy needs; `SqliteStore` and `PostgresStore` implement them."""
    kind: str
    target: Target

    async def tables(self) -> dict[str, Table]: ...  # every table of the schema, from the schema
    async def migrations(self) -> list[int]: ...  # the versions applied
    async def begin_read(self) -> None: ...  # one snapshot for every table read after it
    async def begin_write(self) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...
    def rows(self, table: str, columns: Sequence[str]) -> AsyncIterator[list[tuple]]: ...  # in batches
    async def count(self, table: str) -> int: ...
    async def insert(self, table: Table, columns: Sequence[str], rows: list[tuple]) -> None: ...
    async def sequences(self) -> dict[str, int]: ...  # table -> the highest id its sequence gave
    async def set_sequences(self, floors: dict[str, int]) -> None: ...  # every sequence past its ids
    async def close(self) -> None: ...  # and let go of the store's lock


class SqliteStore:
    kind = "sqlite"

    def __init__(self, target: Target, conn: sqlite3.Connection, lock: WriterLock | None) -> None:
        self.target = target
        self.conn = conn
        self.lock = lock

    @classmethod
    async def open(cls, target: Target, *, write: bool, lock: bool = True) -> "SqliteStore":
        """`write`: the target of a copy (created if missing, writer lock held); else read-only.
        `lock`: hold the writer lock even to read (a copy's source: no bot may write it meanwhile)."""
        path = target.path
        if not write and not path.is_file():
            raise TransferError(f"no database at {path}")
        if path.is_dir():
            raise TransferError(f"{path} is a folder, not a database file")
        writer = WriterLock.acquire(path) if lock else None  # DatabaseInUse names the running bot
        try:
            if write:
                path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(path, isolation_level=None)
                conn.execute("PRAGMA foreign_keys=ON")
            else:
                conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # not SQLite: fails here
        except sqlite3.Error as exc:
            if writer is not None:
                writer.release()
            raise TransferError(f"cannot open {path}: {exc}") from exc
        except BaseException:
            if writer is not None:
                writer.release()
            raise
        return cls(target, conn, writer)

    async def tables(self) -> dict[str, Table]:
        found: dict[str, Table] = {}
        names = [r[0] for r in self.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
            " ORDER BY name")]
        for name in names:
            if name == MIGRATIONS_TABLE:
                continue
            info = self.conn.execute(f'PRAGMA table_info("{name}")').fetchall()
            fks = self.conn.execute(f'PRAGMA foreign_key_list("{name}")').fetchall()
            found[name] = Table(name, [c[1] for c in info], {c[1]: (c[2] or "").lower() for c in info},
                                {fk[2] for fk in fks})
        return found

    async def migrations(self) -> list[int]:
        try:
            return [r[0] for r in self.conn.execute(f"SELECT version FROM {MIGRATIONS_TABLE} ORDER BY version")]
        except sqlite3.OperationalError:  # no such table: nothing applied
            return []

    async def begin_read(self) -> None:
        self.conn.execute("BEGIN")  # one snapshot for every table (WAL: the writer goes on meanwhile)

    async def begin_write(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    async def commit(self) -> None:
        self.conn.execute("COMMIT")

    async def rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    async def rows(self, table: str, columns: Sequence[str]) -> AsyncIterator[list[tuple]]:
        cur = self.conn.execute(f"SELECT {_cols(columns)} FROM \"{table}\"")
        try:
            while batch := cur.fetchmany(BATCH):
                yield batch
        finally:
            cur.close()

    async def count(self, table: str) -> int:
        return self.conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]

    async def insert(self, table: Table, columns: Sequence[str], rows: list[tuple]) -> None:
        marks = ", ".join("?" for _ in columns)
        self.conn.executemany(f'INSERT INTO "{table.name}" ({_cols(columns)}) VALUES ({marks})',
                              [row if Checksum.PLAIN.issuperset(map(type, row)) else tuple(map(_to_sqlite, row))
                               for row in rows])

    async def sequences(self) -> dict[str, int]:
        """AUTOINCREMENT tables remember their highest id ever given (sqlite_sequence); plain INTEGER
        PRIMARY KEY tables go on from their highest row, which the copy brings along anyway."""
        try:
            return {name: seq for name, seq in self.conn.execute("SELECT name, seq FROM sqlite_sequence")}
        except sqlite3.OperationalError:
            return {}

    async def set_sequences(self, floors: dict[str, int]) -> None:
        known = await self.sequences()
        for name, value in floors.items():
            if name in known and value > known[name]:
                self.conn.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = ?", (value, name))

    async def close(self) -> None:
        try:
            self.conn.close()
        finally:
            if self.lock is not None:
                self.lock.release()


class PostgresStore:
    kind = "postgresql"

    def __init__(self, target: Target, conn: Any, leadership: Any) -> None:
        self.target = target
        self.conn = conn
        self.leadership = leadership
        self._tx = None

    @classmethod
    async def open(cls, target: Target, *, write: bool, lock: bool = True) -> "PostgresStore":
        """Connect with `search_path` on the community's schema. `lock`: take the community's leader lock
        (leader.py) on this connection, so no bot runs on it meanwhile (refused, naming the leader)."""
        from .leader import Leadership, connect_session, describe_row

        try:
            conn = await connect_session(target.dsn, target.schema, role="db-tool")
        except Exception as exc:
            raise TransferError(f"cannot connect to {redact(target.dsn)}: {exc}") from exc
        exists = await conn.fetchval("SELECT 1 FROM information_schema.schemata WHERE schema_name = $1",
                                     target.schema)
        if not exists:
            await conn.close()
            raise TransferError(f"{target} has no schema {target.schema}: create it with `python -m bot db init`")
        leadership = None
        if lock:
            leadership = Leadership(conn, target.schema)
            leadership.session_pid = await conn.fetchval("SELECT pg_backend_pid()")
            if not await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", *_lock_keys(target.schema)):
                row = await leadership.leader_row()
                await conn.close()
                who = describe_row(row) if row else "another process"
                raise TransferError(f"{target} is in use: a Kizuna bot leads it ({who}); stop it first")
        return cls(target, conn, leadership)

    async def tables(self) -> dict[str, Table]:
        schema = self.target.schema
        columns = await self.conn.fetch(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = $1 ORDER BY table_name, ordinal_position", schema)
        kinds = {r["table_name"] for r in await self.conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'",
            schema)}
        parents = await self.conn.fetch(
            "SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent FROM pg_constraint c"
            " JOIN pg_namespace n ON n.oid = c.connamespace WHERE c.contype = 'f' AND n.nspname = $1", schema)
        found: dict[str, Table] = {}
        for row in columns:
            name = row["table_name"]
            if name not in kinds or name == MIGRATIONS_TABLE:
                continue
            table = found.setdefault(name, Table(name, []))
            table.columns.append(row["column_name"])
            table.types[row["column_name"]] = row["data_type"].lower()
        for row in parents:
            child, parent = _bare(row["child"]), _bare(row["parent"])
            if child in found:
                found[child].parents.add(parent)
        return found

    async def migrations(self) -> list[int]:
        exists = await self.conn.fetchval(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2",
            self.target.schema, MIGRATIONS_TABLE)
        if not exists:
            return []
        return [r[0] for r in await self.conn.fetch(f"SELECT version FROM {MIGRATIONS_TABLE} ORDER BY version")]

    async def begin_read(self) -> None:
        self._tx = self.conn.transaction(isolation="repeatable_read", readonly=True)
        await self._tx.start()

    async def begin_write(self) -> None:
        self._tx = self.conn.transaction()
        await self._tx.start()

    async def commit(self) -> None:
        tx, self._tx = self._tx, None
        await tx.commit()

    async def rollback(self) -> None:
        tx, self._tx = self._tx, None
        if tx is not None:
            await tx.rollback()

    async def rows(self, table: str, columns: Sequence[str]) -> AsyncIterator[list[tuple]]:
        if not self.conn.is_in_transaction():  # a cursor lives in a transaction: one of its own
            async with self.conn.transaction(isolation="repeatable_read", readonly=True):
                async for batch in self.rows(table, columns):
                    yield batch
            return
        batch: list[tuple] = []
        async for record in self.conn.cursor(f'SELECT {_cols(columns)} FROM "{table}"', prefetch=BATCH):
            batch.append(tuple(record))
            if len(batch) >= BATCH:
                yield batch
                batch = []
        if batch:
            yield batch

    async def count(self, table: str) -> int:
        return await self.conn.fetchval(f'SELECT count(*) FROM "{table}"')

    async def insert(self, table: Table, columns: Sequence[str], rows: list[tuple]) -> None:
        kinds = [table.types.get(c, "text") for c in columns]
        records = [tuple(_to_postgres(v, k) for v, k in zip(row, kinds)) for row in rows]
        await self.conn.copy_records_to_table(table.name, records=records, columns=list(columns),
                                              schema_name=self.target.schema)

    async def _serials(self) -> list[tuple[str, str, str]]:
        """(table, column, sequence) for every column whose default draws from a sequence (serial or
        identity columns)."""
        rows = await self.conn.fetch(
            "SELECT c.table_name, c.column_name, pg_get_serial_sequence(format('%I.%I', c.table_schema, "
            "c.table_name), c.column_name) AS seq FROM information_schema.columns c "
            "WHERE c.table_schema = $1", self.target.schema)
        return [(r["table_name"], r["column_name"], r["seq"]) for r in rows if r["seq"]]

    async def sequences(self) -> dict[str, int]:
        found = {}
        for table, _, seq in await self._serials():
            last, called = await self.conn.fetchrow(f"SELECT last_value, is_called FROM {seq}")
            if called:
                found[table] = int(last)
        return found

    async def set_sequences(self, floors: dict[str, int]) -> None:
        """Each sequence past the highest id copied (and past the source's own sequence): the next row
        gets a fresh id, never one the copy brought along."""
        for table, column, seq in await self._serials():
            top = await self.conn.fetchval(f'SELECT max("{column}") FROM "{table}"')
            value = max(int(top or 0), floors.get(table, 0))
            if value > 0:
                await self.conn.execute("SELECT setval($1, $2, true)", seq, value)
            else:
                await self.conn.execute("SELECT setval($1, 1, false)", seq)

    async def close(self) -> None:
        if not self.conn.is_closed():
            await self.conn.close()  # frees the leader lock too


def _lock_keys(schema: str) -> tuple[int, int]:
    from .leader import LOCK_CLASS, community_key

    return LOCK_CLASS, community_key(schema)


def _bare(regclass: str) -> str:
    """`schema.table` or `"Table"` as regclass prints it -> the table's name."""
    return regclass.rsplit(".", 1)[-1].strip('"')


def _cols(columns: Sequence[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def _to_sqlite(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        return to_db_time(value if value.tzinfo else value.replace(tzinfo=timezone.utc))
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _to_postgres(value: Any, kind: str) -> Any:
    """A value read from either store, as the PostgreSQL column's type wants it for COPY."""
    if value is None:
        return None
    if kind in ("bigint", "integer", "smallint"):
        return int(value)
    if kind == "boolean":
        return bool(int(value)) if not isinstance(value, str) else value.lower() in ("1", "t", "true")
    if kind.startswith("timestamp"):
        return value if isinstance(value, datetime) else from_db_time(str(value))
    if kind in ("double precision", "real"):
        return float(value)
    if kind == "numeric":
        return Decimal(str(value))
    if kind == "bytea":
        return bytes(value)
    if kind in ("text", "character varying", "character", "json", "jsonb"):
        return value if isinstance(value, str) else to_db_time(value) if isinstance(value, datetime) else str(value)
    return value


async def open_store(target: Target, *, write: bool, lock: bool = True) -> Store:
    if target.kind == "sqlite":
        return await SqliteStore.open(target, write=write, lock=lock)
    return await PostgresStore.open(target, write=write, lock=lock)


# --- migrations (db init | migrate | status) --------------------------------------------------------
@dataclass
class MigrationStatus:
    applied: list[tuple[int, str]]
    pending: list[tuple[int, str]]
    unknown: list[int]  # applied versions this Kizuna does not have (a newer Kizuna wrote them)


async def migration_status(target: Target) -> MigrationStatus:
    store = await open_store(target, write=False, lock=False)
    try:
        done = set(await store.migrations())
    finally:
        await store.close()
    known = {v: name for v, name, _ in available_migrations()}
    return MigrationStatus(applied=[(v, known[v]) for v in sorted(done) if v in known],
                           pending=[(v, n) for v, n in sorted(known.items()) if v not in done],
                           unknown=sorted(done - set(known)))


async def migrate(target: Target, *, create: bool) -> list[str]:
    """Apply the pending migrations (the same code path as the bot's start). `create`: make the file
    or schema if it is not there (`db init`); without it a missing one is an error (`db migrate`)."""
    if target.kind == "sqlite":
        from .connection import open_database

        if not create and not target.path.is_file():
            raise TransferError(f"no database at {target.path}: create it with `python -m bot db init`")
        before = await migration_status(target) if target.path.is_file() else None
        db = await open_database(target.path)  # the bot's own open: writer lock, then the migrations
        await db.close()
        pending = before.pending if before is not None else [(v, n) for v, n, _ in available_migrations()]
        return [name for _, name in pending]
    return await _migrate_postgres(target, create=create)


async def _migrate_postgres(target: Target, *, create: bool) -> list[str]:
    from .pg import open_postgres  # the bot's own open: creates the schema, applies the migrations

    if not create:
        before = await migration_status(target)  # TransferError when the schema is not there
        pending = [name for _, name in before.pending]
    else:
        try:
            pending = [name for _, name in (await migration_status(target)).pending]
        except TransferError:  # no schema yet: everything
            pending = [name for _, name, _ in available_migrations()]
    db = await open_postgres(target.dsn, schema=target.schema, readers=0)
    await db.close()
    return pending


# --- copy ------------------------------------------------------------------------------------------
@dataclass
class TableReport:
    name: str
    source: Checksum
    target: Checksum

    @property
    def same(self) -> bool:
        return self.source.count == self.target.count and self.source.total == self.target.total


@dataclass
class CopyReport:
    tables: list[TableReport]
    committed: bool

    @property
    def rows(self) -> int:
        return sum(t.source.count for t in self.tables)

    @property
    def mismatched(self) -> list[TableReport]:
        return [t for t in self.tables if not t.same]


async def copy_community(source_target: Target, dest_target: Target, *, prepare_target=None) -> CopyReport:
    """Copy every row of every table from `source_target` to `dest_target` (created and migrated first
    when missing, by `prepare_target(target)` — the bot's own migrations), then verify each table's
    count and checksum inside the target's transaction; on any difference it is rolled back and the
    report says which tables differ (`committed` False). Raises TransferError before writing anything
    when the target holds any row, the two are at different migrations, or their tables differ."""
    if source_target == dest_target:
        raise TransferError("the source and the target are the same store")
    source = await open_store(source_target, write=False)
    dest = None
    try:
        source_versions = await source.migrations()
        latest = [v for v, _, _ in available_migrations()]
        if source_versions != latest:
            raise TransferError(f"{source_target} is not at this Kizuna's migrations (it has {len(source_versions)}"
                                f" of {len(latest)}): run `python -m bot db migrate --db {source_target}` first")
        if prepare_target is not None:
            await prepare_target(dest_target)
        dest = await open_store(dest_target, write=True)
        if await dest.migrations() != source_versions:
            raise TransferError(f"{dest_target} is at other migrations than {source_target}: run "
                                f"`python -m bot db migrate --db {dest_target}` first")
        source_tables, dest_tables = await community_tables(source), await community_tables(dest)
        if set(source_tables) != set(dest_tables):
            raise TransferError(f"the two stores have different tables: only in the source "
                                f"{sorted(set(source_tables) - set(dest_tables))}, only in the target "
                                f"{sorted(set(dest_tables) - set(source_tables))}")
        for name, table in source_tables.items():
            if set(table.columns) != set(dest_tables[name].columns):
                raise TransferError(f"table {name} has other columns in the target: "
                                    f"{sorted(table.columns)} vs {sorted(dest_tables[name].columns)}")
        filled = [name for name in sorted(dest_tables) if await dest.count(name)]
        if filled:
            raise TransferError(f"{dest_target} is not empty ({', '.join(filled)} hold rows): refusing to "
                                "overwrite it; copy into a new file or an empty schema")
        return await _copy_rows(source, dest, source_tables, dest_tables)
    finally:
        if dest is not None:
            await dest.close()
        await source.close()


async def _copy_rows(source: Store, dest: Store, source_tables: dict[str, Table],
                     dest_tables: dict[str, Table]) -> CopyReport:
    reports: list[TableReport] = []
    await source.begin_read()
    await dest.begin_write()
    try:
        for table in in_dependency_order(dest_tables):
            columns = source_tables[table.name].columns  # the source's order, read the same way on both
            check = Checksum()
            async for batch in source.rows(table.name, columns):
                check.add(batch)
                await dest.insert(table, columns, batch)
            reports.append(TableReport(table.name, check, Checksum()))
        await dest.set_sequences(await source.sequences())
        for report in reports:  # read back inside the transaction: nothing is committed unverified
            report.target = await table_checksum(dest, report.name, source_tables[report.name].columns)
        await source.rollback()
        if any(not r.same for r in reports):
            await dest.rollback()
            return CopyReport(reports, committed=False)
        await dest.commit()
        return CopyReport(reports, committed=True)
    except BaseException:
        await dest.rollback()
        await source.rollback()
        raise


async def community_tables(store: Store) -> dict[str, Table]:
    """Every table of the schema but the migration history and the runtime tables (leader.py
    RUNTIME_TABLES: which processes run on this store, not the community's data)."""
    from .leader import RUNTIME_TABLES

    return {name: t for name, t in (await store.tables()).items() if name not in RUNTIME_TABLES}


async def compare(first: Target, second: Target) -> list[TableReport]:
    """Count and checksum every table of two stores (read only, no locks): what `copy` verifies."""
    a = await open_store(first, write=False, lock=False)
    b = await open_store(second, write=False, lock=False)
    try:
        tables = await community_tables(a)
        other = await community_tables(b)
        reports = []
        for name in sorted(set(tables) | set(other)):
            columns = (tables.get(name) or other[name]).columns
            left = await table_checksum(a, name, columns) if name in tables else Checksum(-1)
            right = await table_checksum(b, name, columns) if name in other else Checksum(-1)
            reports.append(TableReport(name, left, right))
        return reports
    finally:
        await a.close()
        await b.close()


# --- backup ----------------------------------------------------------------------------------------
def backup_sqlite(path: Path, out: Path) -> int:
    """SQLite's online backup API into `out` (which must not exist): a consistent copy even while the
    bot writes (it takes no writer lock). Returns the pages copied; the copy is checked (quick_check)."""
    if not path.is_file():
        raise TransferError(f"no database at {path}")
    if out.exists():
        raise TransferError(f"{out} exists: refusing to overwrite it (choose another --out)")
    if not out.parent.is_dir():
        raise TransferError(f"the folder {out.parent} does not exist (create it first, or choose another --out)")
    source = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    partial = out.with_name(out.name + ".partial")
    try:
        dest = sqlite3.connect(partial)
        try:
            source.backup(dest, pages=1024)  # in steps: the bot's writes go on between them
            pages = dest.execute("PRAGMA page_count").fetchone()[0]
            ok = dest.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            dest.close()
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise TransferError(f"cannot back up {path}: {exc}") from exc
    finally:
        source.close()
    if ok != "ok":
        partial.unlink(missing_ok=True)
        raise TransferError(f"the backup of {path} failed its check: {ok}")
    os.replace(partial, out)  # a backup file is either whole or absent
    return pages


def pg_dump_command(target: Target, out: Path) -> list[str]:
    """pg_dump of the community's schema in pg_dump's custom format (restore with pg_restore)."""
    return ["pg_dump", "--dbname", target.dsn, "--schema", target.schema, "--format=custom",
            "--file", str(out)]


def pg_dump_available() -> bool:
    return shutil.which("pg_dump") is not None


def default_backup_name(target: Target, now: datetime) -> Path:
    stamp = now.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    if target.kind == "sqlite":
        return target.path.with_name(f"{target.path.stem}-{stamp}.backup.db")
    return Path(f"{target.schema}-{stamp}.dump")


__all__ = ["Checksum", "CopyReport", "DatabaseOpenError", "MigrationStatus", "SqliteStore", "PostgresStore",
           "Target", "TransferError", "backup_sqlite", "canonical", "compare", "copy_community",
           "migrate", "migration_status", "parse_target", "pg_dump_command"]
