"""A member's submission and the posts it causes are one transaction: a crash between them can leave
neither, never one without the other. And rows an older version left without their posts are
repaired at start (once: the outbox dedupe key).

Submissions: a feedback item (public post; the mod-queue copy when flagged), an application (its
queue card), an AMA question (its post in the thread), a prompt suggestion (its mod-queue card)."""
from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import datetime, timezone

import pytest

from bot.app import App
from bot.clock import FakeClock
from bot.config import load_config
from bot.config.loader import Config
from bot.db.connection import to_db_time
from bot.errors import UserError
from bot.services.ama import MAX_QUESTIONS_PER_MEMBER
from bot.services.messages import Sent

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
GUILD = 1000
ALICE, BOB, GUEST, MOD = 11, 12, 13, 99


class Killed(Exception):
    """Stands for the process dying at this point."""


class RecordingSender:
    def __init__(self) -> None:
        self.sent = []

    async def send(self, guild_id, target, message):
        self.sent.append((target, message))
        return Sent(message_id=7000 + len(self.sent), channel_id=77,
                    extra={"thread_id": 501} if message.thread_name else {})


class FakeGuild:
    def __init__(self) -> None:
        self.roles = {ALICE: {"visitor"}, BOB: {"member"}, GUEST: {"member"}, MOD: {"moderator", "member"}}

    async def add_role(self, guild_id, user_id, role_key, reason=""):
        self.roles.setdefault(user_id, set()).add(role_key)
        return True

    async def remove_role(self, guild_id, user_id, role_key, reason=""):
        self.roles.get(user_id, set()).discard(role_key)
        return True

    async def member_role_keys(self, guild_id, user_id):
        return set(self.roles.get(user_id, ()))

    async def members_with_role(self, guild_id, role_key):
        return sorted(u for u, keys in self.roles.items() if role_key in keys)

    async def display_names(self, guild_id, user_ids):
        return {}  # names unknown (the exports leave them blank)


def approval_config() -> Config:
    config = load_config("config")
    community = config.community
    ms = community.membership.model_copy(update={"mode": "approval"})
    return dataclasses.replace(config, community=community.model_copy(update={"membership": ms}))


async def open_app(path) -> App:
    app = await App.open(approval_config(), db_path=path, clock=FakeClock(T0), real_scheduler=False)
    app.outbox.sender = RecordingSender()
    app.guild = FakeGuild()
    app.guild_id = GUILD
    await app.start()
    return app


def kill_when_queuing(app, prefix: str) -> list[str]:
    """Make the outbox "die" when a message whose dedupe key starts with `prefix` is queued, whether
    the service queues it on its own (`post`) or inside its transaction (`post_in`)."""
    seen: list[str] = []
    post, post_in = app.outbox.post, app.outbox.post_in

    async def dying_post(*args, dedupe_key, **kw):
        seen.append(dedupe_key)
        if dedupe_key.startswith(prefix):
            raise Killed(dedupe_key)
        return await post(*args, dedupe_key=dedupe_key, **kw)

    async def dying_post_in(tx, *args, dedupe_key, **kw):
        seen.append(dedupe_key)
        if dedupe_key.startswith(prefix):
            raise Killed(dedupe_key)
        return await post_in(tx, *args, dedupe_key=dedupe_key, **kw)

    app.outbox.post, app.outbox.post_in = dying_post, dying_post_in
    return seen


async def expected_posts(db) -> dict[str, str]:
    """Every stored submission -> the dedupe keys its posts must have (what a member or moderator
    must be able to see)."""
    want = {}
    for r in await db.fetchall("SELECT id, flagged FROM feedback_items"):
        want[f"feedback:post:{r['id']}"] = f"feedback #{r['id']}"
        if r["flagged"]:
            want[f"feedback:queue:{r['id']}"] = f"feedback #{r['id']} (flagged)"
    for r in await db.fetchall("SELECT id FROM applications WHERE status = 'pending'"):
        want[f"membership:queue:{r['id']}"] = f"application #{r['id']}"
    for r in await db.fetchall("SELECT q.id FROM ama_questions q JOIN ama_sessions s ON s.id = q.session_id"
                               " WHERE s.status = 'open'"):
        want[f"ama:question:{r['id']}"] = f"question #{r['id']}"
    for r in await db.fetchall("SELECT id FROM prompt_suggestions WHERE status = 'pending'"):
        want[f"prompt-suggestion:{r['id']}"] = f"suggestion #{r['id']}"
    return want


async def missing_posts(db) -> list[str]:
    keys = {r[0] for r in await db.fetchall("SELECT dedupe_key FROM outbox")}
    return sorted(what for key, what in (await expected_posts(db)).items() if key not in keys)


async def open_ama(app) -> int:
    session = await app.ama.open(GUILD, actor_id=MOD, guest_id=GUEST, topic="Blending winter teas")
    await app.outbox.drain()
    return session.id


async def submit_feedback(app):
    await app.feedback.submit(GUILD, BOB, category="product", title="Broken lid",
                              text="The lid is terrible and I want a refund.")


async def submit_application(app):
    await app.membership.apply(GUILD, ALICE, {"favourite": "Hojicha", "why": "I love roasted teas.", "rules": True})


async def submit_question(app):
    await app.ama.ask(GUILD, BOB, "What is your favourite blend?")


async def submit_suggestion(app):
    await app.participation.prompts.suggest(GUILD, BOB, "What tea did you drink this morning?")


SUBMISSIONS = {
    # name: (submit, the dedupe key prefix of the post to die on)
    "feedback, killed at its public post": (submit_feedback, "feedback:post:"),
    "feedback, killed at its mod-queue copy": (submit_feedback, "feedback:queue:"),
    "application, killed at its queue card": (submit_application, "membership:queue:"),
    "ama question, killed at its post": (submit_question, "ama:question:"),
    "prompt suggestion, killed at its card": (submit_suggestion, "prompt-suggestion:"),
}


@pytest.mark.parametrize("name", SUBMISSIONS)
async def test_a_kill_between_a_submission_and_its_posts_never_leaves_one_without_the_other(tmp_path, name):
    submit, prefix = SUBMISSIONS[name]
    app = await open_app(tmp_path / "k.db")
    await open_ama(app)
    seen = kill_when_queuing(app, prefix)
    with pytest.raises(Killed):
        await submit(app)
    assert any(k.startswith(prefix) for k in seen)  # the fault did fire where it was meant to
    await app.close()

    app = await open_app(tmp_path / "k.db")  # the restart
    try:
        assert await missing_posts(app.db) == []
        # and the member can simply submit again: nothing half-done stands in the way
        await submit(app)
        assert await missing_posts(app.db) == []
        await app.outbox.drain()
        assert app.outbox.sender.sent, "the new submission's posts went out"
    finally:
        await app.close()


@pytest.mark.parametrize("name", SUBMISSIONS)
async def test_every_submission_writes_its_posts_with_it(tmp_path, name):
    submit, prefix = SUBMISSIONS[name]
    app = await open_app(tmp_path / "k.db")
    try:
        await open_ama(app)
        await submit(app)
        assert await expected_posts(app.db)  # something was stored...
        assert await missing_posts(app.db) == []  # ...with all its posts
    finally:
        await app.close()


async def write_as_an_older_version(db) -> None:
    """Rows as an older Kizuna left them when it died between a submission and its posts."""
    now = to_db_time(T0)
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO feedback_items (guild_id, author_id, category, title, text, anonymous, flagged, flag_reasons,"
            " source_url, created_at, updated_at) VALUES (?, ?, 'product', 'Lost',"
            " 'A lost [item](https://evil.example)', 0, 0, '', NULL, ?, ?)", (GUILD, BOB, now, now))
        await tx.execute(
            "INSERT INTO feedback_items (guild_id, author_id, category, title, text, anonymous, flagged, flag_reasons,"
            " source_url, created_at, updated_at) VALUES (?, ?, 'product', 'Scam?', 'Is this a scam?', 1, 1,"
            " 'keyword: scam', NULL, ?, ?)", (GUILD, BOB, now, now))
        await tx.execute(
            "INSERT INTO applications (guild_id, user_id, status, answers, created_at, expires_at)"
            " VALUES (?, ?, 'pending', ?, ?, ?)",
            (GUILD, ALICE, json.dumps([{"key": "why", "label": "Why?", "answer": "tea"}]), now,
             to_db_time(T0.replace(day=14))))
        session_id = await tx.fetchval("SELECT id FROM ama_sessions WHERE status = 'open'")
        await tx.execute("INSERT INTO ama_questions (session_id, author_id, text, asked_at) VALUES (?, ?, ?, ?)",
                         (session_id, BOB, "Lost question?", now))
        await tx.execute("INSERT INTO prompt_suggestions (guild_id, user_id, text, created_at) VALUES (?, ?, ?, ?)",
                         (GUILD, BOB, "A lost suggestion for the pool", now))


async def test_start_up_repairs_submissions_an_older_version_left_without_their_posts(tmp_path):
    app = await open_app(tmp_path / "k.db")
    await open_ama(app)
    await write_as_an_older_version(app.db)
    assert len(await missing_posts(app.db)) == 6  # 2 public posts, 1 mod copy, 1 card, 1 question, 1 suggestion
    await app.close()

    app = await open_app(tmp_path / "k.db")
    try:
        assert await missing_posts(app.db) == []
        await app.outbox.drain()
        texts = "\n".join(json.loads(m.to_json()).__repr__() for _, m in app.outbox.sender.sent)
        for words in ("A lost", "Is this a scam?", "Lost question?", "A lost suggestion for the pool"):
            assert words in texts
        assert "[item](https" not in texts  # repaired posts are relayed safely too
        count = await app.db.fetchval("SELECT COUNT(*) FROM outbox")
    finally:
        await app.close()

    app = await open_app(tmp_path / "k.db")  # a second start repairs nothing more, sends nothing twice
    try:
        assert await app.db.fetchval("SELECT COUNT(*) FROM outbox") == count
        await app.outbox.drain()
        assert app.outbox.sender.sent == []
    finally:
        await app.close()


async def test_the_applicant_of_a_repaired_application_is_not_stuck(tmp_path):
    """The reported case: a pending application without a queue card blocked reapplying for 14 days.
    After the repair the moderators see it and can decide it."""
    app = await open_app(tmp_path / "k.db")
    await open_ama(app)
    await write_as_an_older_version(app.db)
    await app.close()
    app = await open_app(tmp_path / "k.db")
    try:
        await app.outbox.drain()
        cards = [m for t, m in app.outbox.sender.sent if t.value == "mod-queue" and m.buttons
                 and m.buttons[0].custom_id.startswith("kizuna:app:approve:")]
        assert len(cards) == 1
        application_id = int(cards[0].buttons[0].custom_id.rsplit(":", 1)[1])
        decision = await app.membership.applications.approve(application_id, MOD)
        assert decision.approved
    finally:
        await app.close()


async def test_simultaneous_questions_respect_the_per_member_limit(tmp_path):
    """The limit is counted in the question's own transaction, so a burst cannot slip past it."""
    app = await open_app(tmp_path / "k.db")
    try:
        await open_ama(app)
        results = await asyncio.gather(*(app.ama.ask(GUILD, BOB, f"Question number {n}?") for n in range(8)),
                                       return_exceptions=True)
        refused = [r for r in results if isinstance(r, UserError)]
        assert len(results) - len(refused) == MAX_QUESTIONS_PER_MEMBER
        assert {r.key for r in refused} == {"ama.too_many_questions"}
        assert await app.db.fetchval("SELECT COUNT(*) FROM ama_questions") == MAX_QUESTIONS_PER_MEMBER
        assert await missing_posts(app.db) == []
    finally:
        await app.close()
