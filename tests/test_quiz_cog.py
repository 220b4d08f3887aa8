"""Quizzes through the offline harness: what members and moderators see, clicks, timers, restarts."""
from __future__ import annotations

import pytest

from bot.config import load_config
from bot.offline.harness import HarnessError
from tests.helpers import CONFIG

BANK = load_config(CONFIG).quizzes["tea"]


def right_choice(message) -> int:
    """1-based index of the right button on a question message, read from the bank like a cheater would."""
    text = message.embeds[0]["description"].splitlines()[0]
    [question] = [q for q in BANK.questions if q.question == text]
    return question.answer


def wrong_choice(message) -> int:
    return right_choice(message) % len(message.buttons) + 1


def assert_closed(message) -> None:
    """A closed question keeps its text, says it is closed, and its buttons are greyed out."""
    assert message.embeds[0]["description"].endswith("This question is closed.")
    assert message.button_components and all(b.get("disabled") for b in message.button_components)


def titles(g) -> list[str]:
    """Each quiz post's title: an embed's, or the heading of a card (the results)."""
    return [m.embeds[0]["title"] if m.embeds else m.layout_texts[0].splitlines()[0].removeprefix("## ")
            for m in g.channel("quiz").messages if m.embeds or m.is_layout]


async def test_a_quiz_with_three_members_ends_with_the_right_scores_and_reveals(harness):
    g = await harness()
    r = await g.slash("/quiz start", user="mod", bank="tea", questions=2, seconds=20)
    assert r.ephemeral and "Tea basics, 2 questions, 20 seconds each" in r.content
    q1 = g.channel("quiz").messages[-1]
    assert q1.embeds[0]["title"] == "❓ Tea basics · Question 1/2" and len(q1.buttons) >= 2
    r = await g.click(index=right_choice(q1), on=q1, user="alice")        # right, at once: full bonus
    assert r.ephemeral and "Got it" in r.content
    await g.advance(seconds=10)
    await g.click(index=right_choice(q1), on=q1, user="bob")              # right, half-way: half bonus
    await g.click(index=wrong_choice(q1), on=q1, user="carol")            # wrong
    await g.advance(seconds=10)                                           # the timer closes question 1
    reveal = g.channel("quiz").messages[-1]
    assert reveal.embeds[0]["title"] == "✅ Answer to question 1/2"
    assert reveal.embeds[0]["fields"][0]["value"] == "2 of 3 got it right"
    right_button = q1.buttons[right_choice(q1) - 1]
    assert reveal.embeds[0]["description"].startswith(f"**{right_button}")  # "**B. The leaves…**"
    await g.advance(seconds=5)                                            # the pause, then question 2
    q2 = g.channel("quiz").messages[-1]
    assert q2.embeds[0]["title"] == "❓ Tea basics · Question 2/2"
    await g.click(index=right_choice(q2), on=q2, user="carol")
    await g.click(index=wrong_choice(q2), on=q2, user="alice")
    await g.advance(seconds=20)
    assert titles(g) == ["❓ Tea basics · Question 1/2", "✅ Answer to question 1/2", "❓ Tea basics · Question 2/2",
                         "✅ Answer to question 2/2", "🏆 Quiz results"]
    results = g.channel("quiz").messages[-1].layout_texts[1].splitlines()  # the card: heading, then ranking
    alice, bob, carol = (g.user_id(n) for n in ("alice", "bob", "carol"))
    # 2 for taking part, 10 for a right answer, up to 10 speed bonus; ties: whoever answered first
    assert results == [f"**1.** <@{alice}> — 24 points (1/2 right)", f"**2.** <@{carol}> — 24 points (1/2 right)",
                       f"**3.** <@{bob}> — 17 points (1/2 right)"]
    assert not g.channel("quiz").messages[-1].mentions  # nobody was pinged
    assert await g.app.participation.points(g.app.guild_id, bob) == 17


async def test_a_second_answer_is_refused_with_a_clear_message(harness):
    g = await harness()
    await g.slash("/quiz start", user="mod", questions=1)
    q = g.channel("quiz").messages[-1]
    await g.click(index=wrong_choice(q), on=q, user="alice")
    r = await g.click(index=right_choice(q), on=q, user="alice")
    assert r.ephemeral and r.content == "You already answered this question: one answer each, and it can't be changed."
    assert not any(b.get("disabled") for b in q.button_components)
    await g.advance(seconds=30)
    assert g.channel("quiz").messages[-2].embeds[0]["fields"][0]["value"] == "0 of 1 got it right"
    assert_closed(q)  # the same message, edited in place
    with pytest.raises(HarnessError, match="disabled"):
        await g.click(index=right_choice(q), on=q, user="bob")


async def test_a_restart_mid_question_closes_it_correctly(harness):
    g = await harness()
    await g.slash("/quiz start", user="mod", questions=2, seconds=30)
    q1 = g.channel("quiz").messages[-1]
    await g.click(index=right_choice(q1), on=q1, user="alice")
    g.clock.advance(minutes=3)          # the bot is down while the question should have closed
    await g.restart()
    reveal = g.channel("quiz").messages[-1]
    assert reveal.embeds[0]["title"] == "✅ Answer to question 1/2"      # closed at start-up
    assert reveal.embeds[0]["fields"][0]["value"] == "1 of 1 got it right"
    assert_closed(q1)                   # and its message greyed out, once
    assert len(q1.history) == 1
    await g.advance(seconds=5)
    q2 = g.channel("quiz").messages[-1]
    assert q2.embeds[0]["title"] == "❓ Tea basics · Question 2/2"
    await g.restart()                   # a restart inside the time: the timer is re-armed from the DB
    await g.click(index=right_choice(q2), on=q2, user="bob")
    await g.advance(seconds=29)
    assert g.channel("quiz").messages[-1].id == q2.id
    await g.advance(seconds=1)
    assert titles(g)[-2:] == ["✅ Answer to question 2/2", "🏆 Quiz results"]
    assert titles(g).count("✅ Answer to question 1/2") == 1               # nothing posted twice


async def test_only_moderators_start_a_quiz_and_a_running_one_is_not_doubled(harness):
    g = await harness()
    r = await g.slash("/quiz start", user="alice")
    assert r.ephemeral and r.content == "Only moderators can do that."
    await g.slash("/quiz start", user="mod")
    r = await g.slash("/quiz start", user="mod")
    assert r.ephemeral and r.content == "A quiz is already running. Wait for it to finish first."
    r = await g.slash("/quiz start", user="mod", bank="coffee")
    assert "There is no quiz bank called coffee" in r.content


async def test_the_weekly_quiz_schedule_starts_a_quiz(harness):
    g = await harness()
    await g.advance(days=5)             # Dec 1 (Tue) -> Sat 20:00 in Tokyo
    assert "❓ Tea basics · Question 1/5" in titles(g)


async def test_bank_autocomplete_offers_the_banks(harness):
    g = await harness()
    assert await g.autocomplete("/quiz start", "bank", "te", user="mod") == [{"name": "Tea basics (tea)", "value": "tea"}]
    assert await g.autocomplete("/quiz start", "bank", "coffee", user="mod") == []


async def test_a_deleted_question_message_is_not_reported_when_it_closes(harness):
    """A moderator deleted the question: closing cannot grey it out, and that is nothing to report."""
    g = await harness()
    await g.slash("/quiz start", user="mod", questions=1)
    q = g.channel("quiz").messages[-1]
    await g.bot.http.delete_message(q.channel_id, q.id)
    await g.advance(seconds=30)
    assert "Answer to question 1/1" in g.channel("quiz").messages[-2].embeds[0]["title"]  # the quiz goes on
    assert not any("could not be delivered" in m.content for m in g.channel("mod-log").messages)
    row = await g.app.db.fetchone("SELECT status, error FROM outbox WHERE dedupe_key LIKE 'quiz:%:q1:closed'")
    assert row["status"] == "failed" and "not found" in row["error"]
