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
