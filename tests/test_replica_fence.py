"""A deposed leader sends nothing (issue 18, fencing): a leader frozen after it claimed a row — a VM
pause, long enough for the server to drop its lock session — resumes after a standby took over and sent
that row; it must not send the row again (a persona post carries no nonce: Discord would show it
twice), and it must stop. On PostgreSQL only: SQLite has one process per database.

The freeze is played in one process: leader A's outbox stops between its claim and its send (its
`_send_one` waits), A's monotonic clock moves on as a frozen process's does, the server ends A's lock
session (pg_terminate_backend, as it does once A's keepalives go unanswered), standby B takes the lock
and runs the outbox; then A resumes. Each replica has its own sender, counting its requests."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from bot.clock import FakeClock
from bot.db.connection import open_database
from bot.db.leader import FENCE_FRESH, Fenced, Leadership, LeadershipLost, fence_for
from bot.leading import leading
from bot.db.transfer import parse_target
from bot.services.messages import OutMessage, Sent, Target
from bot.services.outbox import Outbox, OutboxSettings

T0 = datetime(2026, 12, 10, 11, 0, tzinfo=timezone.utc)
GUILD = 1
FROZEN = 12.0  # seconds A stays frozen: past the ~11 s after which the server drops a silent session

MESSAGES = {
    "persona post": (Target("channel", "lounge"), OutMessage(content="the weekly digest", as_persona=True)),
    "bot post": (Target("channel", "lounge"), OutMessage(content="the weekly digest")),
    "forum post": (Target("channel", "help"), OutMessage(content="how to join", thread_name="How to join",
                                                          tags=("guide",))),
    "DM": (Target("dm", "7001"), OutMessage(content="your code is REPL-0001")),
}


class Discord:
    """What both replicas posted, in order; a nonce seen before returns the first message (Discord's
    enforce_nonce), as the real one does within a few minutes."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, str, str]] = []  # (replica, target, content)
        self.by_nonce: dict[str, Sent] = {}


class ReplicaSender:
    def __init__(self, discord: Discord, name: str) -> None:
        self.discord, self.name = discord, name
        self.requests: list[str] = []  # every request this replica made to Discord

    async def send(self, guild_id, target, message, *, nonce=None) -> Sent:
        self.requests.append(f"send {target.kind}:{target.value} {message.content}")
        if nonce is not None and nonce in self.discord.by_nonce:
            return self.discord.by_nonce[nonce]
        self.discord.posts.append((self.name, f"{target.kind}:{target.value}", message.content))
        sent = Sent(message_id=1000 + len(self.discord.posts))
        if nonce is not None:
            self.discord.by_nonce[nonce] = sent
        return sent

    async def find(self, guild_id, target, message, *, since, exclude) -> Sent | None:
        self.requests.append(f"find {target.kind}:{target.value}")
        for i, (_, where, content) in enumerate(self.discord.posts):
            if where == f"{target.kind}:{target.value}" and content == message.content and 1001 + i not in exclude:
                return Sent(message_id=1001 + i)
        return None


class Monotonic:
    """A replica's monotonic clock, moved by the test (a frozen process finds it moved on)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Replica:
    """One `run` process of the community: its lock session, its database, its outbox under the lead."""

    def __init__(self, name: str, discord: Discord) -> None:
        self.name, self.discord = name, discord
        self.monotonic = Monotonic()
        self.sender = ReplicaSender(discord, name)

    async def open(self, url: str) -> "Replica":
        target = parse_target(url)
        self.leadership = await Leadership.connect(target.dsn, target.schema, settle=0)
        self.db = await open_database(url)
        return self

    async def lead(self) -> None:
        assert await self.leadership.try_lead(), f"{self.name} could not take the lead"
        token = leading.set(self.leadership)  # as run_leading does for the bot's task
        try:
            fence = fence_for(self.db, leading.get())  # what App.open gives its outbox
        finally:
            leading.reset(token)
        assert fence is not None
        fence.monotonic = self.monotonic
        self.outbox = Outbox(self.db, FakeClock(T0), OutboxSettings(pace=False))
        self.outbox.fence = fence
        self.outbox.sender = self.sender

    async def close(self) -> None:
        if hasattr(self, "outbox"):
            await self.outbox.stop()
        await self.db.close()
        await self.leadership.release()


@pytest.fixture
async def replicas(postgres_database):
    """Two replicas of one community: a migrated database on the session's PostgreSQL server."""
    discord = Discord()
    a = await Replica("A", discord).open(postgres_database)
    b = await Replica("B", discord).open(postgres_database)
    try:
        yield a, b, discord
    finally:
        await a.close()
        await b.close()


async def _server_drops_lock_session(replica: Replica, other: Replica) -> None:
    # with a timeout it returns once the backend has ended (and its lock with it)
    assert await other.db.fetchval("SELECT pg_terminate_backend(?, 30000)", (replica.leadership.session_pid,))


async def _deposed_with_a_post_pending(a: Replica, b: Replica, dedupe_key: str) -> OutMessage:
    """A leads and queues a persona post (returned); before A sends anything the server ends A's lock
    session and B takes over."""
    target, message = MESSAGES["persona post"]
    await a.lead()
    await a.outbox.post(GUILD, target, message, dedupe_key=dedupe_key)
    await _server_drops_lock_session(a, b)
    await b.lead()
    return message


def _frozen_after_claim(outbox: Outbox) -> tuple[asyncio.Future, asyncio.Event]:
    """A's outbox stops right after its claim committed, before the send: (claimed row, resume)."""
    claimed: asyncio.Future = asyncio.get_running_loop().create_future()
    resume = asyncio.Event()
    send_one = outbox._send_one

    async def frozen(row, **kwargs):
        if not claimed.done():
            claimed.set_result(row)
        await resume.wait()
        return await send_one(row, **kwargs)

    outbox._send_one = frozen
    return claimed, resume


async def _status(db, key: str) -> tuple[str, int]:
    row = await db.fetchone("SELECT status, attempts FROM outbox WHERE dedupe_key = ?", (key,))
    return row["status"], row["attempts"]


@pytest.mark.parametrize("kind", list(MESSAGES))
async def test_a_leader_frozen_after_its_claim_sends_nothing_once_a_standby_took_over(replicas, kind):
    a, b, discord = replicas
    target, message = MESSAGES[kind]
    await a.lead()
    await a.outbox.post(GUILD, target, message, dedupe_key="digest:1")
    claimed, resume = _frozen_after_claim(a.outbox)
    a_drain = asyncio.ensure_future(a.outbox.drain())
    row = await claimed
    assert row["attempts"] == 1 and await _status(a.db, "digest:1") == ("sending", 1)

    a.monotonic.now += FROZEN  # A is frozen; the server gives up its silent lock session
    await _server_drops_lock_session(a, b)
    await b.lead()  # B raises the leader term, recovers A's half-sent row and sends it (looking first)
    assert [r["dedupe_key"] for r in await b.outbox.recover()] == ["digest:1"]
    assert await b.outbox.drain() == 1
    assert [(who, content) for who, _, content in discord.posts] == [("B", message.content)]

    resume.set()  # A runs again, in the middle of its send
    (outcome,) = await asyncio.gather(a_drain, return_exceptions=True)
    assert a.sender.requests == []  # not one request to Discord
    assert [(who, content) for who, _, content in discord.posts] == [("B", message.content)]
    assert isinstance(outcome, Fenced) and "has another leader now" in str(outcome)
    assert await _status(b.db, "digest:1") == ("sent", 2)
    # and A stops: the fence stays shut, and its heartbeat raises at once
    assert isinstance(a.leadership.lost, Fenced)
    with pytest.raises(Fenced):
        await a.outbox.drain()
    with pytest.raises(LeadershipLost):
        await a.leadership.watch()
    assert a.sender.requests == []


async def test_a_deposed_leader_claims_nothing_and_its_successor_sends_the_row(replicas):
    """A was cut off before its claim: its claim statement finds B's term and claims nothing."""
    a, b, discord = replicas
    message = await _deposed_with_a_post_pending(a, b, "digest:2")
    (outcome,) = await asyncio.gather(a.outbox.drain(), return_exceptions=True)
    assert a.sender.requests == [] and await _status(a.db, "digest:2") == ("pending", 0)
    assert isinstance(outcome, Fenced)
    assert await b.outbox.drain() == 1
    assert [(who, content) for who, _, content in discord.posts] == [("B", message.content)]


async def test_a_leader_whose_term_moved_stops_before_its_next_heartbeat(replicas):
    """The fence wakes the heartbeat (Leadership.watch), so `run` exits at once (LOST_EXIT), not at
    the next check, even while the lock session still answers."""
    a, b, discord = replicas
    a.leadership.heartbeat = 3600.0  # the watch would sleep for an hour after its first check
    await a.lead()
    await a.outbox.post(GUILD, *MESSAGES["bot post"], dedupe_key="digest:3")
    watch = asyncio.ensure_future(a.leadership.watch())
    await asyncio.sleep(0)
    await b.db.execute("UPDATE leader_term SET term = term + 1 WHERE slot = 1")  # another leader's term
    with pytest.raises(Fenced):
        await a.outbox.drain()
    with pytest.raises(Fenced):
        await asyncio.wait_for(watch, timeout=30)  # a hang guard, not a timing assertion
    assert a.sender.requests == []


def _count_statements(db) -> list[str]:
    seen: list[str] = []
    call = db._call

    async def counting(method, sql, params):
        seen.append(sql)
        return await call(method, sql, params)

    db._call = counting
    return seen


async def test_the_fence_costs_no_round_trip_while_claims_keep_coming(replicas):
    """A healthy leader's drain takes as many statements as an unfenced one: the term is checked in the
    claim statements themselves."""
    a, b, discord = replicas
    await a.lead()
    targets = [Target("channel", f"c{i % 3}") for i in range(12)]

    async def drain(outbox: Outbox, prefix: str) -> list[str]:
        for i, target in enumerate(targets):
            await outbox.post(GUILD, target, OutMessage(content=f"{prefix} {i}", as_persona=True),
                              dedupe_key=f"{prefix}:{i}")
        seen = _count_statements(a.db)
        try:
            assert await outbox.drain() == len(targets)
        finally:
            del a.db._call
        return seen

    fenced = await drain(a.outbox, "fenced")
    plain = Outbox(a.db, FakeClock(T0), OutboxSettings(pace=False))
    plain.sender = ReplicaSender(discord, "A")
    unfenced = await drain(plain, "plain")
    # besides: the look for rows a deposed leader left 'sending', once per ORPHANS_EVERY
    orphans = [sql for sql in fenced if "claimed_term <" in sql]
    assert len(orphans) == 1
    assert len(fenced) - 1 == len(unfenced) and sum("leader_term" in sql for sql in fenced) > 0
    assert len(discord.posts) == 2 * len(targets)


async def test_a_leader_that_was_only_slow_sends_after_one_shared_check(replicas):
    """Claims proved the lead too long ago (the process stalled): one SELECT of the term, shared by
    every send waiting at that moment, renews the proof, and the rows go out."""
    a, b, discord = replicas
    await a.lead()
    for i in range(6):
        await a.outbox.post(GUILD, Target("channel", f"c{i}"), OutMessage(content=f"post {i}", as_persona=True),
                            dedupe_key=f"slow:{i}")
    claimed, resume = _frozen_after_claim(a.outbox)
    drained = asyncio.ensure_future(a.outbox.drain())
    await claimed
    for _ in range(20):  # every target's sender has reached the freeze
        await asyncio.sleep(0)
    a.monotonic.now += FENCE_FRESH * 10
    seen = _count_statements(a.db)
    resume.set()
    assert await drained == 6
    del a.db._call
    assert [sql for sql in seen if "leader_term" in sql] == ["SELECT term FROM leader_term WHERE slot = 1"]
    assert len(a.sender.requests) == 6 and a.leadership.lost is None


async def test_a_row_a_deposed_leader_claimed_after_its_successor_started_is_taken_back(replicas):
    """A froze between its claim statement and its commit; the commit landed after B's start-up
    recovery, leaving the row 'sending' under A's term. B takes it back within ORPHANS_EVERY and
    sends it once (looking first: A might have sent it)."""
    a, b, discord = replicas
    message = await _deposed_with_a_post_pending(a, b, "digest:4")
    assert await b.outbox.recover() == []
    old_term = a.leadership.term
    assert b.leadership.term == old_term + 1
    await b.db.execute("UPDATE outbox SET status = 'sending', attempts = 1, claimed_term = ? WHERE dedupe_key = ?",
                       (old_term, "digest:4"))  # A's late commit
    assert await b.outbox.drain() == 1  # its first drain looks at once
    assert [(who, content) for who, _, content in discord.posts] == [("B", message.content)]
    assert b.sender.requests == ["find channel:lounge", "send channel:lounge the weekly digest"]
    assert await _status(b.db, "digest:4") == ("sent", 2)


class EventsPort:
    """Discord's scheduled events, as the live-events service reaches them: counts the creations."""

    def __init__(self) -> None:
        self.created: list[str] = []

    async def create_event(self, guild_id, *, name, **kwargs) -> int:
        self.created.append(name)
        return 9000 + len(self.created)


async def test_a_deposed_leader_creates_no_discord_event(replicas):
    """The other write that reaches Discord outside the outbox and is not idempotent: creating a
    scheduled event (an AMA's, a schedule's `event:`). A deposed leader creates none."""
    from types import SimpleNamespace

    from bot.services.live_events import LiveEventsService

    a, b, discord = replicas
    await a.lead()
    port = EventsPort()
    app = SimpleNamespace(db=a.db, clock=FakeClock(T0), outbox=a.outbox, scheduled_events_port=port)
    live = LiveEventsService(app)
    a.monotonic.now += FROZEN
    await _server_drops_lock_session(a, b)
    await b.lead()
    (outcome,) = await asyncio.gather(live.create(
        GUILD, source="ama:1", name="Ask the designers", description="", starts_at=T0 + timedelta(days=1),
        ends_at=T0 + timedelta(days=1, hours=1), remind_before=None), return_exceptions=True)
    assert port.created == []
    assert isinstance(outcome, Fenced)


@pytest.mark.sqlite_only("SQLite's own behaviour: one process per database, nothing to fence")
async def test_on_sqlite_nothing_is_fenced(tmp_path):
    db = await open_database(tmp_path / "k.db")
    try:
        token = leading.set(object())  # even under a lead (there is none on SQLite)
        try:
            assert fence_for(db, leading.get()) is None
        finally:
            leading.reset(token)
    finally:
        await db.close()
