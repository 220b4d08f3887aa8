"""Daily prompts on SQLite: rotation without repeats, the low-pool note, suggestions, answer points."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.app import App
from bot.clock import FakeClock
from bot.config import load_config
from bot.db import participation as repo
from bot.errors import UserError
from bot.services.messages import Sent

T0 = datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc)  # 09:00 in Tokyo
GUILD = 1000
ALICE, BOB, MOD = 431000000000000011, 431000000000000012, 431000000000000099


class ThreadingSender:
    """Answers like the bot's sender: a message id, and a thread id when a thread was asked for."""

    def __init__(self) -> None:
        self.sent = []
        self._next = 9000

    async def send(self, guild_id, target, message):
        self._next += 2
        self.sent.append((target, message))
        extra = {"thread_id": self._next + 1} if message.thread_name else {}
        return Sent(message_id=self._next, channel_id=77, extra=extra)

    def to(self, kind, value):
        return [m for t, m in self.sent if t.kind == kind and t.value == str(value)]


async def open_app(path, clock=None):
    app = await App.open(load_config("config"), db_path=path, clock=clock or FakeClock(T0), real_scheduler=False)
    app.outbox.sender = ThreadingSender()
    await app.start()
    return app


@pytest.fixture
async def app(tmp_path):
    app = await open_app(tmp_path / "k.db")
    yield app
    await app.close()


def day(n: int) -> datetime:
    return T0 + timedelta(days=n)


async def test_prompts_rotate_without_repeats_until_the_pool_is_used_up(app):
    pool = [p.id for p in app.config.prompts.prompts]
    post = app.actions.get("prompt.post")
    for n in range(len(pool)):
        await post(GUILD, day(n), {})
    await app.outbox.drain()
    posted = app.outbox.sender.to("channel", "daily-prompt")
    texts = [m.embeds[0]["description"] if m.embeds else m.poll["question"] for m in posted]  # kind: poll too
    assert sorted(texts) == sorted(p.text for p in app.config.prompts.prompts)  # each once
    assert all(m.thread_name for m in posted if not m.poll)
    # the next day starts a new cycle: again no repeats within it
    second = [await app.participation.prompts.post(GUILD, day(len(pool) + n)) for n in range(len(pool))]
    assert {p.cycle for p in second} == {2}
    assert sorted(p.prompt_key for p in second) == sorted(pool)


async def test_an_occurrence_picks_and_posts_only_once(app):
    first = await app.participation.prompts.post(GUILD, day(0))
    again = await app.participation.prompts.post(GUILD, day(0))
    await app.outbox.drain()
    assert first.id == again.id and first.prompt_key == again.prompt_key
    assert len(app.outbox.sender.to("channel", "daily-prompt")) == 1


async def test_moderators_hear_once_per_cycle_when_the_pool_runs_low(app):
    size = len(app.config.prompts.prompts)
    threshold = app.config.participation.prompts.low_pool_threshold
    for n in range(size - threshold - 1):
        await app.participation.prompts.post(GUILD, day(n))
    await app.outbox.drain()
    assert app.outbox.sender.to("channel", "mod-log") == []
    for n in range(size - threshold - 1, size):
        await app.participation.prompts.post(GUILD, day(n))
    await app.outbox.drain()
    notes = app.outbox.sender.to("channel", "mod-log")
    assert len(notes) == 1 and f"Only {threshold} unused" in notes[0].content


async def test_an_answer_in_the_prompt_thread_earns_points_once_even_after_a_restart(tmp_path):
    path = tmp_path / "k.db"
    app = await open_app(path)
    post = await app.participation.prompts.post(GUILD, day(0))
    await app.outbox.drain()
    thread_id = (await repo.prompt_posts(app.db, GUILD))[0]["thread_id"]
    assert thread_id is not None
    prompts = app.participation.prompts
    assert await prompts.record_answer(GUILD, ALICE, thread_id) == 10
    assert await prompts.record_answer(GUILD, ALICE, thread_id) is None
    assert await prompts.record_answer(GUILD, ALICE, 424242) is None  # not a prompt thread
    await app.close()
    app = await open_app(path, FakeClock(day(1)))
    assert await app.participation.prompts.record_answer(GUILD, ALICE, thread_id) is None
    assert await app.participation.prompts.record_answer(GUILD, BOB, thread_id) == 10
    ledger = await repo.ledger_for(app.db, GUILD, ALICE)
    assert [(r["action"], r["ref"]) for r in ledger] == [("prompt_answer", f"prompt:{post.id}")]
    await app.close()


async def test_an_approved_suggestion_joins_the_pool_and_the_member_hears(app):
    prompts = app.participation.prompts
    sid = await prompts.suggest(GUILD, ALICE, "What is your  favourite tea for a snowy evening?")
    rejected = await prompts.suggest(GUILD, BOB, "Which tea would you never drink again?")
    await app.outbox.drain()
    queue = app.outbox.sender.to("channel", "mod-queue")
    assert [b.custom_id for b in queue[0].buttons] == [f"kizuna:prompt:approve:{sid}", f"kizuna:prompt:reject:{sid}"]
    assert queue[0].embeds[0]["description"] == "What is your favourite tea for a snowy evening?"
    await prompts.decide(GUILD, sid, MOD, approve=True)
    await prompts.decide(GUILD, rejected, MOD, approve=False)
    with pytest.raises(UserError) as info:
        await prompts.decide(GUILD, sid, MOD, approve=False)
    assert info.value.key == "participation.suggestion_decided"
    keys = [p.key for p in await prompts.pool(GUILD)]
    assert f"s-{sid}" in keys and f"s-{rejected}" not in keys
    await app.outbox.drain()
    assert "approved" in app.outbox.sender.to("dm", ALICE)[0].content
    assert [e["action"] for e in await app.audit.recent(GUILD)] == ["prompt.suggestion.reject", "prompt.suggestion.approve"]
    for n in range(len(keys)):  # a whole cycle: the approved suggestion is posted once, crediting alice
        await prompts.post(GUILD, day(n))
    await app.outbox.drain()
    [suggested] = [m.embeds[0] for m in app.outbox.sender.to("channel", "daily-prompt")
                   if m.embeds and m.embeds[0]["description"].startswith("What is your favourite tea for a snowy")]
    assert suggested["fields"] == [{"name": "Suggested by", "value": f"<@{ALICE}>"}]


async def test_suggestions_are_checked_and_limited(app):
    prompts = app.participation.prompts
    with pytest.raises(UserError) as info:
        await prompts.suggest(GUILD, ALICE, "tea?")
    assert info.value.key == "participation.suggestion_too_short"
    with pytest.raises(UserError) as info:
        await prompts.suggest(GUILD, ALICE, "x" * 301)
    assert info.value.key == "participation.suggestion_too_long"
    for n in range(3):
        await prompts.suggest(GUILD, ALICE, f"A perfectly good prompt idea number {n}")
    with pytest.raises(UserError) as info:
        await prompts.suggest(GUILD, ALICE, "One idea too many for the queue")
    assert info.value.key == "participation.suggestion_too_many"
