"""The store: migrations once, idempotent, data survives reopen; the outbox sends once."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.clock import FakeClock
from bot.db import open_database
from bot.db.connection import available_migrations
from bot.services.messages import OutMessage, Sent, Target
from bot.services.outbox import Outbox, Undeliverable

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


async def test_migrations_apply_once_and_twice_changes_nothing(tmp_path, backend):
    db = await open_database(tmp_path / "k.db")
    versions = [row[0] for row in await db.fetchall("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == [v for v, _, _ in available_migrations()]
    assert await db.migrate() == []  # nothing left to apply
    if backend == "sqlite":
        assert await db.fetchval("PRAGMA journal_mode") == "wal"
        assert await db.fetchval("PRAGMA foreign_keys") == 1
    await db.close()
    db = await open_database(tmp_path / "k.db")
    assert await db.migrate() == []
    count = await db.fetchval("SELECT COUNT(*) FROM schema_migrations")
    assert count == len(available_migrations())
    await db.close()


async def test_data_survives_reopen(tmp_path):
    from bot.db import audit

    db = await open_database(tmp_path / "k.db")
    await audit.record(db, guild_id=1, actor_id=2, action="test", target="x", detail="", at=T0)
    await db.close()
    db = await open_database(tmp_path / "k.db")
    rows = await audit.recent(db, 1)
    assert [(r["actor_id"], r["action"], r["created_at"]) for r in rows] == [(2, "test", T0)]
    await db.close()


async def test_failed_transaction_rolls_back(tmp_path):
    db = await open_database(tmp_path / "k.db")
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO audit_log (guild_id, actor_id, action, created_at) VALUES (1, 1, 'a', 'x')")
            raise RuntimeError("boom")
    assert await db.fetchval("SELECT COUNT(*) FROM audit_log") == 0
    await db.close()


@pytest.mark.sqlite_only("transact_in_thread is the SQLite backend's thread hand-off")
async def test_transaction_in_the_database_thread_commits_or_rolls_back(tmp_path):
    """`transact_in_thread` (the claim batch's one hand-off) is built on aiosqlite's `_execute`: this
    fails loudly if an aiosqlite upgrade changes it."""
    import threading

    db = await open_database(tmp_path / "k.db")
    insert = "INSERT INTO audit_log (guild_id, actor_id, action, created_at) VALUES (1, 1, ?, 'x')"

    def write(conn, action):
        conn.execute(insert, (action,))
        return threading.get_ident(), conn.in_transaction

    thread, in_tx = await db.transact_in_thread(write, "kept")
    assert thread != threading.get_ident() and in_tx

    def fail(conn):
        conn.execute(insert, ("lost",))
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await db.transact_in_thread(fail)
    assert [r[0] for r in await db.fetchall("SELECT action FROM audit_log")] == ["kept"]
    async with db.transaction() as tx:  # the lock and the connection are free again
        await tx.execute(insert, ("after",))
    assert await db.fetchval("SELECT COUNT(*) FROM audit_log") == 2
    await db.close()


class RecordingSender:
    def __init__(self) -> None:
        self.sent: list[tuple[int, Target, OutMessage]] = []
        self.fail_dm = False

    async def send(self, guild_id, target, message):
        if target.kind == "dm" and self.fail_dm:
            raise Undeliverable("closed DMs")
        self.sent.append((guild_id, target, message))
        return Sent(message_id=len(self.sent))


async def test_outbox_sends_each_dedupe_key_once_even_across_reopen(tmp_path):
    clock = FakeClock(T0)
    db = await open_database(tmp_path / "k.db")
    outbox = Outbox(db, clock)
    outbox.sender = sender = RecordingSender()
    assert await outbox.post(1, Target.channel("lounge"), OutMessage("hi"), dedupe_key="k1") is not None
    assert await outbox.post(1, Target.channel("lounge"), OutMessage("hi"), dedupe_key="k1") is None
    assert await outbox.drain() == 1
    await db.close()
    db = await open_database(tmp_path / "k.db")
    outbox = Outbox(db, clock)
    outbox.sender = sender
    assert await outbox.post(1, Target.channel("lounge"), OutMessage("hi"), dedupe_key="k1") is None
    assert await outbox.drain() == 0
    assert [m.content for _, _, m in sender.sent] == ["hi"]
    await db.close()


async def test_outbox_waits_for_not_before_and_reports_undeliverable(tmp_path):
    clock = FakeClock(T0)
    db = await open_database(tmp_path / "k.db")
    outbox = Outbox(db, clock)
    outbox.sender = sender = RecordingSender()
    sender.fail_dm = True
    failures = []

    async def on_failure(row, error):
        failures.append((row["target"], error))

    outbox.on_failure(on_failure)
    await outbox.post(1, Target.dm(42), OutMessage("code"), dedupe_key="dm", not_before=T0 + timedelta(hours=1))
    assert await outbox.drain() == 0
    clock.advance(hours=1)
    assert await outbox.drain() == 1
    assert failures == [("42", "closed DMs")]
    assert sender.sent == []
    await db.close()


async def test_an_interrupted_send_that_cannot_be_checked_is_reported_not_resent_but_an_edit_is_redone(tmp_path):
    """A sender with neither a nonce nor a way to look (see tests/test_outbox_crash.py for one that has)."""
    clock = FakeClock(T0)
    db = await open_database(tmp_path / "k.db")
    outbox = Outbox(db, clock)
    outbox.sender = EditingSender()
    await outbox.post(1, Target.channel("quiz"), OutMessage("question"), dedupe_key="q")
    await outbox.drain()
    await outbox.post(1, Target.channel("lounge"), OutMessage("post"), dedupe_key="post")
    await outbox.post(1, Target.dm(7), OutMessage("dm"), dedupe_key="dm")
    await outbox.post(1, Target.channel("quiz"), OutMessage("closed", replaces="q"), dedupe_key="q:closed")
    from bot.db import outbox as repo

    await repo.claim_due(db, clock.now(), 10)  # as if the process died mid-send
    await db.close()
    db = await open_database(tmp_path / "k.db")
    outbox = Outbox(db, clock)
    outbox.sender = sender = EditingSender()
    unknown = []

    async def on_unknown(row):
        unknown.append(row["dedupe_key"])

    outbox.on_unknown(on_unknown)
    await outbox.recover()
    await outbox.drain()
    assert sorted(unknown) == ["dm", "post"]  # may have gone out, and no way to check: never twice
    assert sender.sent == []
    assert [(i, m.content) for _, i, m in sender.edits] == [(1, "closed")]  # an edit again changes nothing
    await db.close()


class EditingSender(RecordingSender):
    def __init__(self) -> None:
        super().__init__()
        self.edits: list[tuple[Target, int, OutMessage]] = []

    async def edit(self, guild_id, target, message_id, message):
        self.edits.append((target, message_id, message))
        return Sent(message_id=message_id)


@pytest.fixture
async def db(tmp_path):
    database = await open_database(tmp_path / "k.db")
    yield database
    await database.close()  # even when the test failed (an open connection's thread keeps pytest alive)


async def test_a_replacing_message_edits_the_one_sent_and_never_posts_a_new_one(db):
    from bot.db import outbox as repo

    clock = FakeClock(T0)
    outbox = Outbox(db, clock)
    outbox.sender = sender = EditingSender()
    await outbox.post(1, Target.channel("quiz"), OutMessage("Q1", as_persona=True), dedupe_key="q1")
    await outbox.post(1, Target.channel("quiz"), OutMessage("Q1 (closed)", replaces="q1"), dedupe_key="q1:closed")
    await outbox.drain()
    assert [m.content for _, _, m in sender.sent] == ["Q1"]
    [(target, message_id, message)] = sender.edits
    assert (target, message_id, message.content) == (Target.channel("quiz"), 1, "Q1 (closed)")
    assert message.as_persona  # edited the way it was posted (the persona's webhook)
    assert (await repo.by_key(db, "q1:closed"))["status"] == "sent"

    # the original still queued (later): the replacement waits for it, then edits it
    await outbox.post(1, Target.channel("quiz"), OutMessage("Q2"), dedupe_key="q2", not_before=T0 + timedelta(minutes=1))
    await outbox.post(1, Target.channel("quiz"), OutMessage("Q2 (closed)", replaces="q2"), dedupe_key="q2:closed")
    await outbox.drain()
    assert len(sender.edits) == 1 and (await repo.by_key(db, "q2:closed"))["status"] == "pending"
    clock.advance(minutes=1)
    await outbox.drain()
    assert [m.content for _, _, m in sender.sent] == ["Q1", "Q2"]
    assert [(i, m.content) for _, i, m in sender.edits] == [(1, "Q1 (closed)"), (2, "Q2 (closed)")]

    # nothing to edit (the original failed, or never existed): dropped with the reason, nothing posted
    sender.fail_dm = True
    await outbox.post(1, Target.dm(5), OutMessage("code"), dedupe_key="dm")
    await outbox.post(1, Target.dm(5), OutMessage("code (used)", replaces="dm"), dedupe_key="dm:used")
    await outbox.post(1, Target.channel("quiz"), OutMessage("?", replaces="nope"), dedupe_key="orphan")
    await outbox.drain()
    assert len(sender.sent) == 2 and len(sender.edits) == 2
    assert (await repo.by_key(db, "dm:used"))["status"] == "failed"
    orphan = await db.fetchone("SELECT status, error FROM outbox WHERE dedupe_key = 'orphan'")
    assert (orphan["status"], orphan["error"]) == ("failed", "nothing to edit: no such message")


async def test_a_sender_that_cannot_edit_drops_replacements_but_keeps_sending(db):
    clock = FakeClock(T0)
    outbox = Outbox(db, clock)
    outbox.sender = sender = RecordingSender()
    await outbox.post(1, Target.channel("quiz"), OutMessage("Q1"), dedupe_key="q1")
    await outbox.post(1, Target.channel("quiz"), OutMessage("Q1 (closed)", replaces="q1"), dedupe_key="q1:closed")
    await outbox.post(1, Target.channel("quiz"), OutMessage("Q2"), dedupe_key="q2")
    await outbox.drain()
    assert [m.content for _, _, m in sender.sent] == ["Q1", "Q2"]
    row = await db.fetchone("SELECT status, error FROM outbox WHERE dedupe_key = 'q1:closed'")
    assert (row["status"], row["error"]) == ("failed", "nothing to edit: the sender cannot edit messages")
