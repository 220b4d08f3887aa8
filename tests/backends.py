"""The test suite on both stores: which tests touch the store, and the throwaway PostgreSQL server.

Every test that opens a database (directly, through the harness, the App, the playground or an
in-process CLI command) runs twice: `[sqlite]` on a file in tmp_path as always, and `[postgresql]`
where each SQLite path the test names becomes its own fresh PostgreSQL database, cloned from a
migrated template on one server the session starts itself (bot/offline/postgres.py) and given back when
the test ends (emptied and kept for the next test, which is cheaper than a new copy). The switch is `bot.db.connection.database_target`, the one place a target is chosen.

A test is store-touching when its source, a fixture it uses or a helper of its module that it calls
mentions one of STORE_WORDS. `@pytest.mark.sqlite_only("why")` (on a test, or `pytestmark` for a
module) keeps a test on SQLite alone: file locks, SQLite's busy handling, a child process killed
while writing a SQLite file. KIZUNA_TEST_BACKENDS=sqlite runs the SQLite half only (a quick local run).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import itertools
import os
import re
from pathlib import Path
from urllib.parse import urlsplit
from typing import Any, Callable

STORE_WORDS = re.compile(r"open_database|App\.open|Harness|harness|KizunaBot|playground|db_path|\"--db\"|start_app")
NOT_STORE_FIXTURES = frozenset({"backend", "_close_databases_left_open", "postgres_for_tests"})
BACKENDS = tuple(b.strip() for b in os.environ.get("KIZUNA_TEST_BACKENDS", "sqlite,postgresql").split(",") if b.strip())


def _source(obj: Any) -> str:
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        return ""


class StoreScan:
    """Which functions of a test module open a store (cached per module)."""

    def __init__(self) -> None:
        self._helpers: dict[str, frozenset[str]] = {}

    def helpers(self, module) -> frozenset[str]:
        found = self._helpers.get(module.__name__)
        if found is None:
            sources = {}
            for name, value in vars(module).items():
                func = getattr(value, "__wrapped__", value)
                if inspect.isfunction(func) and func.__module__ == module.__name__:
                    sources[name] = _source(func)
            store = {name for name, src in sources.items() if STORE_WORDS.search(src.split("\n", 1)[-1])}
            while True:  # helpers that call helpers
                more = {name for name, src in sources.items() if name not in store
                        and any(re.search(rf"\b{re.escape(h)}\b", src) for h in store)}
                if not more:
                    break
                store |= more
            found = self._helpers[module.__name__] = frozenset(store)
        return found

    def touches_store(self, metafunc) -> bool:
        helpers = self.helpers(metafunc.module)
        texts = [_source(metafunc.function)]
        for name in metafunc.fixturenames:
            if name in NOT_STORE_FIXTURES:
                continue
            for fixturedef in metafunc._arg2fixturedefs.get(name, ()):
                module = getattr(fixturedef.func, "__module__", "") or ""
                if module == metafunc.module.__name__ or module.split(".")[-1] == "conftest":
                    texts.append(_source(fixturedef.func))
        return any(STORE_WORDS.search(text) or any(re.search(rf"\b{re.escape(h)}\b", text) for h in helpers)
                   for text in texts)


# what a database holds besides rows: its tables (in every schema) and the migrations applied
_SHAPE = ("SELECT (SELECT string_agg(table_schema || '.' || table_name, ',' ORDER BY table_schema, table_name)"
          " FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema'))"
          " || '|' || (SELECT string_agg(version::text, ',' ORDER BY version) FROM public.schema_migrations)")


def run_blocking(make_coro: Callable[[], Any]) -> Any:
    """Run a coroutine to the end from sync code that may itself be inside a running loop."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, make_coro()).result()


class PostgresForTests:
    """The session's server, its migrated template, and a fresh database per SQLite path."""

    TEMPLATE = "kizuna_template"

    def __init__(self) -> None:
        from bot.offline.postgres import ThrowawayPostgres

        self.server = ThrowawayPostgres(durable=False).start()
        self._names = itertools.count(1)
        self._free: list[str] = []  # emptied databases, ready for the next test
        self._shape = ""  # the template's tables and migrations: what an emptied database keeps
        self._empty_sql = ""
        try:
            run_blocking(self._make_template)
        except BaseException:
            self.server.stop()
            raise

    async def _admin(self):
        import asyncpg

        return await asyncpg.connect(self.server.url("postgres"))

    async def _make_template(self) -> None:
        from bot.db.pg import open_postgres

        conn = await self._admin()
        try:
            await conn.execute(f"CREATE DATABASE {self.TEMPLATE}")
        finally:
            await conn.close()
        db = await open_postgres(self.server.url(self.TEMPLATE), readers=0)
        try:
            self._shape = await db.fetchval(_SHAPE)
            tables = [r[0] for r in await db.fetchall(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
                " AND table_name <> 'schema_migrations'")]
            sequences = [r[0] for r in await db.fetchall(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE c.relkind = 'S' AND n.nspname = 'public'")]
            self._empty_sql = ("SET session_replication_role = replica;"  # no foreign key order to follow
                               + "".join(f"DELETE FROM public.{t};" for t in tables)
                               + "".join(f"SELECT setval('public.{q}', 1, false);" for q in sequences)
                               + "SET session_replication_role = DEFAULT;")
        finally:
            await db.close()

    def fresh(self) -> str:
        """A database as the migrated template is: one a finished test emptied (`release`), or a new
        copy of the template."""
        if self._free:
            return self._free.pop()
        name = f"t{next(self._names)}"

        async def create() -> None:
            conn = await self._admin()
            try:
                await conn.execute(f"CREATE DATABASE {name} TEMPLATE {self.TEMPLATE} STRATEGY FILE_COPY")
            finally:
                await conn.close()

        run_blocking(create)
        return self.server.url(name)

    def release(self, urls: list[str]) -> None:
        """Empty each database a test used and keep it for the next test (TRUNCATE .. RESTART IDENTITY:
        ids start at 1 again, as in a new SQLite file). One whose tables or migrations are not the
        template's any more (a test changed the schema) is dropped instead."""
        if not urls:
            return

        async def empty(url: str) -> bool:
            import asyncpg

            try:
                conn = await asyncpg.connect(url, server_settings={"lock_timeout": "2s"})
            except Exception:
                return False
            try:
                # one round trip: is it still the template's schema, then empty it (DELETE is much
                # cheaper than TRUNCATE on tables this small; identities restart at 1)
                shape = await conn.fetchval(_SHAPE)
                if shape != self._shape:
                    return False
                await conn.execute(self._empty_sql)
                return True
            except Exception:
                return False
            finally:
                conn.terminate()

        async def recycle() -> None:
            dropped = []
            for url in urls:
                (self._free.append(url) if await empty(url) else dropped.append(url))
            if dropped:
                conn = await self._admin()
                try:
                    for url in dropped:
                        await conn.execute(f"DROP DATABASE IF EXISTS {urlsplit(url).path.lstrip('/')} WITH (FORCE)")
                finally:
                    await conn.close()

        run_blocking(recycle)

    def stop(self) -> None:
        self.server.stop()


class PathsToDatabases:
    """database_target for one test: the same SQLite path opens the same PostgreSQL database (a
    restart finds its rows), each new path a fresh one."""

    def __init__(self, pg: PostgresForTests) -> None:
        self.pg = pg
        self.urls: dict[str, str] = {}

    def __call__(self, target: str | Path) -> str | Path:
        from bot.db.connection import is_postgres_url

        if is_postgres_url(target) or str(target) == ":memory:":
            return target
        key = str(Path(target).resolve())
        url = self.urls.get(key)
        if url is None:
            url = self.urls[key] = self.pg.fresh()
        return url

    def close(self) -> None:
        self.pg.release(list(self.urls.values()))
        self.urls.clear()
