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

Fencing the outbox (a leader frozen *after* it claimed a row: a VM pause, SIGSTOP, a stalled event loop).
The checks above cannot stop a process that is not running. So every leader raises the community's
`leader_term` (migration 0026) on its lock session the moment it takes the lock, before its App
recovers anything, and the outbox of a PostgreSQL leader proves it is still the leader in the database
before a claimed row reaches Discord (`Fence`, below): a deposed leader claims nothing and sends
nothing, and exits as on LeadershipLost.

Each process also keeps a row in `replica_nodes` (host, pid, command, role, since, last heartbeat): what
`python -m bot status` shows. The rows only describe; the lock decides (status asks `pg_locks` which
session holds it). On SQLite there is one process per database (the writer lock, writer_lock.py):
`sqlite_holder` tells status who it is.
"""
from __future__ import annotations

import asyncio
import logging
import os
import time
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
RUNTIME_TABLES = frozenset({"replica_nodes", "leader_term"})

# How long (this process's monotonic clock) a proof of leadership is good for a send (see `Fence`). A new
# leader waits as long after raising the term before it recovers or sends anything (`settle`), so any
# proof its predecessor took before the raise has expired by then. Small beside a takeover (seconds).
FENCE_FRESH = 0.2


class LeadershipLost(RuntimeError):
    """The leader's lock session ended or stopped answering: this process must stop leading now."""


class Fenced(LeadershipLost):
    """The database shows another leader's term: this process was deposed (it was frozen or cut off
    while a standby took over). It must not claim or send anything more."""

    def __init__(self, message: str, *, term: int | None = None, seen: int | None = None) -> None:
        super().__init__(message)
        self.term, self.seen = term, seen



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
# a new leader's term: on its lock session, so only a session that holds the lock can raise it
_RAISE_TERM = """
INSERT INTO leader_term (slot, term, node, since) VALUES (1, 1, $1, $2)
ON CONFLICT (slot) DO UPDATE SET term = leader_term.term + 1, node = excluded.node, since = excluded.since
RETURNING term
"""
_TERM_SQL = "SELECT term FROM leader_term WHERE slot = 1"
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
                 timeout: float = TIMEOUT, settle: float = FENCE_FRESH) -> None:
        self.conn = conn
        self.schema = schema
        self.key = community_key(schema)
        self.poll, self.heartbeat, self.timeout = poll, heartbeat, timeout
        self.settle = settle  # after raising the term: the old leader's last proof has expired (Fence)
        me = this_process()
        self.host, self.pid, self.command = me["host"], int(me["pid"]), me["command"]
        self.started_at = _now()
        self.node = f"{self.host}:{self.pid}:{self.started_at:%Y%m%dT%H%M%S%f}"
        self.leader_since: datetime | None = None
        self.session_pid: int | None = None
        self.term: int | None = None  # the leader_term this process raised when it took the lead
        self.lost: LeadershipLost | None = None  # set by `lose` (the outbox's fence): watch raises it
        self._lost_event: asyncio.Event | None = None
        self._session = asyncio.Lock()  # one statement at a time on the lock session (asyncpg's rule)

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
        async with self._session:
            took = await self.conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", LOCK_CLASS, self.key,
                                            timeout=self.timeout)
        if took:
            self.leader_since = _now()
            # before anything else: the old leader is fenced, and whatever it proved before the raise
            # is too old to send on once this returns (its sends need a proof younger than FENCE_FRESH)
            if await self._raise_term(missing_ok=True) is not None and self.settle:
                await asyncio.sleep(self.settle)
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
            async with self._session:
                return (await leader_report(self.conn, self.schema)).get("leader")
        except Exception:  # a fresh database without the table yet: nothing to say
            return None

    async def _raise_term(self, *, missing_ok: bool = False) -> int | None:
        """Raise the community's leader_term on the lock session (a statement that runs there proves
        the lock is still held: it goes with the session) and keep it as this process's term. With
        `missing_ok`, a database whose tables the App has not made yet gives None (`term_now` raises
        it once they exist); any other failure is LeadershipLost."""
        import asyncpg

        try:
            async with self._session:
                self.term = await self.conn.fetchval(_RAISE_TERM, self.node, _text_time(_now()), timeout=self.timeout)
        except asyncpg.UndefinedTableError:
            if missing_ok:
                return None
            raise LeadershipLost(f"{self.schema} has no leader_term table: the database is not migrated")
        except Exception as exc:
            raise LeadershipLost(f"the leader's lock session for {self.schema} stopped answering: "
                                 f"{type(exc).__name__}: {exc}") from exc
        log.info("leader term %s of community %s", self.term, self.schema)
        return self.term

    async def term_now(self) -> int:
        """This process's term, raised now if the tables did not exist when it took the lead."""
        if self.term is None:
            await self._raise_term()
        return self.term

    def lose(self, exc: LeadershipLost) -> None:
        """The outbox's fence found this process deposed: `watch` raises `exc` at once."""
        if self.lost is None:
            self.lost = exc
        if self._lost_event is not None:
            self._lost_event.set()

    async def _pause(self, seconds: float) -> None:
        """Sleep between heartbeats, woken at once by `lose`."""
        if self._lost_event is None:
            self._lost_event = asyncio.Event()
        if self.lost is None:
            try:
                await asyncio.wait_for(self._lost_event.wait(), seconds)
            except asyncio.TimeoutError:
                pass
        if self.lost is not None:
            raise self.lost

    async def check(self) -> None:
        """Raise LeadershipLost unless this session still holds the lock and answers within TIMEOUT."""
        if self.lost is not None:
            raise self.lost
        try:
            mine = await asyncio.wait_for(self._fetchval(_MINE_SQL, LOCK_CLASS, self.key), self.timeout)
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
            await self._pause(self.heartbeat if noted else min(self.heartbeat, 0.2))

    async def _fetchval(self, sql: str, *args: Any) -> Any:
        async with self._session:
            return await self.conn.fetchval(sql, *args)

    async def _forget_old(self) -> None:
        """The new leader clears rows of processes not heard from for a week (each start adds one)."""
        try:
            async with self._session:
                await self.conn.execute("DELETE FROM replica_nodes WHERE seen_at < $1",
                                        _text_time(_now() - timedelta(seconds=FORGET_AFTER_SECONDS)),
                                        timeout=self.timeout)
        except Exception as exc:  # no table yet: nothing to clear
            log.debug("could not clear old replica rows: %s", exc)

    async def _note(self, role: str | None = None) -> bool:
        """Write this process's row (best effort: a database whose tables the leader has not created
        yet has no `replica_nodes`; the next heartbeat writes it). True when written."""
        role = role or ("leader" if self.leading else "standby")
        try:
            async with self._session:
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


class Fence:
    """A leader's proof, in the database, that it still leads, taken before its outbox hands a claimed
    row to Discord (issue 18): a leader that was frozen (a VM pause) or cut off while a standby took
    over must not send what it had claimed. Persona (webhook) posts and forum posts carry no nonce, so
    nothing on Discord's side would turn such a second copy away.

    How. Each leader raises the community's `leader_term` (migration 0026) on its lock session when it
    takes the lock (only a session holding the lock can run that statement), then waits FENCE_FRESH
    before its App recovers or sends anything. The outbox claims rows in statements that compare that
    term with this process's own (bot/db/outbox.py `journal`: the comparison is part of the claim
    statement, so it costs no round trip at all); each claim that finds its own term proves the lead as
    of the moment it was sent (`proven_at`: this process's monotonic clock, read before the statement
    left). Just before each request to Discord (`confirm()`: a post, a webhook post, an edit) a proof
    younger than FENCE_FRESH lets the request through; an older one (the process was frozen or slow
    since its last claim) is renewed with one SELECT of the term, shared by every send waiting at that
    moment (so at most one extra round trip per FENCE_FRESH, none while claims keep coming). Another
    leader's term trips the fence: every later claim and send raises `Fenced` without asking the
    database, and `Leadership.watch` raises it at once, so `run` exits (LOST_EXIT) as on LeadershipLost.

    Why a term rather than asking pg_locks whether the lock session's backend still holds the lock: the
    term is one row read by primary key in the claim statement itself (pg_lock_status() copies the
    server's whole lock table under all its partition locks, on every claim), it cannot be fooled by a
    backend pid reused after the old session died, and it keeps working through a connection pooler.

    The window that remains. `confirm()` is the last thing the outbox does before the sender's call:
    a request leaves at most FENCE_FRESH (0.2 s) of this process's monotonic time after the start of a
    statement in which the database confirmed its term, and a new leader recovers and sends nothing
    until FENCE_FRESH after raising the term; so a deposed leader whose clock counted its freeze makes
    no request once its successor may be sending. Not covered: (1) a freeze its monotonic clock does
    not count (a VM whose clocks the hypervisor holds still while paused) landing in those 0.2 s after
    a proof; (2) a freeze inside the sender after `confirm()` returned (discord.py's route lock and
    rate-limit waits, a persona's webhook lookup, the socket write): only Discord checking the term
    could close that one. A frozen leader loses its lock only when the server drops its session (about
    11 s of silence: a VM pause, a network cut) or an operator ends it; a SIGSTOPped process's kernel
    keeps answering keepalives, so its lock stays until it resumes. A leader frozen between a claim
    statement and its COMMIT leaves that row 'sending' under its old term: the new leader takes it
    back (bot/db/outbox.py `recover_orphans`, every 30 s) and checks it did not go out before sending.
    """

    def __init__(self, leadership: "Leadership", db: Any, *, fresh: float = FENCE_FRESH,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.leadership = leadership
        self.db = db
        self.fresh = fresh
        self.monotonic = monotonic
        self.proven_at: float | None = None
        self._renewal: asyncio.Future | None = None

    @property
    def lost(self) -> LeadershipLost | None:
        return self.leadership.lost

    def _raise_if_lost(self) -> None:
        if self.leadership.lost is not None:
            raise self.leadership.lost

    async def claim_term(self) -> tuple[int, float]:
        """The term to claim under and the moment (monotonic) before the claim statement leaves; pass
        the moment to `proven` once a claim found the term its own, or call `deposed`."""
        self._raise_if_lost()
        started = self.monotonic()
        try:
            return await self.leadership.term_now(), started
        except LeadershipLost as exc:
            raise self.trip(exc) from None

    def proven(self, started: float) -> None:
        if self.proven_at is None or started > self.proven_at:
            self.proven_at = started

    def deposed(self, term: int, seen: int | None) -> LeadershipLost:
        return self.trip(Fenced(f"community {self.leadership.schema} has another leader now (leader term "
                                f"{seen}, this process's {term}): this process sends nothing more",
                                term=term, seen=seen))

    def trip(self, exc: LeadershipLost) -> LeadershipLost:
        """This process leads no more: say so once, wake `watch`; returns what every caller raises."""
        if self.leadership.lost is None:
            log.critical("%s", exc)
        self.leadership.lose(exc)
        return self.leadership.lost

    async def confirm(self) -> None:
        """Return only if this process still leads: called right before a request to Discord (see the
        class doc for the window). Raises LeadershipLost (Fenced) otherwise."""
        self._raise_if_lost()
        if self.proven_at is not None and self.monotonic() - self.proven_at <= self.fresh:
            return
        if self._renewal is None or self._renewal.done():
            self._renewal = asyncio.ensure_future(self._renew())
        await asyncio.shield(self._renewal)
        self._raise_if_lost()

    async def _renew(self) -> None:
        started = self.monotonic()
        try:
            term = await self.leadership.term_now()
            seen = await self.db.fetchval(_TERM_SQL)
        except LeadershipLost as exc:
            raise self.trip(exc) from None
        except Exception as exc:  # cannot tell: a leader that cannot prove it leads sends nothing
            raise self.trip(LeadershipLost(f"the leader term of {self.leadership.schema} could not be checked: "
                                           f"{type(exc).__name__}: {exc}")) from exc
        if seen != term:
            raise self.deposed(term, seen)
        self.proven(started)


def fence_for(db: Any, leadership: "Leadership | None") -> Fence | None:
    """The fence for an App's outbox on `db` when the bot runs under `leadership` (bot/leading.py) of
    that database's community on PostgreSQL; None otherwise (SQLite: one process per database)."""
    if leadership is None or getattr(db, "dialect", "sqlite") != "postgresql":
        return None
    if getattr(db, "schema", None) != leadership.schema:  # not the community it leads: nothing to prove
        log.warning("leading schema %s but the App opened schema %s: its outbox is not fenced",
                    leadership.schema, getattr(db, "schema", None))
        return None
    return Fence(leadership, db)


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
