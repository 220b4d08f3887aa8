"""Typed quiz answers can be retried (issue 20's closing note: "A typed quiz answer can't be retried after
a typo"). The rule, in bot/services/participation/quiz.py, on a real database:

- a wrong typed answer may be tried again until the question closes, up to `participation.quiz.typed_tries`
  tries in all (3 in the example); a right one locks in; a choice (button) question stays one click;
- the points of a question are written once per member: taking part, plus (when right) the right
  answer and the speed bonus of the moment the right answer came, halved for each wrong try before it,
  so a retry never scores more than answering right at once would have and firing off guesses does not
  pay; the reveal's "Fastest" is the first *right* answer;
- what each try did (tries used, right or not) is in the database, so a restart forgets nothing."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from bot.app import App
from bot.clock import FakeClock
from bot.config import load_config
from bot.errors import UserError
from tests.helpers import config_dir_with
from tests.test_quiz_service import RecordingSender

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
GUILD = 1000
ALICE, BOB, CAROL = 431000000000000011, 431000000000000012, 431000000000000013
BANK = ("name: Languages\nquestions:\n"
        "  - question: Which language did Microsoft make for .NET?\n    answers: [C#, C sharp]\n")


async def open_app(path, clock, config):
    app = await App.open(config, db_path=path, clock=clock, real_scheduler=False)
    app.outbox.sender = RecordingSender()
    await app.start()
    return app


@pytest.fixture
def config(tmp_path):
    return load_config(config_dir_with(tmp_path, {"quizzes/languages.yaml": BANK}))


@pytest.fixture
async def app(tmp_path, config):
    app = await open_app(tmp_path / "k.db", FakeClock(T0), config)
    yield app
    await app.close()


async def start(app, seconds=20) -> int:
    quiz = app.participation.quiz
    await quiz.start_quiz(GUILD, bank="languages", questions=1, seconds=seconds)
    await app.outbox.drain()
    return (await quiz.current(GUILD))["open"]["id"]


async def close(app, seconds=20):
    await app.scheduler.advance_to(app.clock.now() + timedelta(seconds=seconds))
    await app.outbox.drain()


async def refused(call) -> str:
    with pytest.raises(UserError) as info:
        await call
    return info.value.key


def test_the_example_allows_three_tries():
    assert load_config("config").participation.quiz.typed_tries == 3


async def test_a_typo_can_be_retried_and_the_right_answer_scores_once(app):
    quiz = app.participation.quiz
    q = await start(app)
    first = await quiz.answer_text(GUILD, q, ALICE, "C")               # the typo: "C" is not "C#"
    assert (first.correct, first.tries, first.tries_left) == (False, 1, 2)
    assert first.reply == "participation.quiz_typed_wrong_retry"
    app.clock.advance(seconds=5)
    prompt = await quiz.answer_prompt(GUILD, q, ALICE)                  # the Answer button opens the modal again
    assert prompt.question_id == q
    second = await quiz.answer_text(GUILD, q, ALICE, "Ｃ＃")
    assert (second.correct, second.tries, second.tries_left) == (True, 2, 0)
    assert second.reply == "participation.quiz_typed_right"
    await close(app, 15)
    rows = await app.db.fetchall("SELECT correct, tries, text, points FROM quiz_answers WHERE user_id = ?", (ALICE,))
    assert [dict(r) for r in rows] == [{"correct": 1, "tries": 2, "text": "Ｃ＃", "points": 2 + 10 + 4}]
    # the bonus of the moment the right answer came (5 s of 20 gone: 10 * 15/20 = 7.5), halved for the one
    # wrong try (3.75 -> 4), counted once
    assert await app.participation.points(GUILD, ALICE) == 16
    reveal = app.outbox.sender.channel("quiz")[-2].embeds[0]
    assert reveal["fields"][0]["value"] == "1 of 1 got it right"


async def test_a_right_answer_locks_in(app):
    quiz = app.participation.quiz
    q = await start(app)
    await quiz.answer_text(GUILD, q, ALICE, "c#")
    assert await refused(quiz.answer_prompt(GUILD, q, ALICE)) == "participation.quiz_already_right"
    assert await refused(quiz.answer_text(GUILD, q, ALICE, "C sharp")) == "participation.quiz_already_right"
    assert await refused(quiz.answer_text(GUILD, q, ALICE, "wrong now")) == "participation.quiz_already_right"
    await close(app)
    assert await app.participation.points(GUILD, ALICE) == 22


async def test_the_tries_run_out(app):
    quiz = app.participation.quiz
    q = await start(app)
    replies = [await quiz.answer_text(GUILD, q, BOB, typed) for typed in ("C", "F#", "C++")]
    assert [(r.tries, r.tries_left, r.reply) for r in replies] == [
        (1, 2, "participation.quiz_typed_wrong_retry"), (2, 1, "participation.quiz_typed_wrong_retry"),
        (3, 0, "participation.quiz_typed_wrong_last")]
    assert await refused(quiz.answer_prompt(GUILD, q, BOB)) == "participation.quiz_no_tries_left"
    assert await refused(quiz.answer_text(GUILD, q, BOB, "C#")) == "participation.quiz_no_tries_left"
    await close(app)
    assert await app.participation.points(GUILD, BOB) == 2             # taking part, once
    row = await app.db.fetchone("SELECT correct, tries, text FROM quiz_answers WHERE user_id = ?", (BOB,))
    assert (row["correct"], row["tries"], row["text"]) == (0, 3, "C++")


async def test_fastest_is_the_first_right_answer_not_the_first_try(app):
    quiz = app.participation.quiz
    q = await start(app)
    await quiz.answer_text(GUILD, q, ALICE, "C")       # alice tries first, and misses
    app.clock.advance(seconds=2)
    await quiz.answer_text(GUILD, q, BOB, "C#")        # bob is right at 2 s
    app.clock.advance(seconds=2)
    await quiz.answer_text(GUILD, q, ALICE, "C#")      # alice is right at 4 s
    await close(app, 16)
    reveal = app.outbox.sender.channel("quiz")[-2].embeds[0]
    assert reveal["fields"][0]["value"] == "2 of 2 got it right"
    assert reveal["fields"][1]["value"] == f"<@{BOB}>"
    assert await app.participation.points(GUILD, BOB) == 2 + 10 + 9        # right at once, at 2 s
    assert await app.participation.points(GUILD, ALICE) == 2 + 10 + 4      # at 4 s (8), after a miss: halved


async def test_guessing_fast_does_not_beat_knowing(app):
    """Bob fires off guesses at once; alice types the answer right, a little later."""
    quiz = app.participation.quiz
    q = await start(app)
    for typed in ("C", "C++", "C#"):
        await quiz.answer_text(GUILD, q, BOB, typed)
    app.clock.advance(seconds=3)
    await quiz.answer_text(GUILD, q, ALICE, "C#")
    await close(app, 17)
    assert await app.participation.points(GUILD, BOB) == 2 + 10 + 2         # 10, halved twice: 2.5 -> 2
    assert await app.participation.points(GUILD, ALICE) == 2 + 10 + 8       # at 3 s: 8.5 -> 8


async def test_a_choice_question_is_still_one_click(tmp_path):
    app = await open_app(tmp_path / "k.db", FakeClock(T0), load_config("config"))
    try:
        quiz = app.participation.quiz
        await quiz.start_quiz(GUILD, bank="tea", questions=1, seconds=30)
        q = (await quiz.current(GUILD))["open"]
        right = q["snapshot"]["answer"]
        await quiz.answer(GUILD, q["id"], ALICE, (right + 1) % len(q["snapshot"]["choices"]))
        assert await refused(quiz.answer(GUILD, q["id"], ALICE, right)) == "participation.quiz_already_answered"
    finally:
        await app.close()


async def test_tries_survive_a_restart(tmp_path, config):
    clock = FakeClock(T0)
    path = tmp_path / "k.db"
    app = await open_app(path, clock, config)
    q = await start(app, seconds=60)
    await app.participation.quiz.answer_text(GUILD, q, ALICE, "C")
    await app.participation.quiz.answer_text(GUILD, q, ALICE, "F#")
    await app.participation.quiz.answer_text(GUILD, q, BOB, "C#")
    await app.close()                                             # the bot goes down mid-question
    app = await open_app(path, clock, config)
    try:
        quiz = app.participation.quiz
        assert await refused(quiz.answer_text(GUILD, q, BOB, "C")) == "participation.quiz_already_right"
        last = await quiz.answer_text(GUILD, q, ALICE, "C++")     # the third try, remembered as such
        assert (last.tries, last.tries_left, last.reply) == (3, 0, "participation.quiz_typed_wrong_last")
        assert await refused(quiz.answer_prompt(GUILD, q, ALICE)) == "participation.quiz_no_tries_left"
    finally:
        await app.close()


async def test_two_tries_sent_at_once_are_two_tries_and_score_once(app):
    """Two devices send a wrong and a right answer together: both count as tries, the right one stands,
    and the points are written once."""
    quiz = app.participation.quiz
    q = await start(app)
    results = await asyncio.gather(quiz.answer_text(GUILD, q, ALICE, "C"), quiz.answer_text(GUILD, q, ALICE, "C#"),
                                   quiz.answer_text(GUILD, q, ALICE, "C sharp"), return_exceptions=True)
    assert [getattr(r, "correct", None) for r in results[:2]] == [False, True]
    assert isinstance(results[2], UserError) and results[2].key == "participation.quiz_already_right"
    await close(app)
    rows = await app.db.fetchall("SELECT correct, tries FROM quiz_answers WHERE user_id = ?", (ALICE,))
    assert [tuple(r) for r in rows] == [(1, 2)]
    assert await app.participation.points(GUILD, ALICE) == 2 + 10 + 5      # the right one was the second try


async def test_one_try_each_when_configured(tmp_path):
    config = load_config(config_dir_with(tmp_path, {"quizzes/languages.yaml": BANK,
                                                    "participation.yaml": {"quiz": {"typed_tries": 1}}}))
    app = await open_app(tmp_path / "k.db", FakeClock(T0), config)
    try:
        quiz = app.participation.quiz
        q = await start(app)
        only = await quiz.answer_text(GUILD, q, ALICE, "C")
        assert (only.tries_left, only.reply) == (0, "participation.quiz_typed_wrong_last")
        assert await refused(quiz.answer_text(GUILD, q, ALICE, "C#")) == "participation.quiz_no_tries_left"
    finally:
        await app.close()


async def test_a_try_after_the_close_is_refused_and_changes_nothing(app):
    quiz = app.participation.quiz
    q = await start(app)
    await quiz.answer_text(GUILD, q, ALICE, "C")
    await close(app)
    assert await refused(quiz.answer_text(GUILD, q, ALICE, "C#")) == "participation.quiz_closed"
    assert await app.participation.points(GUILD, ALICE) == 2


async def test_the_stats_count_one_answer_per_question_however_many_tries(app):
    quiz = app.participation.quiz
    q = await start(app)
    for typed in ("C", "F#", "C#"):
        await quiz.answer_text(GUILD, q, ALICE, typed)
    await close(app)
    assert await app.db.fetchval("SELECT COUNT(*) FROM quiz_answers WHERE question_id = ?", (q,)) == 1


async def test_the_store_never_replaces_a_right_answer_nor_a_later_try(app):
    """The repository's own guard (bot/db/quizzes.add_answers), whatever the caller sends: a retry only
    replaces a wrong answer with an earlier try count."""
    from bot.db import quizzes as repo

    q = await start(app)
    at = app.clock.now()
    await repo.add_answers(app.db, [(q, ALICE, -1, 1, 22, at, "C#", 1), (q, BOB, -1, 0, 2, at, "C", 3)])
    await repo.add_answers(app.db, [(q, ALICE, -1, 0, 2, at, "C", 2),      # after a right one
                                    (q, BOB, -1, 1, 22, at, "C#", 2)])     # an older try than the stored one
    await repo.add_answers(app.db, [(q, CAROL, -1, 0, 2, at, "C", 1), (q, CAROL, -1, 1, 17, at, "C#", 2)])
    rows = {r["user_id"]: (r["correct"], r["tries"], r["text"]) for r in await repo.answers(app.db, q)}
    assert rows == {ALICE: (1, 1, "C#"), BOB: (0, 3, "C"), CAROL: (1, 2, "C#")}
