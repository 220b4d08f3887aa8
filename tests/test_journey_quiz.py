"""Journey: a moderator starts a long quiz in an empty room (issue 15, "A 10-question quiz nobody answers
still posts 21 messages"). After two questions in a row without an answer the quiz ends, and says so;
a quiz people play goes on to the end. Each question's closing time is a Discord relative timestamp,
which every client shows in the reader's own time zone ("in 20 seconds")."""
from __future__ import annotations

import re


def quiz_posts(g):
    return [m for m in g.channel("quiz").messages if m.embeds or m.is_layout]


def card(message) -> dict:
    """The results card as title and description (its heading's first line, its ranking)."""
    heading, ranking = message.layout_texts
    return {"title": heading.splitlines()[0].removeprefix("## "), "description": ranking}


async def test_a_quiz_nobody_answers_stops_after_two_silent_questions(harness):
    g = await harness()
    await g.slash("/quiz start", user="mod", bank="tea", questions=10, seconds=20)
    first = quiz_posts(g)[-1]
    closes = re.search(r"Closes <t:(\d+):R>", first.embeds[0]["description"])
    assert closes and int(closes.group(1)) == int(g.clock.now().timestamp()) + 20
    await g.advance(minutes=10)
    posts = quiz_posts(g)
    assert len(posts) == 5  # question, reveal, question, reveal, the end
    end = card(posts[-1])
    assert end["title"] == "🏆 Quiz results"
    assert end["description"].startswith("Nobody answered the last 2 questions, so I stopped the quiz after"
                                         " question 2 of 10.")
    r = await g.slash("/quiz start", user="mod", bank="tea", questions=2, seconds=20)  # the run is over
    assert r.content.startswith("Quiz started")


async def test_a_quiz_with_one_answer_every_other_question_runs_to_the_end(harness):
    g = await harness()
    await g.slash("/quiz start", user="mod", bank="tea", questions=4, seconds=20)
    for number in range(1, 5):
        question = quiz_posts(g)[-1]
        assert question.embeds[0]["title"].endswith(f"Question {number}/4")
        if number % 2:
            await g.click(index=1, on=question, user="alice")
        await g.advance(seconds=30)
    end = card(quiz_posts(g)[-1])
    assert end["title"] == "🏆 Quiz results" and "stopped" not in end["description"]
    assert "/4 right" in end["description"]


# --- typed answers: a typo can be retried (issue 20's closing note) ----------------------------------------
LANGUAGES = ("name: Languages\nquestions:\n"
             "  - question: Which language did Microsoft make for .NET?\n    answers: [C#, C sharp]\n")
IDOLS = ("name: アイドル\nquestions:\n"
         "  - question: 「LOVEマシーン」を歌ったグループは？\n    answers: [モーニング娘。]\n")


async def test_a_member_retries_a_typo_and_another_runs_out_of_tries(harness, tmp_path):
    """Alice types "C" for C#, is told it isn't it and how many tries are left, the bot restarts, she
    types Ｃ＃ on her phone's full-width keyboard, and it locks in. Bob misses three times and is told
    that was his last try. The reveal and the points count each member once."""
    from tests.helpers import config_with

    g = await harness(config=config_with(tmp_path, {"quizzes/languages.yaml": LANGUAGES}))
    await g.slash("/quiz start", user="mod", bank="languages", questions=1, seconds=20)
    q = quiz_posts(g)[-1]
    assert "Wrong? Try again — up to 3 tries each. A right answer counts at once." in q.embeds[0]["description"]
    await g.click("✏️ Answer", on=q, user="alice")
    r = await g.submit_modal({"answer": "C"}, user="alice")
    assert r.ephemeral and r.content == ("❌ **C** isn't it. Press **Answer** to try again before the question"
                                         " closes: 2 tries left.")
    await g.restart()                                            # the tries are in the database
    g.clock.advance(seconds=5)
    await g.click("✏️ Answer", on=q, user="alice")
    assert g.modal_for("alice") is not None
    r = await g.submit_modal({"answer": "Ｃ＃"}, user="alice")
    assert r.ephemeral and r.content.startswith("✅ **Ｃ＃** is right! Your answer is locked in")
    r = await g.click("✏️ Answer", on=q, user="alice")
    assert r.content == "You already got this one right: your answer is locked in." and g.modal_for("alice") is None
    for typed, left in (("C++", "2 tries"), ("F#", "1 try")):
        await g.click("✏️ Answer", on=q, user="bob")
        r = await g.submit_modal({"answer": typed}, user="bob")
        assert r.content.endswith(f"{left} left."), r.content
    await g.click("✏️ Answer", on=q, user="bob")
    r = await g.submit_modal({"answer": "C"}, user="bob")
    assert r.content == ("❌ **C** isn't it, and that was your last try at this question. The answer is revealed"
                         " when it closes.")
    r = await g.click("✏️ Answer", on=q, user="bob")
    assert r.content == "You've used all your tries at this question (3). The answer is revealed when it closes."
    assert g.modal_for("bob") is None
    await g.advance(seconds=20)
    reveal = next(m for m in quiz_posts(g) if m.embeds and "Answer to" in m.embeds[0]["title"])
    assert reveal.embeds[0]["fields"][0]["value"] == "1 of 2 got it right"
    alice, bob = g.user_id("alice"), g.user_id("bob")
    # alice: taking part 2, right 10, and the bonus of the moment she was right (5 s of 20: 7.5), halved
    # for her one wrong try (4); each of them counted once
    assert {u: await g.app.participation.points(g.app.guild_id, u) for u in (alice, bob)} == {alice: 16, bob: 2}
    assert card(quiz_posts(g)[-1])["description"] == (f"**1.** <@{alice}> — 16 points (1/1 right)\n"
                                                       f"**2.** <@{bob}> — 2 points (0/1 right)")


async def test_a_japanese_answer_keeps_its_full_stop_and_the_reply_says_how_many_tries_are_left(harness, tmp_path):
    from tests.helpers import config_with

    g = await harness(config=config_with(tmp_path, {"community.yaml": {"community": {"language": "ja"}},
                                                    "quizzes/idols.yaml": IDOLS}))
    await g.slash("/quiz start", user="mod", bank="idols", questions=1, seconds=20)
    q = quiz_posts(g)[-1]
    assert "一人3回まで" in q.embeds[0]["description"]
    await g.click("✏️ 回答する", on=q, user="alice")
    r = await g.submit_modal({"answer": "モーニング娘"}, user="alice")     # the 。 is part of the name
    assert r.content == "❌ **モーニング娘** は正解ではありません。締め切りまでに「回答する」からもう一度答えられます（残り2回）。"
    await g.click("✏️ 回答する", on=q, user="alice")
    r = await g.submit_modal({"answer": "ﾓｰﾆﾝｸﾞ娘｡"}, user="alice")        # half-width kana and ｡
    assert r.content.startswith("✅ **ﾓｰﾆﾝｸﾞ娘｡** で正解！")
    r = await g.click("✏️ 回答する", on=q, user="alice")
    assert r.content == "この問題にはもう正解しています。回答は確定済みです。"
