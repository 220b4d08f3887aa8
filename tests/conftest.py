"""Fixtures shared by every test: the offline harness (docs/HARNESS.md), and the two stores
(tests/backends.py: every store-touching test runs on SQLite and on a throwaway PostgreSQL)."""
from __future__ import annotations

import os
from collections import Counter

import pytest

import bot.db.connection
from bot.db.connection import Database
from bot.db.pg import PgDatabase
from bot.offline import Harness
from tests.backends import BACKENDS, PathsToDatabases, PostgresForTests, StoreScan
from tests.helpers import CONFIG

_SCAN = StoreScan()
_RUN_ON: Counter = Counter()  # backend -> tests run (the terminal summary prints it)
_ON_POSTGRES: set = set()  # tests not parametrised that use the postgres_database fixture
_POSTGRES: dict = {}  # "server": PostgresForTests, or "error": why it could not start


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite_only(reason): this test is about SQLite itself; not run on PostgreSQL")


def pytest_generate_tests(metafunc):
    if "backend" not in metafunc.fixturenames or "postgres_database" in metafunc.fixturenames:
        return
    only_sqlite = metafunc.definition.get_closest_marker("sqlite_only") is not None
    backends = ["sqlite"] if only_sqlite or not _SCAN.touches_store(metafunc) else list(BACKENDS)
    if backends == ["sqlite"] and "sqlite" in BACKENDS:
        return  # not parametrised: the test's id stays as it was
    metafunc.parametrize("backend", backends, indirect=True)


def pytest_collection_modifyitems(config, items):
    """KIZUNA_TEST_BACKENDS=sqlite (a quick local run): the tests that need the PostgreSQL server are
    deselected, and the summary says how many."""
    if "postgresql" in BACKENDS:
        return
    keep = [item for item in items if "postgres_database" not in getattr(item, "fixturenames", ())]
    if len(keep) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in keep])
        _RUN_ON["postgresql (deselected: KIZUNA_TEST_BACKENDS)"] += len(items) - len(keep)
        items[:] = keep


def pytest_runtest_logreport(report):
    if report.when == "call" or (report.when == "setup" and not report.passed):
        _RUN_ON[_backend_of(report.nodeid)] += 1
        if "sqlite" in _id_parts(report.nodeid):
            _RUN_ON["sqlite store"] += 1  # the SQLite half of a test that runs on both


def _id_parts(nodeid: str) -> list[str]:
    """The parameters in a test's id: `test_x[a folder-postgresql]` -> ["a folder", "postgresql"]."""
    return nodeid.rsplit("[", 1)[1].rstrip("]").split("-") if nodeid.endswith("]") else []


def _backend_of(nodeid: str) -> str:
    return "postgresql" if nodeid in _ON_POSTGRES or "postgresql" in _id_parts(nodeid) else "sqlite"


def pytest_terminal_summary(terminalreporter):
    tr = terminalreporter
    tr.section("stores")
    skipped = _RUN_ON["postgresql (deselected: KIZUNA_TEST_BACKENDS)"]
    if skipped or "postgresql" not in BACKENDS:
        tr.write_line(f"KIZUNA_TEST_BACKENDS={','.join(BACKENDS)}: the PostgreSQL half did not run", yellow=True, bold=True)
    tr.write_line(f"tests run on SQLite: {_RUN_ON['sqlite']} ({_RUN_ON['sqlite store']} of them store tests that"
                  f" also run on PostgreSQL), on PostgreSQL: {_RUN_ON['postgresql']}"
                  + (f" (server: PostgreSQL {_POSTGRES['server'].server.version} from "
                     f"{_POSTGRES['server'].server.source})" if "server" in _POSTGRES else ""))
    if "error" in _POSTGRES:
        tr.write_line(f"POSTGRESQL COULD NOT START: {_POSTGRES['error']}", red=True, bold=True)
        tr.write_line("every PostgreSQL test errored; KIZUNA_TEST_BACKENDS=sqlite runs the SQLite half alone",
                      red=True, bold=True)


def pytest_sessionfinish(session):
    server = _POSTGRES.pop("server", None)
    if server is not None:
        server.stop()


def _postgres() -> PostgresForTests:
    if "error" in _POSTGRES:
        raise RuntimeError(f"PostgreSQL could not start: {_POSTGRES['error']}")
    if "server" not in _POSTGRES:
        try:
            _POSTGRES["server"] = PostgresForTests()
        except Exception as exc:
            _POSTGRES["error"] = f"{type(exc).__name__}: {exc}"
            raise RuntimeError(f"PostgreSQL could not start (CI={os.environ.get('CI', '')}): {exc}") from exc
    return _POSTGRES["server"]


@pytest.fixture
def postgres_database(request):
    """The URL of an empty, migrated database on the session's PostgreSQL server (errors when the
    server cannot start)."""
    _ON_POSTGRES.add(request.node.nodeid)
    pg = _postgres()
    url = pg.fresh()
    try:
        yield url
    finally:
        pg.release([url])


@pytest.fixture(autouse=True)
def backend(request, monkeypatch):
    """"sqlite" or "postgresql": the store this test runs on (see tests/backends.py)."""
    name = getattr(request, "param", "sqlite")
    if name != "postgresql":
        yield name
        return
    targets = PathsToDatabases(_postgres())
    monkeypatch.setattr(bot.db.connection, "database_target", targets)
    try:
        yield name
    finally:
        targets.close()


@pytest.fixture(autouse=True)
async def _close_databases_left_open(monkeypatch):
    """A test that fails before closing its database must fail, not hang pytest at exit (an open
    aiosqlite connection's thread keeps the process alive). The databases a test opens are noted here,
    not in bot/db (which keeps no module state)."""
    opened: list = []
    for cls in (Database, PgDatabase):
        def noting(self, *args, __init=cls.__init__, **kwargs):
            __init(self, *args, **kwargs)
            opened.append(self)

        monkeypatch.setattr(cls, "__init__", noting)
    yield
    for db in opened:
        try:
            await db.close()
        except Exception:  # opened on a loop that is gone: nothing more to do
            pass


@pytest.fixture
async def harness(tmp_path):
    """A factory: `g = await harness()` starts the real bot against the fake Discord on a fresh SQLite
    file in tmp_path; `await harness(config=my_config, users={...}, clock=...)` to change things.
    Every harness is closed at teardown (and a pending spec violation or bot error fails the test)."""
    started: list[Harness] = []

    async def start(**kwargs) -> Harness:
        kwargs.setdefault("config", CONFIG)
        kwargs.setdefault("db_path", tmp_path / f"kizuna-{len(started) + 1}.db")
        g = await Harness.start(**kwargs)
        started.append(g)
        return g

    yield start
    for g in reversed(started):
        await g.close()
