"""A Japanese community (`community.language: ja`) speaks Japanese everywhere a member can see:
refusals, errors, replies, buttons, modals, posts in channels and threads."""
from __future__ import annotations

import re

import pytest

from bot.clock import FakeClock
from tests.helpers import config_with

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")  # kana or kanji


def japanese(text: str | None) -> bool:
    return bool(text and JAPANESE.search(text))


@pytest.fixture
def ja_config(tmp_path):
    return config_with(tmp_path, {"community.yaml": {"community": {"language": "ja"}}})


async def test_refusals_and_errors_are_japanese(harness, ja_config):
    g = await harness(config=ja_config)
    assert g.app.catalogue.language == "ja"
    replies = {
        "moderator-only /ama open": await g.slash("/ama open", user="alice", guest="bob", topic="x"),
        "moderator-only /ama close": await g.slash("/ama close", user="alice"),
        "moderator-only /stats": await g.slash("/stats", user="alice"),
        "no session": await g.slash("/ama ask", user="alice", question="こんにちは"),
        "bad end time": await g.slash("/ama open", user="mod", guest="carol", topic="お茶", until="soonish"),
        "visitor asks": await g.slash("/ama upvote", user="vera", id=1, where="lounge"),
    }
    assert replies["moderator-only /stats"].content == "この操作はモデレーターのみ実行できます。"
    for name, reply in replies.items():
        assert reply.ephemeral, name
        assert japanese(reply.content), f"{name}: {reply.content!r}"


async def test_an_ama_in_japanese_from_open_to_summary(harness, ja_config):
    g = await harness(config=ja_config)
    r = await g.slash("/ama open", user="mod", guest="carol", topic="冬のお茶")
    assert japanese(r.content)
    opening = g.channel("lounge").messages[-1]
    assert japanese(opening.content) and opening.buttons == ["質問する"]
    assert japanese(opening.thread.name)
    await g.click("質問する", on=opening, user="alice")
    modal = g.modal_for("alice")
    assert japanese(modal["title"])
    assert all(japanese(f["label"]) for f in g.modal_fields(modal))
    r = await g.submit_modal({"question": "おすすめは？"}, user="alice")
    assert japanese(r.content)
    question = opening.thread.messages[-1]
    assert japanese(question.content) and all(japanese(b) for b in question.buttons)
    r = await g.click(index=1, on=question, user="bob")
    assert japanese(r.content)
    questions = await g.slash("/ama questions", user="carol")
    await g.slash("/ama answer", user="carol", id=1)
    assert japanese(g.modal_for("carol")["title"])
    answered = await g.submit_modal({"answer": "ほうじ茶です"}, user="carol")
    for reply in (questions, answered, await g.slash("/ama close", user="mod")):
        assert japanese(reply.content), reply.content
    thread_posts = opening.thread.messages
    assert thread_posts and all(japanese(m.content) for m in thread_posts), [m.content for m in thread_posts]


async def test_stats_in_japanese(harness, ja_config):
    from datetime import datetime, timezone

    g = await harness(config=ja_config, clock=FakeClock(datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)))
    r = await g.slash("/stats", user="mod", period="week")
    lines = r.content.splitlines()
    assert lines and all(japanese(line) for line in lines), r.content
    assert r.files and r.files[0][1][:8] == b"\x89PNG\r\n\x1a\n"


# Member-facing commands of the other areas that need no setup. A reply must be Japanese.
OTHER_AREAS = [
    ("/me", "alice", {}),
    ("/leaderboard", "alice", {}),
    ("/feedback mine", "alice", {}),
    ("/community info", "alice", {}),
    ("/setup", "alice", {}),            # moderator-only: refused
    ("/schedule list", "alice", {}),    # moderator-only: refused
    ("/applications list", "alice", {}),  # moderator-only: refused
]


@pytest.mark.parametrize("command,user,options", OTHER_AREAS, ids=[c for c, _, _ in OTHER_AREAS])
async def test_other_areas_answer_in_japanese(harness, ja_config, command, user, options):
    g = await harness(config=ja_config)
    if command not in g.command_names():
        pytest.skip(f"{command} does not exist (yet)")
    r = await g.slash(command, user=user, **options)
    texts = [r.content] + [" ".join([e.get("title", ""), e.get("description", "")]
                                    + [f.get("name", "") for f in e.get("fields", [])]) for e in r.embeds]
    texts += r.message.layout_texts if r.message else []  # a card (the leaderboard)
    assert any(japanese(t) for t in texts), f"{command}: {texts!r}"
