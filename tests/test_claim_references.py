"""Claim and waitlist rows always point at a drop, on both engines (migration 0025).

SQLite checks the foreign keys itself. On PostgreSQL the per-row foreign-key triggers were half of a
claim batch's statement time, so 0025 checks the references once per statement instead; these tests
hold both engines to the same behaviour: a row pointing at no drop is refused with an IntegrityError
and nothing is written, and a drop that rows point at cannot be deleted or renumbered.
"""
from __future__ import annotations

import sqlite3

import pytest

from bot.db import open_database
from bot.db.connection import migration_statements

STAMP = "2026-12-01T00:00:00.000000+00:00"
TABLES = {
    "drop_claims": ("INSERT INTO drop_claims (drop_id, user_id, slot, status, source, claimed_at)"
                    " VALUES (?, ?, 1, 'claimed', 'claim', ?)"),
    "drop_waitlist": "INSERT INTO drop_waitlist (drop_id, user_id, status, joined_at) VALUES (?, ?, 'waiting', ?)",
}


async def _drop(db, key: str = "tin") -> int:
    return await db.fetchval(
        "INSERT INTO drops (guild_id, key, occurrence, mode, stock, remaining, status, opens_at, opened_at)"
        " VALUES (1, ?, 'manual', 'first_come', 10, 10, 'open', ?, ?) RETURNING id", (key, STAMP, STAMP))


@pytest.mark.parametrize("table", sorted(TABLES))
@pytest.mark.parametrize("how", ["one row", "a batch with one bad row", "moved to a missing drop"])
async def test_a_row_pointing_at_no_drop_is_refused_and_nothing_is_written(tmp_path, table, how):
    db = await open_database(tmp_path / "k.db")
    try:
        drop_id = await _drop(db)
        if how == "moved to a missing drop":
            async with db.transaction() as tx:
                await tx.execute(TABLES[table], (drop_id, 7, STAMP))
        with pytest.raises(sqlite3.IntegrityError):
            async with db.transaction() as tx:
                if how == "one row":
                    await tx.execute(TABLES[table], (drop_id + 100, 7, STAMP))
                elif how == "a batch with one bad row":
                    await tx.executemany(TABLES[table], [(drop_id, 8, STAMP), (drop_id + 100, 9, STAMP),
                                                         (drop_id, 10, STAMP)])
                else:
                    await tx.execute(f"UPDATE {table} SET drop_id = ? WHERE user_id = 7", (drop_id + 100,))
        rows = await db.fetchall(f"SELECT drop_id, user_id FROM {table} ORDER BY user_id")
        assert [tuple(r) for r in rows] == ([(drop_id, 7)] if how == "moved to a missing drop" else [])
    finally:
        await db.close()


@pytest.mark.parametrize("table", sorted(TABLES))
@pytest.mark.parametrize("change", ["DELETE FROM drops WHERE id = ?", "UPDATE drops SET id = id + 100 WHERE id = ?"])
async def test_a_drop_that_rows_point_at_cannot_be_deleted_or_renumbered(tmp_path, table, change):
    db = await open_database(tmp_path / "k.db")
    try:
        used, unused = await _drop(db, "tin"), await _drop(db, "mug")
        async with db.transaction() as tx:
            await tx.execute(TABLES[table], (used, 7, STAMP))
        with pytest.raises(sqlite3.IntegrityError):
            async with db.transaction() as tx:
                await tx.execute(change, (used,))
        assert await db.fetchval("SELECT COUNT(*) FROM drops WHERE id = ?", (used,)) == 1
        async with db.transaction() as tx:  # a drop nothing points at is free to go, as with a foreign key
            await tx.execute(change, (unused,))
        assert await db.fetchval("SELECT COUNT(*) FROM drops WHERE id = ?", (unused,)) == 0
        async with db.transaction() as tx:  # the claim path's own update of a drop is not refused
            await tx.execute("UPDATE drops SET remaining = remaining - 1 WHERE id = ?", (used,))
    finally:
        await db.close()


async def test_postgresql_checks_the_claim_tables_references_once_per_statement(tmp_path, backend):
    """What 0025 is for: on PostgreSQL 18+ no per-row foreign-key check trigger is left on the two
    claim tables (on an older server the foreign keys stay enforced as well); SQLite keeps its own."""
    db = await open_database(tmp_path / "k.db")
    try:
        if backend == "sqlite":
            assert await db.fetchval("PRAGMA foreign_keys") == 1
            parents = {tuple(r)[2] for r in await db.fetchall("PRAGMA foreign_key_list(drop_claims)")}
            assert parents == {"drops"}
            return
        version = int(await db.fetchval("SELECT current_setting('server_version_num')"))
        per_row = await db.fetchval(
            "SELECT COUNT(*) FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid"
            " WHERE t.tgrelid IN ('drop_claims'::regclass, 'drop_waitlist'::regclass) AND p.proname = 'RI_FKey_check_ins'")
        per_statement = await db.fetchval(
            "SELECT COUNT(*) FROM pg_trigger WHERE tgrelid IN ('drop_claims'::regclass, 'drop_waitlist'::regclass)"
            " AND NOT tgisinternal AND tgname LIKE '%drop_exists%'")
        declared = await db.fetchval(
            "SELECT COUNT(*) FROM pg_constraint WHERE contype = 'f' AND confrelid = 'drops'::regclass"
            " AND conrelid IN ('drop_claims'::regclass, 'drop_waitlist'::regclass)")
        assert per_statement == 4 and declared == 2
        assert per_row == (0 if version >= 180000 else 2)
        # the checks name their tables through the firing table's schema, not the session's search_path
        drop_id = await _drop(db)
        with pytest.raises(sqlite3.IntegrityError):
            async with db.transaction() as tx:
                await tx.execute("SET LOCAL search_path = pg_catalog")
                await tx.execute(f'INSERT INTO "{db.schema}".drop_waitlist (drop_id, user_id, status, joined_at)'
                                 " VALUES (?, 7, 'waiting', ?)", (drop_id + 100, STAMP))
        async with db.transaction() as tx:
            await tx.execute("SET LOCAL search_path = pg_catalog")
            await tx.execute(f'INSERT INTO "{db.schema}".drop_waitlist (drop_id, user_id, status, joined_at)'
                             " VALUES (?, 7, 'waiting', ?)", (drop_id, STAMP))
    finally:
        await db.close()


MIGRATION = """-- a comment; with a semicolon
CREATE TABLE a (id INTEGER PRIMARY KEY);

-- postgresql only
CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1;
    RETURN NULL;
END
$$;

-- only for SQLite:
-- sqlite only
CREATE INDEX a_id ON a (id);
INSERT INTO a VALUES (1);
"""


@pytest.mark.parametrize("dialect, expected", [
    ("sqlite", ["-- a comment; with a semicolon\nCREATE TABLE a", "-- only for SQLite:\n-- sqlite only\nCREATE INDEX", "INSERT INTO a"]),
    ("postgresql", ["-- a comment; with a semicolon\nCREATE TABLE a", "-- postgresql only\nCREATE FUNCTION", "INSERT INTO a"]),
])
def test_a_migration_splits_at_line_end_semicolons_keeps_function_bodies_whole_and_marks_dialects(dialect,
                                                                                                   expected):
    statements = migration_statements(MIGRATION, dialect)
    assert [s[:len(e)] for s, e in zip(statements, expected)] == expected and len(statements) == len(expected)
    if dialect == "postgresql":
        assert statements[1].endswith("RETURN NULL;\nEND\n$$")
