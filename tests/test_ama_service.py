"""AMA rules on a real SQLite file: one session at a time, one upvote per member, ranked questions,
answers quoted in the thread, a summary at close, the guest role given and taken back, expiry."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from bot.app import App
from bot.clock import FakeClock
from bot.config import load_config
from bot.errors import UserError
from bot.services.ama import parse_until, quote
from bot.services.messages import Sent

G = 1000
MOD, GUEST, ALICE, BOB, CAROL, VERA = 10, 20, 1, 2, 3, 4
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)


class FakeGuild:
    def __init__(self) -> None:
        self.roles: dict[int, set[str]] = {u: {"member"} for u in (GUEST, ALICE, BOB, CAROL)}
        self.roles[VERA] = {"visitor"}

    async def add_role(self, guild_id, user_id, role_key, reason=""):
        self.roles.setdefault(user_id, set()).add(role_key)
        return True

    async def remove_role(self, guild_id, user_id, role_key, reason=""):
        self.roles.setdefault(user_id, set()).discard(role_key)
        return True

    async def member_role_keys(self, guild_id, user_id):
        return self.roles.get(user_id)

    async def members_with_role(self, guild_id, role_key):
        return sorted(u for u, r in self.roles.items() if role_key in r)


class RecordingSender:
    """Stands in for Discord: the opening post gets message id 500 and thread id 501."""

    def __init__(self) -> None:
        self.sent = []

    async def send(self, guild_id, target, message):
        self.sent.append((target, message))
        if message.thread_name:
            return Sent(500, 400, {"thread_id": 501})
        return Sent(600 + len(self.sent), 400)


@pytest.fixture
async def app(tmp_path):
    app = await App.open(load_config("config"), db_path=tmp_path / "k.db", clock=FakeClock(NOW),
                         real_scheduler=False)
    app.guild = FakeGuild()
    app.outbox.sender = RecordingSender()
    await app.start()
    yield app
    await app.close()


def posts(app) -> list:
    """What the sender got, without the mod-log lines of the audit trail."""
    return [(t, m) for t, m in app.outbox.sender.sent if t.value != "mod-log"]


async def user_error(coro) -> str:
    with pytest.raises(UserError) as err:
        await coro
    return err.value.key


async def open_session(app, **kw):
    session = await app.ama.open(G, actor_id=MOD, guest_id=GUEST, topic=kw.pop("topic", "Blending winter teas"),
                                 **kw)
    await app.outbox.drain()
    return session


async def test_open_posts_with_a_thread_and_gives_the_guest_role(app):
    session = await open_session(app)
    target, message = posts(app)[0]
    assert (target.kind, target.value) == ("channel", "lounge")
    assert message.thread_name == "AMA: Blending winter teas"
    assert [b.custom_id for b in message.buttons] == [f"kizuna:ama:ask:{session.id}"]
    assert f"<@{GUEST}>" in message.content
    assert "guest" in app.guild.roles[GUEST]
    current = await app.ama.current(G)
    assert (current.message_id, current.thread_id) == (500, 501)  # learned from the outbox's sent hook
    assert await user_error(app.ama.open(G, actor_id=MOD, guest_id=ALICE, topic="another")) == "ama.already_open"


async def test_questions_rank_by_upvotes_one_per_member(app):
    await open_session(app)
    q1 = await app.ama.ask(G, ALICE, "What is your favourite blend?")
    q2 = await app.ama.ask(G, BOB, "How do you pick the leaves?")
    q3 = await app.ama.ask(G, CAROL, "Any collab coming?")
    assert await app.ama.upvote(G, ALICE, q2.id) == 1
    assert await app.ama.upvote(G, CAROL, q2.id) == 2
    assert await app.ama.upvote(G, BOB, q3.id) == 1
    assert await user_error(app.ama.upvote(G, ALICE, q2.id)) == "ama.already_upvoted"
    assert await user_error(app.ama.upvote(G, ALICE, q1.id)) == "ama.own_question"
    _, ranked = await app.ama.ranked(G, GUEST, is_moderator=False)
    assert [(q.id, q.votes) for q in ranked] == [(q2.id, 2), (q3.id, 1), (q1.id, 0)]
    assert await user_error(app.ama.ranked(G, ALICE, is_moderator=False)) == "ama.guest_or_moderator_only"
    await app.outbox.drain()
    posted = [m for t, m in posts(app) if t.kind == "channel_id"]
    assert len(posted) == 3 and all(t.value == "501" for t, m in posts(app)[1:])  # in the thread
    assert posted[0].content.endswith("> What is your favourite blend?")
    assert posted[0].buttons[0].custom_id == f"kizuna:ama:upvote:{q1.id}"


async def test_answer_quotes_the_question_and_close_summarises(app):
    await open_session(app)
    q1 = await app.ama.ask(G, ALICE, "Line one\nline two @everyone")
    q2 = await app.ama.ask(G, BOB, "Second?")
    await app.ama.upvote(G, CAROL, q2.id)
    answered = await app.ama.answer(G, GUEST, q1.id, "Sencha, always.", is_moderator=False)
    assert answered.answer == "Sencha, always." and answered.answered_by == GUEST
    assert await user_error(app.ama.answer(G, MOD, q1.id, "again", is_moderator=True)) == "ama.already_answered"
    assert await user_error(app.ama.answer(G, ALICE, q2.id, "me?", is_moderator=False)) == \
        "ama.guest_or_moderator_only"
    await app.outbox.drain()
    answer_post = posts(app)[-1][1].content
    assert "> Line one\n> line two @everyone" in answer_post and "Sencha, always." in answer_post

    summary = await app.ama.close(G, MOD)
    assert (summary.answered, summary.unanswered) == (1, 1)
    assert [q.id for q in summary.top] == [q2.id, q1.id]
    assert "guest" not in app.guild.roles[GUEST]
    await app.outbox.drain()
    text = posts(app)[-1][1].content
    assert "Answered: 1 · Unanswered: 1" in text
    assert text.index(f"#{q2.id} (1 ▲)") < text.index(f"#{q1.id} (0 ▲)")
    assert await user_error(app.ama.ask(G, ALICE, "late")) == "ama.no_session"
    assert await user_error(app.ama.upvote(G, CAROL, q1.id)) == "ama.session_closed"
    audit = [r["action"] for r in await app.audit.recent(G)]
    assert audit == ["ama.close", "ama.open"]


async def test_bad_input_is_refused_with_a_reason(app):
    assert await user_error(app.ama.open(G, actor_id=MOD, guest_id=GUEST, topic="  ")) == "ama.topic_empty"
    assert await user_error(app.ama.open(G, actor_id=MOD, guest_id=GUEST, topic="x",
                                         channel_key="mod-log")) == "ama.channel_not_public"
    assert await user_error(app.ama.open(G, actor_id=MOD, guest_id=GUEST, topic="x",
                                         channel_key="nope")) == "ama.unknown_channel"
    assert await user_error(app.ama.open(G, actor_id=MOD, guest_id=GUEST, topic="x", until="soonish")) == \
        "ama.bad_until"
    assert await user_error(app.ama.ask(G, ALICE, "anyone?")) == "ama.no_session"
    await open_session(app)
    assert await user_error(app.ama.ask(G, ALICE, "   ")) == "ama.question_empty"
    assert await user_error(app.ama.ask(G, ALICE, "x" * 501)) == "ama.question_too_long"
    assert await user_error(app.ama.ask(G, ALICE, "why")) == "ama.question_too_short"
    assert await user_error(app.ama.ask(G, GUEST, "me too?")) == "ama.guest_cannot_ask"
    assert await user_error(app.ama.ask(G, VERA, "may I?")) == "ama.members_only"  # visitors read along
    q = await app.ama.ask(G, BOB, "fine?")
    assert await user_error(app.ama.upvote(G, VERA, q.id)) == "ama.members_only"
    for i in range(5):
        await app.ama.ask(G, ALICE, f"question {i}")
    assert await user_error(app.ama.ask(G, ALICE, "a sixth one")) == "ama.too_many_questions"
    assert await user_error(app.ama.upvote(G, BOB, 9999)) == "ama.no_question"


async def test_a_session_expires_by_timer_once_even_after_a_restart(app, tmp_path):
    await open_session(app, until="2h")
    session = await app.ama.current(G)
    assert session.ends_at == NOW + timedelta(hours=2)
    await app.ama.ask(G, ALICE, "quick one?")
    # a restart: a new App on the same file re-arms the timer from the database
    await app.close()
    app2 = await App.open(load_config("config"), db_path=tmp_path / "k.db", clock=FakeClock(NOW + timedelta(hours=1)),
                          real_scheduler=False)
    app2.guild = app.guild
    app2.outbox.sender = RecordingSender()
    await app2.start()
    try:
        assert f"ama:expire:{session.id}" in app2.scheduler.jobs
        await app2.scheduler.advance_to(NOW + timedelta(hours=3))
        assert (await app2.ama.session(session.id)).status == "closed"
        assert (await app2.ama.session(session.id)).closed_by is None
        assert "guest" not in app.guild.roles[GUEST]
        assert await app2.ama.expire(session.id) is None  # already closed: nothing twice
        await app2.outbox.drain()
        summaries = [m for t, m in app2.outbox.sender.sent if "Unanswered: 1" in m.content]
        assert len(summaries) == 1
    finally:
        await app2.close()


async def test_announce_action_posts_as_the_persona(app):
    await app.actions.get("ama.announce")(G, NOW, {"topic": "Tea masters", "when": "Friday 20:00"})
    await open_session(app)
    await app.actions.get("ama.announce")(G, NOW + timedelta(days=1), {})
    rows = await app.db.fetchall("SELECT target, payload FROM outbox WHERE dedupe_key LIKE 'ama:announce:%' ORDER BY id")
    first, second = (json.loads(r["payload"]) for r in rows)
    assert first["as_persona"] and "Tea masters" in first["content"] and "Irasshaimase!" in first["content"]
    assert second["as_persona"] and "<#501>" in second["content"]


def test_parse_until():
    tz = load_config("config").timezone  # Asia/Tokyo
    assert parse_until("90m", NOW, tz) == NOW + timedelta(minutes=90)
    assert parse_until("1h30m", NOW, tz) == NOW + timedelta(minutes=90)
    assert parse_until("1d", NOW, tz) == NOW + timedelta(days=1)
    # 10:00 UTC is 19:00 in Tokyo: 21:00 is today, 18:00 tomorrow
    assert parse_until("21:00", NOW, tz) == datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
    assert parse_until("18:00", NOW, tz) == datetime(2026, 11, 26, 9, 0, tzinfo=timezone.utc)
    assert parse_until("2026-11-26 20:00", NOW, tz) == datetime(2026, 11, 26, 11, 0, tzinfo=timezone.utc)
    for bad, key in [("yesterday", "ama.bad_until"), ("25:00", "ama.bad_until"),
                     ("2026-11-01 10:00", "ama.until_past"), ("8d", "ama.until_too_far")]:
        with pytest.raises(UserError) as err:
            parse_until(bad, NOW, tz)
        assert err.value.key == key, bad


def test_quote_quotes_every_line():
    assert quote("a\nb") == "> a\n> b"
