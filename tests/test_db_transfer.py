"""`python -m bot db copy|status|migrate|init|backup` (issue 18, items 5-6): a community moves between
SQLite and PostgreSQL with every row of every table, verified by counts and checksums, and nothing is
ever overwritten.

Every table the migrations create is filled by `fill_every_table` from the schema itself (a table a
later migration adds is filled too, without touching this file), with the values that differ between
the two stores: snowflakes past 2^53, Japanese text and emoji, NULLs, times as stored text.
These tests name their stores themselves (a SQLite file and a PostgreSQL database), so they run once.
"""
from __future__ import annotations

import asyncio
import sqlite3
import subprocess
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.__main__ import main as cli
from bot.db.connection import available_migrations, open_database, to_db_time
from bot.db.leader import RUNTIME_TABLES
from bot.db.transfer import (PostgresStore, SqliteStore, Target, TransferError, compare, copy_community, migrate,
                             migration_status, parse_target)
from tests.pg_community import pg_community  # noqa: F401

pytestmark = pytest.mark.sqlite_only("names its SQLite files and PostgreSQL databases itself")

ROWS = 4
SNOWFLAKE = 1_234_567_890_123_456_789  # past 2^53: a float anywhere on the way would change it
T0 = datetime(2026, 12, 1, 9, 30, 15, 250_000, tzinfo=timezone.utc)


def value_for(table: str, column: str, kind: str, i: int, *, notnull: bool, parent: bool) -> object:
    """Row i's value: distinct per row (unique keys), >= 1 (CHECKs), a parent's id for a foreign key."""
    kind = kind.upper()
    if parent:
        return i + 1
    if i == 3 and not notnull:
        return None
    if "INT" in kind:
        return SNOWFLAKE + i if (i == 2 and kind == "BIGINT") else i + 1
    if column.endswith(("_at", "_until", "occurrence", "since")) or column in ("day", "period_end"):
        return to_db_time(T0 + timedelta(seconds=i, microseconds=column.__len__()))
    return f"{table}.{column} #{i} 絆 🍵 'quote' \"dq\" \\ back" if i == 1 else f"{table}.{column}.{i}"


def fill_every_table(path: Path) -> dict[str, int]:
    """ROWS rows in every table of the migrated database at `path` (parents first); {table: rows}."""
    with closing(sqlite3.connect(path)) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name <> 'schema_migrations'") if r[0] not in RUNTIME_TABLES]
        fks = {t: {fk[3] for fk in conn.execute(f"PRAGMA foreign_key_list({t})")} for t in tables}
        parents = {t: {fk[2] for fk in conn.execute(f"PRAGMA foreign_key_list({t})")} for t in tables}
        done: list[str] = []
        while len(done) < len(tables):
            for t in tables:
                if t not in done and parents[t] <= set(done) | {t}:
                    info = conn.execute(f"PRAGMA table_info({t})").fetchall()
                    cols = [c[1] for c in info]
                    rows = [tuple(value_for(t, c[1], c[2], i, notnull=bool(c[3] or c[5]), parent=c[1] in fks[t])
                                  for c in info) for i in range(ROWS)]
                    conn.executemany(f"INSERT INTO {t} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                                     rows)
                    done.append(t)
        conn.commit()
    return {t: ROWS for t in tables}


async def new_sqlite(path: Path, *, filled: bool = False) -> Target:
    db = await open_database(path)
    await db.close()
    if filled:
        fill_every_table(path)
    return Target("sqlite", path=path)


def rows_of(path: Path) -> dict[str, list[tuple]]:
    """Every row of every table (the migration history too), sorted."""
    with closing(sqlite3.connect(path)) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}


async def prepare(target: Target) -> None:
    await migrate(target, create=True)


# --- SQLite -> SQLite ------------------------------------------------------------------------------
async def test_a_copy_between_sqlite_files_brings_every_row_of_every_table(tmp_path):
    source = await new_sqlite(tmp_path / "a.db", filled=True)
    target = Target("sqlite", path=tmp_path / "b.db")
    report = await copy_community(source, target, prepare_target=prepare)
    assert report.committed and not report.mismatched
    assert {t.name: t.target.count for t in report.tables} == fill_every_table_counts(tmp_path / "a.db")
    assert rows_of(tmp_path / "a.db") == rows_of(tmp_path / "b.db")


def fill_every_table_counts(path: Path) -> dict[str, int]:
    with closing(sqlite3.connect(path)) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name <> 'schema_migrations'") if r[0] not in RUNTIME_TABLES]
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}


async def test_every_table_of_the_schema_is_filled_and_copied(tmp_path):
    """The table list comes from the schema: every table the migrations make holds rows here (but the
    runtime ones: who runs on a store is not the community's data)."""
    source = await new_sqlite(tmp_path / "a.db", filled=True)
    counts = fill_every_table_counts(source.path)
    assert len(counts) >= 40 and set(counts.values()) == {ROWS}
    report = await copy_community(source, Target("sqlite", path=tmp_path / "b.db"), prepare_target=prepare)
    assert {t.name for t in report.tables} == set(counts)


async def test_a_non_empty_target_is_refused_and_left_as_it_was(tmp_path):
    source = await new_sqlite(tmp_path / "a.db", filled=True)
    target = await new_sqlite(tmp_path / "b.db")
    with closing(sqlite3.connect(target.path)) as conn:
        conn.execute("INSERT INTO membership_state (guild_id, key, value) VALUES (1, 'kept', 'mine')")
        conn.commit()
    before = rows_of(target.path)
    with pytest.raises(TransferError, match=r"is not empty \(membership_state hold rows\): refusing to overwrite"):
        await copy_community(source, target, prepare_target=prepare)
    assert rows_of(target.path) == before


async def test_a_changed_value_on_the_way_is_caught_by_the_checksum_and_nothing_is_committed(tmp_path, monkeypatch):
    source = await new_sqlite(tmp_path / "a.db", filled=True)
    target = Target("sqlite", path=tmp_path / "b.db")
    insert = SqliteStore.insert

    async def corrupting(self, table, columns, rows):
        if table.name == "outbox":  # one character of one row's payload, as a broken driver might
            i = list(columns).index("payload")
            rows = [rows[0][:i] + (rows[0][i] + "!",) + rows[0][i + 1:]] + rows[1:]
        await insert(self, table, columns, rows)

    monkeypatch.setattr(SqliteStore, "insert", corrupting)
    report = await copy_community(source, target, prepare_target=prepare)
    assert not report.committed
    assert [t.name for t in report.mismatched] == ["outbox"]
    bad = report.mismatched[0]
    assert bad.source.count == bad.target.count == ROWS and bad.source.total != bad.target.total
    assert all(n == 0 for n in fill_every_table_counts(target.path).values())  # rolled back: still empty


async def test_a_lost_row_is_caught_by_the_count(tmp_path, monkeypatch):
    source = await new_sqlite(tmp_path / "a.db", filled=True)
    target = Target("sqlite", path=tmp_path / "b.db")
    insert = SqliteStore.insert

    async def dropping(self, table, columns, rows):
        await insert(self, table, columns, rows[1:] if table.name == "drop_claims" else rows)

    monkeypatch.setattr(SqliteStore, "insert", dropping)
    with pytest.raises(sqlite3.IntegrityError):  # drop_codes points at the lost claim: the FK stops it first
        await copy_community(source, target, prepare_target=prepare)
    monkeypatch.setattr(SqliteStore, "insert", lambda self, t, c, r: insert(
        self, t, c, r[1:] if t.name == "feedback_reactions" else r))
    report = await copy_community(source, target, prepare_target=prepare)
    assert [(t.name, t.source.count, t.target.count) for t in report.mismatched] == [("feedback_reactions", ROWS, ROWS - 1)]
    assert not report.committed


def test_the_cli_prints_the_mismatch_and_exits_non_zero(tmp_path, monkeypatch, capsys):
    source = asyncio.run(new_sqlite(tmp_path / "a.db", filled=True))
    insert = SqliteStore.insert
    monkeypatch.setattr(SqliteStore, "insert", lambda self, t, c, r: insert(
        self, t, c, r[:-1] if t.name == "member_names" else r))
    assert cli(["db", "copy", "--from", f"sqlite:{source.path}", "--to", f"sqlite:{tmp_path / 'b.db'}"]) == 1
    out, err = capsys.readouterr()
    assert "member_names" in out and "MISMATCH" in out
    assert "did not match its source in member_names: nothing was committed" in err
    monkeypatch.setattr(SqliteStore, "insert", insert)
    assert cli(["db", "copy", "--from", f"sqlite:{source.path}", "--to", f"sqlite:{tmp_path / 'b.db'}"]) == 0
    out, err = capsys.readouterr()
    assert "counts and checksums verified" in out and "MISMATCH" not in out
    assert cli(["db", "copy", "--from", f"sqlite:{source.path}", "--to", f"sqlite:{tmp_path / 'b.db'}"]) == 1
    assert "refusing to overwrite" in capsys.readouterr().err


async def test_compare_finds_a_row_changed_after_the_copy(tmp_path):
    source = await new_sqlite(tmp_path / "a.db", filled=True)
    target = Target("sqlite", path=tmp_path / "b.db")
    assert (await copy_community(source, target, prepare_target=prepare)).committed
    assert not [t for t in await compare(source, target) if not t.same]
    with closing(sqlite3.connect(target.path)) as conn:
        conn.execute("UPDATE members SET joined_at = ? WHERE rowid = 1", (to_db_time(T0 - timedelta(days=1)),))
        conn.commit()
    assert [t.name for t in await compare(source, target) if not t.same] == ["members"]


async def test_a_source_a_bot_is_writing_is_refused_naming_it(tmp_path):
    source = await new_sqlite(tmp_path / "a.db", filled=True)
    running = await open_database(source.path)  # the bot, holding the writer lock
    try:
        with pytest.raises(Exception, match="is in use by another Kizuna process"):
            await copy_community(source, Target("sqlite", path=tmp_path / "b.db"), prepare_target=prepare)
    finally:
        await running.close()


# --- SQLite <-> PostgreSQL ---------------------------------------------------------------------------
async def pg_rows(target: Target) -> dict[str, list[tuple]]:
    """Every row of every table as the PostgreSQL side holds them, the values as the copy reads them."""
    store = await PostgresStore.open(target, write=False, lock=False)
    try:
        out = {}
        for name, table in (await store.tables()).items():
            rows = []
            async for batch in store.rows(name, table.columns):
                rows += batch
            out[name] = sorted(rows, key=repr)
        return out
    finally:
        await store.close()


async def test_a_round_trip_sqlite_postgresql_sqlite_leaves_identical_rows(tmp_path, pg_community):
    source = await new_sqlite(tmp_path / "a.db", filled=True)
    pg = parse_target(pg_community)
    there = await copy_community(source, pg, prepare_target=prepare)
    assert there.committed and there.rows == sum(fill_every_table_counts(source.path).values())
    back = Target("sqlite", path=tmp_path / "c.db")
    again = await copy_community(pg, back, prepare_target=prepare)
    assert again.committed and not again.mismatched
    assert rows_of(source.path) == rows_of(back.path)  # identical, value for value and type for type
    assert [(t.name, t.source.hex) for t in there.tables] == [(t.name, t.target.hex) for t in again.tables]
    assert not [t for t in await compare(source, pg) if not t.same]
    snowflakes = {r for rows in (await pg_rows(pg)).values() for row in rows for r in row if r == SNOWFLAKE + 2}
    assert snowflakes == {SNOWFLAKE + 2}  # a BIGINT past 2^53 arrived as itself


async def test_after_a_copy_to_postgresql_new_rows_get_fresh_ids(tmp_path, pg_community):
    """Ids are kept, and each id sequence is set past them (setval): the bot's next row does not collide."""
    source = await new_sqlite(tmp_path / "a.db", filled=True)
    pg = parse_target(pg_community)
    assert (await copy_community(source, pg, prepare_target=prepare)).committed
    db = await open_database(pg_community)
    try:
        async with db.transaction() as tx:
            new_id = await tx.fetchval("INSERT INTO audit_log (guild_id, actor_id, action, target, detail, created_at)"
                                       " VALUES (1, 2, 'after.copy', 'x', 'y', ?) RETURNING id", (to_db_time(T0),))
            outbox_id = await tx.fetchval(
                "INSERT INTO outbox (guild_id, target_kind, target, payload, dedupe_key, status, not_before, "
                "created_at) VALUES (1, 'channel', 'lounge', '{}', 'after-copy', 'pending', ?, ?) RETURNING id",
                (to_db_time(T0), to_db_time(T0)))
    finally:
        await db.close()
    assert (new_id, outbox_id) == (ROWS + 1, ROWS + 1)


async def test_a_non_empty_postgresql_target_is_refused(tmp_path, pg_community):
    source = await new_sqlite(tmp_path / "a.db", filled=True)
    pg = parse_target(pg_community)
    await migrate(pg, create=True)
    db = await open_database(pg_community)
    try:
        await db.execute("INSERT INTO membership_state (guild_id, key, value) VALUES (1, 'kept', 'mine')")
    finally:
        await db.close()
    with pytest.raises(TransferError, match=r"is not empty \(membership_state hold rows\)"):
        await copy_community(source, pg, prepare_target=prepare)
    assert sum(len(rows) for rows in (await pg_rows(pg)).values()) == 1


async def test_a_changed_value_on_the_way_to_postgresql_is_caught_and_rolled_back(tmp_path, pg_community, monkeypatch):
    source = await new_sqlite(tmp_path / "a.db", filled=True)
    pg = parse_target(pg_community)
    insert = PostgresStore.insert

    async def corrupting(self, table, columns, rows):
        if table.name == "members":
            i = list(columns).index("user_id")
            rows = [rows[0][:i] + (rows[0][i] + 1,) + rows[0][i + 1:]] + rows[1:]
        await insert(self, table, columns, rows)

    monkeypatch.setattr(PostgresStore, "insert", corrupting)
    report = await copy_community(source, pg, prepare_target=prepare)
    assert not report.committed and [t.name for t in report.mismatched] == ["members"]
    assert sum(len(rows) for rows in (await pg_rows(pg)).values()) == 0


async def test_a_community_a_bot_leads_on_postgresql_is_refused_as_a_target(tmp_path, pg_community):
    from bot.db.leader import Leadership

    source = await new_sqlite(tmp_path / "a.db", filled=True)
    pg = parse_target(pg_community)
    await migrate(pg, create=True)
    leader = await Leadership.connect(pg.dsn, pg.schema)
    try:
        assert await leader.try_lead()
        with pytest.raises(TransferError, match=r"is in use: a Kizuna bot leads it \(pid \d+ on "):
            await copy_community(source, pg, prepare_target=prepare)
    finally:
        await leader.release()
    assert (await copy_community(source, pg, prepare_target=prepare)).committed


def test_db_init_status_and_backup_on_postgresql(tmp_path, pg_community, capsys, monkeypatch):
    from bot.offline.postgres import find_binaries

    assert cli(["db", "status", "--db", pg_community]) == 1
    assert "has no schema community_a: create it with `python -m bot db init`" in capsys.readouterr().err
    assert cli(["db", "init", "--db", pg_community]) == 0
    assert f"applied {len(available_migrations())} migration(s)" in capsys.readouterr().out
    assert cli(["db", "status", "--db", pg_community]) == 0
    assert f"{len(available_migrations())} migration(s) applied, 0 pending" in capsys.readouterr().out
    source = asyncio.run(new_sqlite(tmp_path / "a.db", filled=True))
    assert cli(["db", "copy", "--from", f"sqlite:{source.path}", "--to", pg_community]) == 0  # into the empty schema
    assert "counts and checksums verified" in capsys.readouterr().out
    out = tmp_path / "community_a.dump"
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    assert cli(["db", "backup", "--db", pg_community, "--out", str(out)]) == 2
    assert "pg_dump is not installed here" in capsys.readouterr().err and not out.exists()
    monkeypatch.setenv("PATH", str(find_binaries()[0]))  # the server's own pg_dump: the same version
    assert cli(["db", "backup", "--db", pg_community, "--out", str(out)]) == 0
    assert "backed up schema community_a" in capsys.readouterr().out
    assert out.read_bytes().startswith(b"PGDMP")  # pg_dump's custom format
    listing = subprocess.run([str(find_binaries()[0] / "pg_restore"), "--list", str(out)], capture_output=True,
                             text=True, check=True).stdout
    assert "TABLE DATA community_a outbox" in listing and "public" not in listing  # this community only


# --- migrations: status, migrate, init ---------------------------------------------------------------
def test_db_status_lists_applied_and_pending_and_migrate_applies_the_pending(tmp_path, capsys):
    path = tmp_path / "old.db"
    migrations = available_migrations()
    with closing(sqlite3.connect(path)) as conn:  # a database an older Kizuna made: the first three only
        conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        for version, name, sql in migrations[:3]:
            conn.executescript(sql)
            conn.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, name))
        conn.commit()
    assert cli(["db", "status", "--db", f"sqlite:{path}"]) == 0
    out = capsys.readouterr().out
    assert f"3 migration(s) applied, {len(migrations) - 3} pending" in out
    assert f"  applied  {migrations[2][1]}" in out and f"  pending  {migrations[3][1]}" in out
    assert cli(["db", "migrate", "--db", str(path)]) == 0
    assert f"applied {len(migrations) - 3} migration(s): {migrations[3][1]}" in capsys.readouterr().out
    assert cli(["db", "status", "--db", str(path)]) == 0
    assert f"{len(migrations)} migration(s) applied, 0 pending" in capsys.readouterr().out
    assert cli(["db", "migrate", "--db", str(path)]) == 0
    assert "up to date" in capsys.readouterr().out


def test_db_migrate_does_not_create_a_mistyped_database_but_init_does(tmp_path, capsys):
    path = tmp_path / "typo.db"
    assert cli(["db", "migrate", "--db", str(path)]) == 1
    assert "no database at" in capsys.readouterr().err and not path.exists()
    assert cli(["db", "init", "--db", str(path)]) == 0
    assert asyncio.run(migration_status(Target("sqlite", path=path))).pending == []


# --- backup --------------------------------------------------------------------------------------
def test_db_backup_is_an_online_copy_while_the_bot_holds_the_database(tmp_path, capsys):
    source = asyncio.run(new_sqlite(tmp_path / "a.db", filled=True))

    async def backup_while_held() -> int:
        running = await open_database(source.path)  # the writer lock is held, as by `run`
        try:
            async with running.transaction() as tx:  # and a write committed in the WAL, not checkpointed
                await tx.execute("INSERT INTO membership_state (guild_id, key, value) VALUES (9, 'late', 'x')")
            return await asyncio.to_thread(cli, ["db", "backup", "--db", str(source.path),
                                                 "--out", str(tmp_path / "b.db")])
        finally:
            await running.close()

    assert asyncio.run(backup_while_held()) == 0
    assert "backed up" in capsys.readouterr().out
    assert rows_of(tmp_path / "b.db") == rows_of(source.path)
    assert ("9", "late", "x") in {tuple(map(str, r)) for r in rows_of(tmp_path / "b.db")["membership_state"]}
    assert cli(["db", "backup", "--db", str(source.path), "--out", str(tmp_path / "b.db")]) == 1
    assert "refusing to overwrite" in capsys.readouterr().err


def test_targets_are_read_as_operators_write_them():
    assert parse_target("sqlite:data/k.db") == Target("sqlite", path=Path("data/k.db"))
    assert parse_target("sqlite:///srv/k.db") == Target("sqlite", path=Path("/srv/k.db"))
    assert parse_target("data/k.db") == Target("sqlite", path=Path("data/k.db"))
    pg = parse_target("postgresql://kizuna:secret@db.example:5432/agency?schema=brand_a&sslmode=require")
    assert (pg.kind, pg.schema, pg.dsn) == ("postgresql", "brand_a",
                                            "postgresql://kizuna:secret@db.example:5432/agency?sslmode=require")
    assert "secret" not in str(pg) and parse_target("postgres://h/d").schema == "public"
    with pytest.raises(TransferError, match="mysql:// is not a store"):
        parse_target("mysql://h/d")
