"""Quizzes on SQLite: answers, the timer, reveals, points with the speed bonus, restarts mid-question."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.app import App
from bot.clock import FakeClock
from bot.config import load_config
from bot.db import participation as ledger_repo
from bot.errors import UserError
from bot.services.messages import Sent

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
GUILD = 1000
ALICE, BOB, CAROL, MOD = 431000000000000011, 431000000000000012, 431000000000000013, 431000000000000099


class RecordingSender:
    def __init__(self) -> None:
        self.sent = []

    async def send(self, guild_id, target, message):
        self.sent.append((target, message))
        return Sent(message_id=7000 + len(self.sent), channel_id=77)

    def channel(self, key):
        return [m for t, m in self.sent if t.kind == "channel" and t.value == key]


async def open_app(path, clock):
    app = await App.open(load_config("config"), db_path=path, clock=clock, real_scheduler=False)
    app.outbox.sender = RecordingSender()
    await app.start()
    return app


@pytest.fixture
async def app(tmp_path):
    app = await open_app(tmp_path / "k.db", FakeClock(T0))
    yield app
    await app.close()


def open_question(app):
    """(question id, right choice, wrong choice) of the question now open, from its posted buttons."""
    async def get():
        current = await app.participation.quiz.current(GUILD)
        q = current["open"]
        right = q["snapshot"]["answer"]
        return q["id"], right, (right + 1) % len(q["snapshot"]["choices"])
    return get()


async def advance(app, seconds):
    await app.scheduler.advance_to(app.clock.now() + timedelta(seconds=seconds))
    await app.outbox.drain()


async def test_a_quiz_with_three_members_ends_with_the_right_scores_and_reveals(app):
    quiz = app.participation.quiz
    started = await quiz.start_quiz(GUILD, bank="tea", questions=2, seconds=20, started_by=MOD)
    await app.outbox.drain()
    assert (started.questions, started.seconds) == (2, 20)
    q1, right, wrong = await open_question(app)
    await quiz.answer(GUILD, q1, ALICE, right)        # instant: full speed bonus
    app.clock.advance(seconds=10)
    await quiz.answer(GUILD, q1, BOB, right)          # half-way: half the bonus
    await quiz.answer(GUILD, q1, CAROL, wrong)
    await advance(app, 10)                            # q1 closes; q2 opens after the 5 s pause
    await advance(app, 5)
    q2, right2, wrong2 = await open_question(app)
    assert q2 != q1
    await quiz.answer(GUILD, q2, CAROL, right2)
    await quiz.answer(GUILD, q2, ALICE, wrong2)
    await advance(app, 20)

    posts = app.outbox.sender.channel("quiz")
    titles = [m.embeds[0]["title"] if m.embeds else m.card.texts()[0].splitlines()[0].removeprefix("## ")
              for m in posts]
    assert titles == ["❓ Tea basics · Question 1/2", "✅ Answer to question 1/2",
                      "❓ Tea basics · Question 2/2", "✅ Answer to question 2/2", "🏆 Quiz results"]
    reveal1 = posts[1].embeds[0]
    assert reveal1["fields"][0]["value"] == "2 of 3 got it right"
    assert reveal1["fields"][1]["value"] == f"<@{ALICE}>"  # fastest right answer
    # points: taking part 2, right 10, speed bonus up to 10 (linear to the close)
    scores = {s["user_id"]: (s["points"], s["correct"]) for s in await quiz.results(started.run_id)}
    assert scores == {ALICE: (2 + 10 + 10 + 2, 1), BOB: (2 + 10 + 5, 1), CAROL: (2 + 2 + 10 + 10, 1)}
    results = posts[-1].card.texts()[1].splitlines()
    assert results[0].startswith(f"**1.** <@{ALICE}> — 24 points")  # tie with carol: alice answered first
    assert results[1].startswith(f"**2.** <@{CAROL}> — 24 points")
    assert results[2].startswith(f"**3.** <@{BOB}> — 17 points")
    assert await app.participation.points(GUILD, BOB) == 17  # the ledger got the same points
    assert await quiz.current(GUILD) is None


async def test_a_second_answer_is_refused_and_the_first_stands(app):
    quiz = app.participation.quiz
    await quiz.start_quiz(GUILD, bank="tea", questions=1, seconds=30)
    q, right, wrong = await open_question(app)
    receipt = await quiz.answer(GUILD, q, ALICE, wrong)
    assert receipt.label.startswith("ABCDE"[wrong] + ".")
    for choice in (right, wrong):
        with pytest.raises(UserError) as info:
            await quiz.answer(GUILD, q, ALICE, choice)
        assert info.value.key == "participation.quiz_already_answered"
    await advance(app, 30)
    assert await app.participation.points(GUILD, ALICE) == 2  # only the (wrong) first answer counted
    with pytest.raises(UserError) as info:
        await quiz.answer(GUILD, q, BOB, right)
    assert info.value.key == "participation.quiz_closed"


async def test_simultaneous_answers_are_all_recorded_and_a_double_click_counts_once(app):
    import asyncio

    quiz = app.participation.quiz
    await quiz.start_quiz(GUILD, bank="tea", questions=1, seconds=30)
    q, right, wrong = await open_question(app)
    members = [ALICE + n for n in range(50)]
    results = await asyncio.gather(*(quiz.answer(GUILD, q, m, right) for m in members),
                                   quiz.answer(GUILD, q, ALICE, wrong), return_exceptions=True)
    refused = [r for r in results if isinstance(r, UserError)]
    assert [r.key for r in refused] == ["participation.quiz_already_answered"]  # alice's second click
    await advance(app, 30)
    reveal = app.outbox.sender.channel("quiz")[-2].embeds[0]
    assert reveal["fields"][0]["value"] == "50 of 50 got it right"


async def test_only_one_quiz_runs_at_a_time_and_banks_are_checked(app):
    quiz = app.participation.quiz
    with pytest.raises(UserError) as info:
        await quiz.start_quiz(GUILD, bank="coffee")
    assert info.value.key == "participation.quiz_unknown_bank"
    with pytest.raises(UserError) as info:
        await quiz.start_quiz(GUILD, seconds=2)
    assert info.value.key == "participation.quiz_bad_seconds"
    await quiz.start_quiz(GUILD)
    with pytest.raises(UserError) as info:
        await quiz.start_quiz(GUILD)
    assert info.value.key == "participation.quiz_running"


async def test_a_restart_after_the_close_time_closes_the_question_at_start_up(tmp_path):
    path, clock = tmp_path / "k.db", FakeClock(T0)
    app = await open_app(path, clock)
    await app.participation.quiz.start_quiz(GUILD, bank="tea", questions=2, seconds=30)
    q, right, _ = await open_question(app)
    await app.participation.quiz.answer(GUILD, q, ALICE, right)
    await app.outbox.drain()
    await app.close()                                   # the bot goes down mid-question...
    clock.advance(minutes=10)                           # ...and comes back long after the close
    app = await open_app(path, clock)
    await app.outbox.drain()
    titles = [m.embeds[0]["title"] if m.embeds else m.card.texts()[0].splitlines()[0].removeprefix("## ")
              for m in app.outbox.sender.channel("quiz")]
    assert titles == ["✅ Answer to question 1/2"]       # closed and revealed at start-up
    assert await app.participation.points(GUILD, ALICE) == 2 + 10 + 10  # her instant answer kept its bonus
    await advance(app, 5)                               # after the pause, question 2 opens
    assert [m.embeds[0]["title"] for m in app.outbox.sender.channel("quiz")][-1] == "❓ Tea basics · Question 2/2"
    await app.close()


async def test_a_restart_before_the_close_time_re_arms_the_timer(tmp_path):
    path, clock = tmp_path / "k.db", FakeClock(T0)
    app = await open_app(path, clock)
    await app.participation.quiz.start_quiz(GUILD, bank="tea", questions=1, seconds=30)
    q, right, _ = await open_question(app)
    await app.outbox.drain()
    app.outbox.sender.sent.clear()
    await app.close()
    clock.advance(seconds=10)
    app = await open_app(path, clock)
    await app.participation.quiz.answer(GUILD, q, BOB, right)  # still open after the restart
    await advance(app, 19)
    assert app.outbox.sender.channel("quiz") == []
    await advance(app, 1)                               # exactly at the close
    titles = [m.embeds[0]["title"] if m.embeds else m.card.texts()[0].splitlines()[0].removeprefix("## ")
              for m in app.outbox.sender.channel("quiz")]
    assert titles == ["✅ Answer to question 1/1", "🏆 Quiz results"]
    await app.close()


async def test_a_schedule_occurrence_starts_one_quiz(app):
    start = app.actions.get("quiz.start")
    await start(GUILD, T0, {"bank": "tea", "questions": 1})
    await start(GUILD, T0, {"bank": "tea", "questions": 1})  # the same occurrence again
    await app.outbox.drain()
    assert len(app.outbox.sender.channel("quiz")) == 1
    assert app.outbox.sender.channel("mod-log") == []
    # a quiz that cannot start raises: the schedules service reports it to the mod-log and to
    # /schedule run-now (an unknown bank in schedules.yaml is refused by `check` already)
    with pytest.raises(UserError) as err:
        await start(GUILD, T0 + timedelta(seconds=1), {"bank": "nope"})
    assert err.value.key == "participation.quiz_unknown_bank"


async def test_quiz_points_count_towards_the_streak_on_the_answer_day(app):
    await app.participation.quiz.start_quiz(GUILD, bank="tea", questions=1, seconds=30)
    q, right, _ = await open_question(app)
    await app.participation.quiz.answer(GUILD, q, CAROL, right)
    await advance(app, 30)
    rows = await ledger_repo.ledger_for(app.db, GUILD, CAROL)
    assert [(r["action"], r["ref"], r["day"]) for r in rows] == [("quiz_correct", f"quiz:{q}", "2026-12-01")]
    assert (await app.participation.streak(GUILD, CAROL)).current == 1
