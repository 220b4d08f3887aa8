"""Journey: a member reads the community's channels (issue 15, "as the persona"). Daily prompts, quiz
questions, reveals and results, drop announcements and draws, the welcome post are posted as the configured persona
(Sakura-chan, through the persona webhook), like scheduled posts and content reveals already are —
and they keep working: prompt threads take answers, quiz buttons take clicks, drop buttons claim."""
from __future__ import annotations

import pytest

PERSONA = "Sakura-chan"
USERS = {"mod": ["moderator", "member"], "alice": ["member"], "bob": ["member"], "bea": ["member", "blossom"],
         "vera": ["visitor"]}


def by_persona(message) -> bool:
    return message.webhook_id is not None and message.username == PERSONA


async def prompt_posts(g):
    await g.advance(days=1)  # schedules.yaml: prompt.post daily at 09:00
    post = g.channel("daily-prompt").messages[-1]
    await g.say(post.thread, "Gyokuro!", user="alice")  # its thread still takes answers
    assert await g.app.participation.points(g.app.guild_id, g.user_id("alice")) == 10
    return [post]


async def quiz_posts(g):
    await g.slash("/quiz start", user="mod", bank="tea", questions=1, seconds=20)
    question = g.channel("quiz").messages[-1]
    r = await g.click(index=1, on=question, user="alice")  # its buttons still take answers
    assert r.ephemeral and r.content.startswith("Got it")
    await g.advance(seconds=30)
    return [m for m in g.channel("quiz").messages if m.embeds or m.is_layout]  # the results are a card


async def drop_posts(g):
    await g.slash("/drop open", user="mod", drop="tea-master-workshop")
    post = g.channel("announcements").messages[-1]
    assert "entered" in (await g.click("Enter", on=post, user="bea")).content  # its button still works
    await g.slash("/drop close", user="mod", drop="tea-master-workshop", seed="s")
    return [m for m in g.channel("announcements").messages]


async def welcome_posts(g):
    await g.slash("/setup", user="mod")
    post = g.channel("welcome").messages[-1]
    r = await g.click("Join", on=post, user="vera")  # its button still works: the application form opens
    assert r.modal is not None
    return [post]


@pytest.mark.parametrize("walk", [prompt_posts, quiz_posts, drop_posts, welcome_posts],
                         ids=["prompt", "quiz", "drop", "welcome"])
async def test_community_posts_come_from_the_persona(harness, walk):
    g = await harness(users=USERS)
    posts = await walk(g)
    assert len(posts) >= 1
    assert [m.author for m in posts if not by_persona(m)] == []
