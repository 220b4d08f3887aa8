"""The test suite on both stores: which tests touch the store, and the throwaway PostgreSQL server.

Every test that opens a database (directly, through the harness, the App, the playground or an
in-process CLI command) runs twice: `[sqlite]` on a file in tmp_path as always, and `[postgresql]`
where each SQLite path the test names becomes its own fresh PostgreSQL database, cloned from a
migrated template on one server the session starts itself (bot/offline/postgres.py) and dropped when
the test ends. The switch is `bot.db.connection.database_target`, the one place a target is chosen.

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
        await db.close()

    def fresh(self, count: int = 1) -> list[str]:
        """`count` new databases, each a copy of the migrated template: their URLs."""
        names = [f"t{next(self._names)}" for _ in range(count)]

        async def create() -> None:
            conn = await self._admin()
            try:
                for name in names:
                    await conn.execute(f"CREATE DATABASE {name} TEMPLATE {self.TEMPLATE} STRATEGY FILE_COPY")
            finally:
                await conn.close()

        run_blocking(create)
        return [self.server.url(name) for name in names]

    def drop(self, urls: list[str]) -> None:
        if not urls:
            return

        async def drop() -> None:
            conn = await self._admin()
            try:
                for url in urls:
                    await conn.execute(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")
            finally:
                await conn.close()

        run_blocking(drop)

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
            url = self.urls[key] = self.pg.fresh()[0]
        return url

    def close(self) -> None:
        self.pg.drop(list(self.urls.values()))
        self.urls.clear()
