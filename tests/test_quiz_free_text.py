"""Free-text quiz questions (issue 20, item 7): a question lists the answers it accepts; members press
"Answer", type into a modal, and are scored like a choice (speed bonus included)."""
from __future__ import annotations

import pytest

from bot.config import load_config
from bot.dryrun import dry_run
from bot.errors import ConfigError
from tests.helpers import CONFIG, config_dir_with

WORDS = load_config(CONFIG).quizzes["words"]


def problems(tmp_path, patches) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(config_dir_with(tmp_path, patches))
    return info.value.problems


def accepted(message) -> list[str]:
    """The accepted answers of the question on a message, read from the bank."""
    text = message.embeds[0]["description"].splitlines()[0]
    [question] = [q for q in WORDS.questions if q.question == text]
    return list(question.answers)


# --- config ---------------------------------------------------------------------------------------------
def test_the_example_bank_has_free_text_questions_without_explanations():
    typed = [q for q in WORDS.questions if q.free_text]
    assert len(typed) >= 3 and all(q.choices == () and q.answer is None for q in typed)
    assert any(q.explanation is None for q in WORDS.questions)   # explanation is optional now
    assert any(not q.free_text for q in WORDS.questions)         # a bank may mix both kinds


BROKEN = {
    "both choices and answers": ("choices: [a, b]\n    answer: 1\n    answers: [a]",
                                 "either choices (buttons, with answer:) or answers (typed), not both"),
    "neither": ("explanation: nothing to answer", "needs choices (2 to 5 buttons, with answer:) or answers"),
    "answer: with answers": ("answers: [Paris]\n    answer: 1", "answer: is for choices"),
    "choices without answer": ("choices: [a, b]", "answer: required with choices"),
    "the same answer twice": ("answers: [Matcha, ＭＡＴＣＨＡ！]", "are the same answer"),
    "only punctuation": ('answers: ["?!"]', "is only punctuation"),
    "an over-long answer": ("answers: [" + "a" * 101 + "]", "each accepted answer is 1 to 100 characters (got 101)"),
    "too many answers": ("answers: [" + ", ".join(f"a{i}" for i in range(21)) + "]", "at most 20 accepted answers"),
    "yes read as true": ("answers: [yes]", "read as true/false"),
    "an empty list": ("answers: []", "needs choices (2 to 5 buttons, with answer:) or answers"),
}


@pytest.mark.parametrize("case", BROKEN, ids=str)
def test_check_names_the_question_and_the_problem(tmp_path, case):
    body, message = BROKEN[case]
    bank = f"questions:\n  - question: What is it?\n    {body}\n"
    found = problems(tmp_path, {"quizzes/broken.yaml": bank})
    assert len(found) == 1 and "quizzes/broken.yaml:" in found[0] and "questions[0]" in found[0], found
    assert message in found[0], found


def test_answers_that_differ_only_in_a_mark_are_different_answers(tmp_path):
    """Issue 20's closing note: "C#" matched "C", and check called them the same answer."""
    bank = ("questions:\n  - question: Name a language\n    answers: [C#, C, C++, F#, F, .NET, NET, ¥500, 500]\n"
            "  - question: What do you say?\n    answers: [Wow!, Wow?]\n")
    config = load_config(config_dir_with(tmp_path, {"quizzes/marks.yaml": bank}))
    assert len(config.quizzes["marks"].questions[0].answers) == 9


@pytest.mark.parametrize("answers", ["[Wow, Wow!]", "[Wow!, ＷＯＷ！]", "[パリ, 「パリ」。]", "[C#, Ｃ＃.]"])
def test_an_answer_another_one_already_accepts_is_the_same_answer(tmp_path, answers):
    found = problems(tmp_path, {"quizzes/broken.yaml": f"questions:\n  - question: Say it\n    answers: {answers}\n"})
    assert len(found) == 1 and "are the same answer" in found[0], found


def test_numbers_are_accepted_answers(tmp_path):
    bank = "questions:\n  - question: How many minutes for sencha?\n    answers: [1, one]\n"
    config = load_config(config_dir_with(tmp_path, {"quizzes/numbers.yaml": bank}))
    assert config.quizzes["numbers"].questions[0].answers == ("1", "one")


def test_the_dry_run_checks_the_answer_modal_of_each_free_text_question(tmp_path):
    config = load_config(config_dir_with(tmp_path, {"community.yaml": {"messages": {
        "participation.quiz_modal_label": "L" * 46}}}))
    found = [str(p) for p in dry_run(config)]
    assert any("participation.quiz_modal_label" in p and "46" in p for p in found), found
    assert not [str(p) for p in dry_run(load_config(CONFIG))]


# --- playing --------------------------------------------------------------------------------------------
async def start(g, questions: int = 1, seconds: int = 20):
    await g.slash("/quiz start", user="mod", bank="words", questions=questions, seconds=seconds)
    q = g.channel("quiz").messages[-1]
    while not q.embeds[0]["description"].startswith("What") or q.buttons[0] != "✏️ Answer":
        # the choice question of the bank: answer nothing, let it pass
        await g.advance(seconds=seconds + 5)
        q = g.channel("quiz").messages[-1]
    return q


async def test_members_type_answers_and_the_way_they_type_does_not_matter(harness):
    g = await harness()
    await g.slash("/quiz start", user="mod", bank="words", questions=4, seconds=20)
    q = g.channel("quiz").messages[-1]
    while q.buttons != ["✏️ Answer"]:           # to the first free-text question
        await g.advance(seconds=25)
        q = g.channel("quiz").messages[-1]
    assert "Type your answer" in q.embeds[0]["description"]
    assert "Wrong? Try again — up to 3 tries each. A right answer counts at once." in q.embeds[0]["description"]
    right = accepted(q)[0]
    r = await g.click("✏️ Answer", on=q, user="alice")
    modal = g.modal_for("alice")
    [field] = g.modal_fields(modal)
    assert field["label"] == "Your answer" and field["max_length"] == 100
    assert field["placeholder"] == q.embeds[0]["description"].splitlines()[0][:100]
    r = await g.submit_modal({"answer": f"  {right.upper()}！"}, user="alice")          # at once: full bonus
    assert r.ephemeral and r.content.startswith(f"✅ **{right.upper()}！** is right! Your answer is locked in")
    await g.advance(seconds=10)
    await g.click("✏️ Answer", on=q, user="bob")
    await g.submit_modal({"answer": f"「{right}」"}, user="bob")                      # half-way: half bonus
    await g.click("✏️ Answer", on=q, user="carol")
    await g.submit_modal({"answer": "coffee"}, user="carol")                         # wrong
    await g.advance(seconds=10)
    reveal = g.channel("quiz").messages[-1]
    assert reveal.embeds[0]["fields"][0]["value"] == "2 of 3 got it right"
    assert reveal.embeds[0]["description"].startswith(f"**{right}**\nAlso accepted: {', '.join(accepted(q)[1:])}")
    assert q.buttons == ["✏️ Answer"] and q.button_components[0]["disabled"]  # greyed out in place
    alice, bob, carol = (g.user_id(n) for n in ("alice", "bob", "carol"))
    # exactly the scoring of a choice question: 2 for taking part, 10 right, up to 10 for speed
    points = {u: await g.app.participation.points(g.app.guild_id, u) for u in (alice, bob, carol)}
    assert points == {alice: 22, bob: 17, carol: 2}
    row = await g.app.db.fetchone("SELECT choice, text FROM quiz_answers WHERE user_id = ?", (carol,))
    assert (row["choice"], row["text"]) == (-1, "coffee")


async def test_an_answer_after_a_right_one_is_refused_before_the_modal_opens(harness):
    g = await harness()
    q = await start(g)
    await g.click("✏️ Answer", on=q, user="alice")
    await g.submit_modal({"answer": accepted(q)[0]}, user="alice")
    r = await g.click("✏️ Answer", on=q, user="alice")
    assert r.ephemeral and r.content == "You already got this one right: your answer is locked in."
    assert g.modal_for("alice") is None


async def test_a_modal_submitted_after_the_close_is_refused(harness):
    """The member opened the modal in time but sent it after the question closed."""
    g = await harness()
    q = await start(g)
    await g.click("✏️ Answer", on=q, user="alice")
    g.clock.advance(seconds=21)                     # typing slowly; the timer fires at the next step
    r = await g.submit_modal({"answer": accepted(q)[0]}, user="alice")
    assert r.ephemeral and r.content == "This question is closed."
    await g.advance(seconds=1)
    reveal = next(m for m in g.channel("quiz").messages if m.embeds and "Answer to" in m.embeds[0]["title"])
    assert reveal.embeds[0]["fields"][0]["value"] == "0 of 0 got it right"


async def test_punctuation_alone_is_not_an_answer(harness):
    g = await harness()
    q = await start(g)
    await g.click("✏️ Answer", on=q, user="alice")
    r = await g.submit_modal({"answer": "？？"}, user="alice")
    assert r.ephemeral and r.content == "Type an answer first: that one was empty."
    await g.click("✏️ Answer", on=q, user="alice")   # nothing was recorded: they may still answer
    assert g.modal_for("alice") is not None


async def test_a_restart_keeps_the_answer_button_working(harness):
    g = await harness()
    q = await start(g)
    await g.restart()
    await g.click("✏️ Answer", on=q, user="alice")
    r = await g.submit_modal({"answer": accepted(q)[-1]}, user="alice")
    assert r.content.startswith("✅")
    await g.advance(seconds=20)
    reveal = next(m for m in g.channel("quiz").messages if m.embeds and "Answer to" in m.embeds[0]["title"])
    assert reveal.embeds[0]["fields"][0]["value"] == "1 of 1 got it right"


@pytest.fixture
def keep_discord_logging():
    """The playground CLI quiets discord.py's logger for the whole process; later tests (the harness's
    strict mode reads logged errors) need it back as it was."""
    import logging

    logger = logging.getLogger("discord")
    level = logger.level
    yield
    logger.setLevel(level)


def test_the_playground_answers_a_free_text_quiz(capsys, tmp_path, keep_discord_logging):
    from bot.__main__ import main

    bank = "name: Words\nquestions:\n  - question: What is powdered green tea called?\n    answers: [matcha, 抹茶]\n"
    config = config_dir_with(tmp_path, {"quizzes/words.yaml": bank})
    script = tmp_path / "script.txt"
    script.write_text("/quiz start bank:words questions:1 seconds:30\n:as alice\n:click Answer\n"
                      "answer: ＭＡＴＣＨＡ！\n:wait 30s\n", encoding="utf-8")
    assert main(["playground", "--config", str(config), "--script", str(script),
                 "--files", str(tmp_path / "files")]) == 0
    t = capsys.readouterr().out
    assert "┃ What is powdered green tea called?" in t and "[1 ✏️ Answer]" in t
    assert "┏ form: Question 1" in t and "┃ Your answer (required; max 100)" in t
    assert "✅ **ＭＡＴＣＨＡ！** is right!" in t
    assert "┃ **matcha**" in t and "1 of 1 got it right" in t and "[1 ✏️ Answer (disabled)]" in t


async def test_an_answer_typed_while_the_bot_restarted_still_counts(harness):
    """discord.py keeps the modals it showed in memory only: the member's client still shows the form
    after a restart, and what they send then is answered from the modal's custom id."""
    g = await harness()
    q = await start(g, seconds=60)
    await g.click("✏️ Answer", on=q, user="alice")
    shown = dict(g.modals)                 # what the members' clients still show
    await g.restart()
    g.modals.update(shown)
    r = await g.submit_modal({"answer": accepted(q)[0].upper()}, user="alice")
    assert r.ephemeral and r.content.startswith(f"✅ **{accepted(q)[0].upper()}** is right!")
    row = await g.app.db.fetchone("SELECT correct, text FROM quiz_answers WHERE user_id = ?", (g.user_id("alice"),))
    assert row["correct"] == 1


async def test_a_modal_sent_twice_counts_once(harness):
    """Two forms open for one question (two devices): once the first was right, the second submission
    is refused, not counted."""
    g = await harness()
    q = await start(g)
    await g.click("✏️ Answer", on=q, user="alice")
    shown = dict(g.modals)
    await g.submit_modal({"answer": accepted(q)[0]}, user="alice")
    g.modals.update(shown)
    r = await g.submit_modal({"answer": "tea"}, user="alice")
    assert r.content == "You already got this one right: your answer is locked in."
    rows = await g.app.db.fetchall("SELECT text, tries FROM quiz_answers WHERE user_id = ?", (g.user_id("alice"),))
    assert [(r["text"], r["tries"]) for r in rows] == [(accepted(q)[0], 1)]
