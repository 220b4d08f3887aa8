"""Who runs a community: one leader among the `run` processes of a PostgreSQL community (issue 18).

Two or more `python -m bot run` processes may point at one community on one PostgreSQL server. Exactly
one of them leads: it connects to Discord's gateway and runs the scheduler and the outbox. The others are
standbys: they hold no gateway connection and no open App, and try for the lead every `poll` seconds.

The lead is a PostgreSQL *session-level* advisory lock keyed on the community (its schema, in its
database), held on a connection of its own (`Leadership`). PostgreSQL drops the lock the moment that
session ends — the process exits, is killed with SIGKILL, or its connection breaks — and the next
standby's `pg_try_advisory_lock` takes it. Nothing else is handed over: the outbox and the ledgers claim
their rows in the database (a post, a DM, a claim is one row, claimed once), so the new leader's start-up
recovery (`App.start`) finishes exactly what the old one left, as after a restart.

Fencing (a leader cut off from the server must stop before a standby can start): the leader checks its
lock every `HEARTBEAT` seconds with a `TIMEOUT`; a failed or slow check ends its leadership
(`LeadershipLost`: `run` exits at once, a supervisor restarts it as a standby). The server side gives up
a silent session only after its TCP keepalives (`KEEPALIVE_*`, about 11 s), so the old leader has
stopped (after at most HEARTBEAT + TIMEOUT = 7 s) before the lock can pass on.

Each process also keeps a row in `replica_nodes` (host, pid, command, role, since, last heartbeat): what
`python -m bot status` shows. The rows only describe; the lock decides (status asks `pg_locks` which
session holds it). On SQLite there is one process per database (the writer lock, writer_lock.py):
`sqlite_holder` tells status who it is.
"""
from __future__ import annotations

import asyncio
import logging
import os
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable

from bot.clock import SystemClock

from .writer_lock import _read_holder, lock_path_for, this_process

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

log = logging.getLogger(__name__)

LOCK_CLASS = 0x4B5A4E41 & 0x7FFFFFFF  # "KZNA": Kizuna's advisory locks, first key of the two-key form
HEARTBEAT = 2.0  # seconds between the leader's lock checks (and every process's row update)
TIMEOUT = 5.0  # a lock check slower than this counts as a lost session
POLL = 1.0  # seconds between a standby's tries for the lead
GONE_AFTER_SECONDS = 30.0  # a row not heard from for this long is shown as gone
FORGET_AFTER_SECONDS = 7 * 86400.0  # rows of processes gone this long are deleted by the next leader
# the server drops a session whose client went silent after idle + interval * count seconds
KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_COUNT = 5, 2, 3
SERVER_GIVES_UP_MS = (KEEPALIVE_IDLE + KEEPALIVE_INTERVAL * KEEPALIVE_COUNT) * 1000


# Tables that describe the processes running on a store, not the community: `db copy` leaves them out
# (a copy on another server would show processes that never ran there) and does not count them when it
# checks that a target is empty
RUNTIME_TABLES = frozenset({"replica_nodes"})


class LeadershipLost(RuntimeError):
    """The leader's lock session ended or stopped answering: this process must stop leading now."""


def community_key(schema: str) -> int:
    """The second key of the community's advisory lock: a stable 31-bit hash of its schema name (advisory
    locks are per database already, so one server can hold many communities' locks)."""
    return zlib.crc32(f"kizuna:leader:{schema}".encode()) & 0x7FFFFFFF


def _now() -> datetime:
    # wall time, not the app's clock (a FakeClock in tests): these rows tell people when processes ran
    return SystemClock().now()


def _text_time(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_time(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


_HOLDER_SQL = """
SELECT l.pid FROM pg_locks l
WHERE l.locktype = 'advisory' AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 2 AND l.granted
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""
_MINE_SQL = """
SELECT count(*) FROM pg_locks
WHERE locktype = 'advisory' AND classid = $1 AND objid = $2 AND objsubid = 2 AND granted
  AND pid = pg_backend_pid()
"""
_UPSERT_NODE = """
INSERT INTO replica_nodes (node, host, pid, command, started_at, role, leader_since, seen_at, session_pid)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (node) DO UPDATE SET role = excluded.role, leader_since = excluded.leader_since,
    seen_at = excluded.seen_at, session_pid = excluded.session_pid
"""


async def connect_session(dsn: str, schema: str, *, role: str = "kizuna") -> Any:
    """A connection of its own for the lock, with `search_path` on the community's schema and TCP
    keepalives short enough that the server frees the lock of a vanished leader in about 11 s."""
    import asyncpg

    settings = {"search_path": schema, "application_name": f"kizuna {role} {os.getpid()}"[:63],
                "tcp_keepalives_idle": str(KEEPALIVE_IDLE), "tcp_keepalives_interval": str(KEEPALIVE_INTERVAL),
                "tcp_keepalives_count": str(KEEPALIVE_COUNT),
                # and when its answers go unacknowledged (keepalives only cover an idle connection)
                "tcp_user_timeout": str(SERVER_GIVES_UP_MS)}
    return await asyncpg.connect(dsn, server_settings=settings, timeout=30)


class Leadership:
    """One process's claim on leading one community. `await wait_until_leader()` returns once this
    process leads; `await watch()` then returns only by raising LeadershipLost; `release()` ends it."""

    def __init__(self, conn: Any, schema: str, *, poll: float = POLL, heartbeat: float = HEARTBEAT,
                 timeout: float = TIMEOUT) -> None:
        self.conn = conn
        self.schema = schema
        self.key = community_key(schema)
        self.poll, self.heartbeat, self.timeout = poll, heartbeat, timeout
        me = this_process()
        self.host, self.pid, self.command = me["host"], int(me["pid"]), me["command"]
        self.started_at = _now()
        self.node = f"{self.host}:{self.pid}:{self.started_at:%Y%m%dT%H%M%S%f}"
        self.leader_since: datetime | None = None
        self.session_pid: int | None = None

    @classmethod
    async def connect(cls, dsn: str, schema: str, **kwargs: Any) -> "Leadership":
        conn = await connect_session(dsn, schema, role="replica")
        leadership = cls(conn, schema, **kwargs)
        leadership.session_pid = await conn.fetchval("SELECT pg_backend_pid()")
        return leadership

    @property
    def leading(self) -> bool:
        return self.leader_since is not None

    async def try_lead(self) -> bool:
        """Take the lead if nobody holds it (never waits). True when this process now leads."""
        if self.leading:
            return True
        took = await self.conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", LOCK_CLASS, self.key,
                                        timeout=self.timeout)
        if took:
            self.leader_since = _now()
            await self._forget_old()
            log.info("leading community %s (lock %d/%d, session %s)", self.schema, LOCK_CLASS, self.key,
                     self.session_pid)
        await self._note()
        return bool(took)

    async def wait_until_leader(self, on_standby: Callable[[dict | None], Awaitable[None] | None] | None = None) -> None:
        """Wait as a standby until this process leads. `on_standby(leader_row)` is called once, when
        the first try finds another leader (to say so); its row says who that is, if known."""
        told = False
        while not await self.try_lead():
            if not told and on_standby is not None:
                told = True
                result = on_standby(await self.leader_row())
                if asyncio.iscoroutine(result):
                    await result
            await asyncio.sleep(self.poll)

    async def leader_row(self) -> dict | None:
        """The row of the process that leads now (None: nobody, or a leader without a row yet)."""
        try:
            return (await leader_report(self.conn, self.schema)).get("leader")
        except Exception:  # a fresh database without the table yet: nothing to say
            return None

    async def check(self) -> None:
        """Raise LeadershipLost unless this session still holds the lock and answers within TIMEOUT."""
        try:
            mine = await asyncio.wait_for(self.conn.fetchval(_MINE_SQL, LOCK_CLASS, self.key), self.timeout)
        except Exception as exc:  # the connection broke, the server went away, or it is too slow
            raise LeadershipLost(f"the leader's lock session for {self.schema} stopped answering: "
                                 f"{type(exc).__name__}: {exc}") from exc
        if not mine:
            raise LeadershipLost(f"the leader's lock for {self.schema} is no longer held by this process")

    async def watch(self) -> None:
        """The leader's heartbeat: check the lock and refresh this process's row every `heartbeat`
        seconds, forever; raises LeadershipLost the moment the lead is gone."""
        while True:
            await self.check()
            noted = await self._note()
            # a new community's tables appear once the leader's App has migrated: note it soon after
            await asyncio.sleep(self.heartbeat if noted else min(self.heartbeat, 0.2))

    async def _forget_old(self) -> None:
        """The new leader clears rows of processes not heard from for a week (each start adds one)."""
        try:
            await self.conn.execute("DELETE FROM replica_nodes WHERE seen_at < $1",
                                    _text_time(_now() - timedelta(seconds=FORGET_AFTER_SECONDS)), timeout=self.timeout)
        except Exception as exc:  # no table yet: nothing to clear
            log.debug("could not clear old replica rows: %s", exc)

    async def _note(self, role: str | None = None) -> bool:
        """Write this process's row (best effort: a database whose tables the leader has not created
        yet has no `replica_nodes`; the next heartbeat writes it). True when written."""
        role = role or ("leader" if self.leading else "standby")
        try:
            await self.conn.execute(
                _UPSERT_NODE, self.node, self.host, self.pid, self.command, _text_time(self.started_at), role,
                _text_time(self.leader_since) if self.leader_since else None, _text_time(_now()),
                self.session_pid, timeout=self.timeout)
            return True
        except Exception as exc:
            if not self.conn.is_closed():
                log.debug("could not note this replica (%s): %s", role, exc)
            return False

    async def release(self) -> None:
        """Stop leading (or waiting): mark the row stopped and close the session, which frees the lock.
        Safe to call twice."""
        if self.conn.is_closed():
            return
        try:
            await self._note("stopped")
        finally:
            await self.conn.close()  # the session ends: PostgreSQL frees its advisory locks at once


async def leader_report(conn: Any, schema: str, *, now: datetime | None = None) -> dict:
    """What `status` shows for a PostgreSQL community: {"leader": row | None, "standbys": [rows],
    "gone": [rows], "holder_pid": backend pid holding the lock | None}. The leader is the row of the
    session that holds the lock in pg_locks, never merely the newest row that says so."""
    now = now or _now()
    holder = await conn.fetchval(_HOLDER_SQL, LOCK_CLASS, community_key(schema))
    rows = [dict(r) for r in await conn.fetch(
        "SELECT node, host, pid, command, started_at, role, leader_since, seen_at, session_pid "
        "FROM replica_nodes ORDER BY started_at")]
    report: dict = {"leader": None, "standbys": [], "gone": [], "holder_pid": holder}
    for row in rows:
        seen = _parse_time(row["seen_at"])
        if holder is not None and row["session_pid"] == holder and row["role"] == "leader":
            report["leader"] = row
        elif row["role"] == "standby" and seen is not None and now - seen <= timedelta(seconds=GONE_AFTER_SECONDS):
            report["standbys"].append(row)
        else:
            report["gone"].append(row)
    return report


def describe_row(row: dict) -> str:
    since = _parse_time(row.get("leader_since") or row.get("started_at"))
    seen = _parse_time(row.get("seen_at"))
    text = f"pid {row['pid']} on {row['host']}"
    if row.get("command"):
        text += f", `{row['command']}`"
    if since is not None:
        text += f", since {since:%Y-%m-%d %H:%M:%S} UTC"
    if seen is not None:
        text += f", last heard {seen:%H:%M:%S} UTC"
    return text


@dataclass(frozen=True)
class SqliteHolder:
    """Who writes a SQLite database: `held` is whether a live process has its writer lock now."""
    held: bool
    holder: dict


def sqlite_holder(db_path: str | Path) -> SqliteHolder:
    """Read `<db>.lock` (writer_lock.py) without taking it: whether a process holds it, and who."""
    lock_path = lock_path_for(Path(db_path))
    if not lock_path.exists():
        return SqliteHolder(False, {})
    fd = os.open(lock_path, os.O_RDONLY)
    try:
        holder = _read_holder(fd)
        held = False
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)  # refused while a writer holds LOCK_EX
                fcntl.flock(fd, fcntl.LOCK_UN)
            except OSError:
                held = True
        return SqliteHolder(held, holder if held else {})
    finally:
        os.close(fd)
