"""The hot clicks (drop claim, quiz answer) answered from the gateway payload give the very replies
discord.py's own path gives: the same clicks, once each way, send byte-identical interaction replies."""
from __future__ import annotations

import re

import discord

from bot.fast_clicks import FastClicks
from tests.helpers import config_with

USERS = {"mod": ["moderator", "member"], "alice": ["member"], "bob": ["member"], "carol": ["member"],
         "vera": ["visitor"], "bea": ["member", "blossom"]}
DROPS = """
drops:
  - id: mini
    item: Mini tin
    stock: 2
    waitlist: true
  - id: members-only
    item: Members pin
    stock: 5
    early: {blossom: 1h}
"""


def test_this_discord_py_still_has_what_the_fast_path_uses():
    assert FastClicks.supported(), "discord.py moved an internal bot/fast_clicks.py uses: update it"


def replies(g) -> list[tuple[str, object]]:
    """Every interaction reply body, error ids masked (they are random)."""
    out = []
    for req in g.requests:
        if req.path.endswith("/callback"):
            out.append((req.method, re.sub(r"error id [0-9a-f]{8}", "error id <id>", repr(req.json))))
    return out


async def claim_story(harness, tmp_path, *, fast: bool) -> tuple[list, list[str]]:
    g = await harness(config=config_with(tmp_path / ("fast" if fast else "slow"), {"drops.yaml": DROPS}),
                      users=USERS, db_path=tmp_path / f"{fast}.db")
    g.bot.fast_clicks.enabled = fast
    await g.slash("/drop open", user="mod", drop="members-only")
    pin = g.channel("announcements").messages[-1]
    await g.slash("/drop open", user="mod", drop="mini")
    mini = g.channel("announcements").messages[-1]
    texts = []
    for who, post in [("vera", pin), ("alice", pin), ("bea", pin),       # members only / not yet / early
                      ("alice", mini), ("alice", mini), ("bob", mini),   # granted / already / granted
                      ("carol", mini), ("carol", mini)]:                 # waitlisted / already waitlisted
        texts.append((await g.click(index=1, on=post, user=who)).content)
    return replies(g), texts


async def test_claim_clicks_answer_the_same_either_way(harness, tmp_path):
    slow = await claim_story(harness, tmp_path, fast=False)
    fast = await claim_story(harness, tmp_path, fast=True)
    assert fast == slow
    texts = slow[1]
    assert "members only" in texts[0] and "is yours" in texts[3] and "already hold" in texts[4]
    assert "waitlist" in texts[6]


async def test_a_claim_click_builds_no_interaction_and_an_unexpected_error_still_gets_its_id(harness, tmp_path,
                                                                                            monkeypatch):
    g = await harness(config=config_with(tmp_path, {"drops.yaml": DROPS}), users=USERS)
    await g.slash("/drop open", user="mod", drop="mini")
    post = g.channel("announcements").messages[-1]
    built = []
    real = discord.Interaction.__init__
    monkeypatch.setattr(discord.Interaction, "__init__", lambda self, **kw: built.append(1) or real(self, **kw))
    assert "is yours" in (await g.click("Claim", on=post, user="alice")).content
    assert built == []  # the fast path: no discord.Interaction for a hot click
    r = await g.click("Claim", on=post, user="alice")
    assert "already hold" in r.content and r.ephemeral
    assert built == []  # ... nor for a refusal (a UserError: the text report_error would send)

    async def broken(*args, **kwargs):
        raise RuntimeError("the database fell over")

    monkeypatch.setattr(g.app.drops, "press", broken)
    with g.allow_errors():
        r = await g.click("Claim", on=post, user="bob")
    assert re.search(r"error id [0-9a-f]{8}", r.content) and r.ephemeral  # the error id the log also carries
    assert built == [1]  # the error reply is rendered by report_error on a real Interaction


async def quiz_story(harness, tmp_path, *, fast: bool) -> tuple[list, list[str]]:
    g = await harness(db_path=tmp_path / f"quiz-{fast}.db")
    g.bot.fast_clicks.enabled = fast
    await g.slash("/quiz start", user="mod", bank="tea", questions=1, seconds=20)
    question = g.channel("quiz").messages[-1]
    texts = [(await g.click(index=1, on=question, user="alice")).content,
             (await g.click(index=2, on=question, user="alice")).content,  # a second answer is refused
             (await g.click(index=2, on=question, user="bob")).content]
    return replies(g), texts


async def test_quiz_answers_answer_the_same_either_way(harness, tmp_path):
    slow = await quiz_story(harness, tmp_path, fast=False)
    fast = await quiz_story(harness, tmp_path, fast=True)
    assert fast == slow
    first, second, _ = slow[1]
    assert first != second and len(slow[0]) >= 4  # the /quiz start reply and three answers


async def test_nothing_listens_for_the_interaction_event_the_fast_path_skips(harness):
    g = await harness()
    listeners = g.bot.extra_events.get("on_interaction", [])
    # one that reads modal submissions only (the quiz's typed answers) misses nothing: clicks alone go fast
    blind = [listener for listener in listeners if not getattr(listener, "modal_submissions_only", False)]
    assert not blind and not hasattr(g.bot, "on_interaction"), (
        "an on_interaction listener would miss hot clicks: see bot/fast_clicks.py")


async def test_a_fast_reply_asks_for_no_response_and_builds_each_text_once(harness, tmp_path, monkeypatch):
    # nothing reads the created message back, so the fast path lets Discord answer 204 (no message payload);
    # discord.py's own path asks for it. The body for a text is built once while allowed_mentions stays.
    from bot import fast_clicks

    built = []
    real = fast_clicks._webhook_internals.interaction_message_response_params
    monkeypatch.setattr(fast_clicks._webhook_internals, "interaction_message_response_params",
                        lambda **kw: built.append(kw["content"]) or real(**kw))
    g = await harness(config=config_with(tmp_path, {"drops.yaml": DROPS}), users=USERS)
    await g.slash("/drop open", user="mod", drop="mini")
    post = g.channel("announcements").messages[-1]
    texts = [(await g.click(index=1, on=post, user=who)).content for who in ("alice", "alice", "alice", "bob")]
    assert "already hold" in texts[1] and texts[1] == texts[2]
    assert built.count(texts[1]) == 1  # the second refusal reuses the first one's body
    callbacks = [req for req in g.requests if req.path.endswith("/callback")]
    assert [req.params for req in callbacks[-4:]] == [{}] * 4
    assert callbacks[0].params == {"with_response": "1"}  # /drop open took discord.py's path
    g.bot._connection.allowed_mentions = discord.AllowedMentions(everyone=False, users=True, roles=False)
    again = await g.click(index=1, on=post, user="alice")
    assert again.content == texts[1] and built.count(texts[1]) == 2  # new allowed_mentions: built afresh
    last = [req for req in g.requests if req.path.endswith("/callback")][-1]
    assert last.json["data"]["allowed_mentions"] == {"parse": ["users"], "replied_user": True} != callbacks[-2].json["data"]["allowed_mentions"]
