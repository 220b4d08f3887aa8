"""Journeys through the help forum (issue 21, "Support in the open"): a member asks, the team answers in
public, the post is solved and promoted to the FAQ; a post nobody from the team answers is escalated
once; a quiet post is closed once; restarts in between change nothing; /stats shows the times the
journey itself took on the fake clock."""
from __future__ import annotations

from datetime import timedelta

import pytest
import yaml

from bot.config import load_config
from tests.helpers import config_dir_with

HELP = "help"


def post_titled(g, title):
    posts = [t for t in g.channel(HELP).threads if t.name == title]
    assert len(posts) == 1, [t.name for t in g.channel(HELP).threads]
    return posts[0]


def texts(g, channel):
    return [m.content for m in g.channel(channel).messages]


async def ask(g, user, title, details, topic=None):
    options = {"topic": topic} if topic else {}
    reply = await g.slash("/help ask", user=user, **options)
    assert g.modal_for(user) is not None, reply.content
    return await g.submit_modal({"Title": title, "Details": details}, user=user)


@pytest.fixture
def config_dir(tmp_path):
    """A copy of the example config: promotion writes faq.yaml."""
    return config_dir_with(tmp_path / "cfg")


async def test_ask_staff_answer_solved_then_promoted_to_the_faq(harness, config_dir):
    g = await harness(config=load_config(config_dir))
    asked = await ask(g, "alice", "Which cup keeps gyokuro warm?", "My gyokuro goes cold in the glass cup @everyone",
                      topic="brewing")
    assert "#1" in asked.content and asked.ephemeral
    post = post_titled(g, "Which cup keeps gyokuro warm?")
    assert post.tags == ["Brewing", "Open"]
    starter = post.starter
    assert starter is not None and "goes cold" in starter.content and not starter.pings_anyone
    assert "Solved" in starter.buttons
    assert any("Which cup keeps gyokuro warm?" in t for t in texts(g, "mod-queue"))

    await g.advance(minutes=25)
    await g.say(post, "A thick-walled yunomi, warmed with hot water first.", user="mod")
    assert post.tags == ["Brewing", "Answered"]
    answer = post.messages[-1]

    await g.context_menu("Mark as solution", user="alice", message=answer)
    assert post.tags == ["Brewing", "Solved"]
    assert any("Marked solved" in m.content for m in post.messages)

    reply = await g.slash("/help promote", user="mod", where=post)
    modal = g.modal_for("mod")
    fields = {f["custom_id"]: f for f in g.modal_fields(modal)}
    assert fields["answer"]["value"] == "A thick-walled yunomi, warmed with hot water first."  # the answer picked
    assert fields["question"]["value"] == "Which cup keeps gyokuro warm?"
    done = await g.submit_modal({"key": fields["key"]["value"], "question": fields["question"]["value"],
                                 "answer": fields["answer"]["value"]}, user="mod")
    assert "FAQ entry" in done.content, done.content
    written = yaml.safe_load((config_dir / "faq.yaml").read_text(encoding="utf-8"))["entries"]
    assert written[-1]["question"] == "Which cup keeps gyokuro warm?" and written[-1]["topic"] == "brewing"
    assert written[-1]["source_post"] == post.id
    assert "# Answers the team stands behind" in (config_dir / "faq.yaml").read_text(encoding="utf-8")  # comments kept
    assert load_config(config_dir).faq.entries[-1].key == fields["key"]["value"]  # `check` reads it back
    found = await g.slash("/help search", user="bob", query="gyokuro cold cup")
    assert "thick-walled yunomi" in found.content  # the reloaded FAQ answers the next member


async def test_a_members_own_post_in_the_forum_becomes_a_question_and_a_follow_up_reopens_it(harness):
    g = await harness()
    post = await g.forum_post(HELP, "Tracking number missing", "I never got a tracking e-mail", user="bob",
                              tags=["Orders & shipping"])
    assert post.tags == ["Orders & shipping", "Open"]
    assert any("Thank you for asking" in m.content for m in post.messages)
    assert any("Tracking number missing" in t for t in texts(g, "mod-queue"))
    await g.say(post, "Checking your order now!", user="mod")
    assert post.tags == ["Orders & shipping", "Answered"]
    await g.say(post, "Still nothing here, sorry", user="bob")  # the asker again: back to open
    assert post.tags == ["Orders & shipping", "Open"]
    await g.click("Solved", on=next(m for m in post.messages if m.buttons), user="bob")
    assert post.tags == ["Orders & shipping", "Solved"]


async def test_helping_someone_else_counts_as_participation_once_per_post(harness):
    g = await harness()
    post = await g.forum_post(HELP, "Matcha clumps", "How do I whisk without lumps?", user="bob", tags=["Brewing"])
    await g.say(post, "Sift it first!", user="alice")
    await g.say(post, "And use 80°C water.", user="alice")
    assert await g.app.participation.points(g.world.guild_id, g.user_id("alice")) == 5
    assert await g.app.participation.points(g.world.guild_id, g.user_id("bob")) == 0  # asking is not answering
    assert post.tags == ["Brewing", "Open"]  # a member's help is welcome, but the team has not answered


async def test_a_member_cannot_mark_someone_elses_post_solved(harness):
    g = await harness()
    post = await g.forum_post(HELP, "Event tickets", "Where do I get them?", user="bob", tags=["Events & collabs"])
    reply = await g.slash("/help solved", user="carol", where=post)
    assert "Only the person who asked" in reply.content
    assert post.tags == ["Events & collabs", "Open"]


async def test_an_unanswered_post_is_escalated_exactly_once_across_a_restart(harness):
    g = await harness()
    post = await g.forum_post(HELP, "Refund for a broken tin", "It arrived dented", user="bob",
                              tags=["Orders & shipping"])
    await g.advance(hours=2)
    await g.say(post, "Anyone?", user="bob")  # the asker's own bump is not an answer
    await g.restart()  # the timer is re-armed from the database
    await g.advance(hours=3)
    escalations = [t for t in texts(g, "mod-log") if "Refund for a broken tin" in t and "without an answer" in t]
    assert len(escalations) == 1, texts(g, "mod-log")
    assert "4h" in escalations[0]
    await g.restart()
    await g.advance(days=1)
    assert len([t for t in texts(g, "mod-log") if "without an answer" in t]) == 1
    assert await g.app.support.escalate((await g.app.support.by_thread(post.id)).id) is False  # claimed once


async def test_an_answered_post_is_not_escalated(harness):
    g = await harness()
    post = await g.forum_post(HELP, "Roles", "How do I get Green Leaf?", user="bob", tags=["Account & roles"])
    await g.advance(hours=1)
    await g.say(post, "Answer prompts and quizzes for 30 days!", user="mod")
    await g.advance(hours=10)
    assert not [t for t in texts(g, "mod-log") if "without an answer" in t]


async def test_an_inactive_post_is_closed_once_with_a_dm_across_a_restart(harness):
    g = await harness()
    post = await g.forum_post(HELP, "Collab card", "When does the card arrive?", user="carol",
                              tags=["Events & collabs"])
    await g.say(post, "Cards ship next week.", user="mod")
    await g.advance(days=2)
    await g.say(post, "Thanks, waiting!", user="carol")  # activity moves the deadline
    await g.restart()
    await g.advance(days=2, hours=23)
    assert not post.locked
    await g.advance(hours=2)
    closing = [m for m in post.messages if "closing it" in m.content]
    assert len(closing) == 1 and post.locked and post.archived
    assert post.tags == ["Events & collabs", "Closed"]
    dms = [m for m in g.dms("carol") if "quiet for 3d" in m.content]
    assert len(dms) == 1 and not dms[0].pings_anyone
    await g.restart()
    await g.advance(days=4)
    assert len([m for m in post.messages if "closing it" in m.content]) == 1
    assert len([m for m in g.dms("carol") if "quiet for 3d" in m.content]) == 1
    with pytest.raises(Exception):
        await g.say(post, "hello?", user="carol")  # locked: a new question needs a new post


async def test_a_restart_between_asking_and_answering_changes_nothing(harness):
    g = await harness()
    await ask(g, "alice", "Gift wrapping", "Can you gift-wrap a tin?", topic="orders")
    await g.restart()
    post = post_titled(g, "Gift wrapping")
    assert post.tags == ["Orders & shipping", "Open"]
    assert len(g.channel(HELP).threads) == 1  # not posted twice
    assert len([t for t in texts(g, "mod-queue") if "Gift wrapping" in t]) == 1
    await g.advance(minutes=30)
    await g.say(post, "Yes, add a note at checkout.", user="mod")
    await g.restart()
    stored = await g.app.support.by_thread(post.id)
    assert stored.state == "answered" and stored.first_response_at - stored.asked_at == timedelta(minutes=30)


async def test_stats_show_the_response_times_the_journey_took(harness):
    g = await harness()
    waits = {"Tin lid stuck": 10, "Hojicha storage": 20, "Event dress code": 60}
    posts = {}
    for title in waits:
        posts[title] = await g.forum_post(HELP, title, "details", user="bob", tags=["Brewing"])
    start = g.clock.now()
    for title, minutes in sorted(waits.items(), key=lambda kv: kv[1]):
        await g.advance_to(start + timedelta(minutes=minutes))
        await g.say(posts[title], "Here is how.", user="mod")
    await g.advance_to(start + timedelta(minutes=90))
    await g.click("Solved", on=next(m for m in posts["Tin lid stuck"].messages if m.buttons), user="bob")
    await g.forum_post(HELP, "Nobody answers this", "details", user="carol", tags=["Orders & shipping"])

    reply = await g.slash("/stats", user="mod")
    text = reply.content
    # three answered after 10, 20 and 60 minutes: median 20m, p90 (nearest rank) 1h; one solved after 90m
    assert "4 asked · 1 waiting for a first answer" in text, text
    assert "median 20m · p90 1h (3 answered)" in text, text
    assert "Solved: median 1h30m · p90 1h30m (1 solved)" in text, text
    assert "· Brewing: 3 asked · first answer 20m / 1h · solved 1h30m / 1h30m · 0 waiting" in text, text
    assert "· Orders & shipping: 1 asked · first answer — / — · solved — / — · 1 waiting" in text, text
    assert [name for name, _ in reply.files] == [f"stats-week-{g.app.stats.today().isoformat()}.png",
                                                 f"help-week-{g.app.stats.today().isoformat()}.png"]
    assert all(data.startswith(b"\x89PNG") for _, data in reply.files)


async def test_help_search_and_the_ask_form_suggest_the_faq_first(harness):
    g = await harness()
    found = await g.slash("/help search", user="alice", query="sencha bitter water")
    assert "70-80°C" in found.content
    reply = await ask(g, "alice", "Sencha tastes bitter", "Is my water too hot?", topic="brewing")
    assert "Before you post" in reply.content and "70-80°C" in reply.content
    assert g.channel(HELP).threads == []  # not posted yet: the member decides
    await g.click("Post my question anyway", on=reply, user="alice")
    assert post_titled(g, "Sencha tastes bitter").tags == ["Brewing", "Open"]


async def test_a_question_becomes_a_feedback_item_with_one_action(harness):
    g = await harness()
    post = await g.forum_post(HELP, "Please sell smaller tins", "The 200g tin is too big for me", user="bob",
                              tags=["Orders & shipping"])
    reply = await g.slash("/help feedback", user="mod", where=post, category="product")
    assert "feedback item #1" in reply.content
    item = await g.app.feedback.get(g.world.guild_id, 1)
    assert item.author_id == g.user_id("bob") and item.title == "Please sell smaller tins"
    again = await g.slash("/help feedback", user="mod", where=post)
    assert "already turned into feedback" in again.content
    refused = await g.slash("/help feedback", user="alice", where=post)
    assert refused.content == g.app.t("core.not_moderator")


async def test_the_ask_form_takes_an_optional_screenshot_shown_in_the_post(harness):
    g = await harness()
    await g.slash("/help ask", user="carol", topic="orders")
    fields = {f["custom_id"]: f for f in g.modal_fields(g.modal_for("carol"))}
    assert fields["screenshot"]["type"] == 19 and fields["screenshot"]["required"] is False  # a file upload
    png = b"\x89PNG fake screenshot"
    await g.submit_modal({"Title": "Checkout error", "Details": "The page shows error 500",
                          "screenshot": ("error.png", png)}, user="carol")
    post = post_titled(g, "Checkout error")
    assert post.starter.files == [("error.png", png)]


async def test_the_weekly_digest_carries_the_help_desk_figures_and_chart(harness):
    g = await harness()
    post = await g.forum_post(HELP, "Wrong blend shipped", "I got genmaicha, not hojicha", user="bob",
                              tags=["Orders & shipping"])
    await g.advance(minutes=45)
    await g.say(post, "So sorry! A replacement is on its way.", user="mod")
    await g.app.stats.digest(g.app.guild_id, g.clock.now() + timedelta(days=1), {})
    await g.settle()
    [digest] = [m for m in g.channel("mod-log").messages if m.files]
    assert "🙋 **Help desk**: 1 asked · 0 waiting for a first answer" in digest.content
    assert "First answer from the team: median 45m · p90 45m (1 answered)" in digest.content
    assert [name.split("-")[0] for name, _ in digest.files] == ["stats", "help"]


async def test_the_help_desk_speaks_japanese_in_a_japanese_community(harness, tmp_path):
    from tests.helpers import config_with

    g = await harness(config=config_with(tmp_path, {"community.yaml": {"community": {"language": "ja"}}}))
    post = await g.forum_post(HELP, "配送について", "まだ届きません", user="bob", tags=["Orders & shipping"])
    assert post.tags == ["Orders & shipping", "受付中"]
    assert any("質問ありがとうございます" in m.content for m in post.messages)
    await g.say(post, "確認します！", user="mod")
    assert post.tags == ["Orders & shipping", "回答あり"]
    reply = await g.slash("/help solved", user="carol", where=post)
    assert "質問した本人かチーム" in reply.content


def test_an_faq_entry_is_appended_keeping_the_teams_comments_or_the_file_is_rewritten_from_its_data():
    from bot.config.faq import FaqEntry
    from bot.services.support import faq_with_entry

    entry = FaqEntry(key="b", question="Q2?", answer="A2 — 抹茶", topic="brewing")
    kept = faq_with_entry("# ours\nentries:\n    - key: a   # first\n      question: Q?\n      answer: A.\n", entry)
    assert kept.startswith("# ours\nentries:\n    - key: a   # first\n")
    assert yaml.safe_load(kept)["entries"][1] == {"key": "b", "question": "Q2?", "answer": "A2 — 抹茶",
                                                 "topic": "brewing"}
    inline = faq_with_entry("entries: [{key: a, question: 'Q?', answer: A.}]\nnote: x\n", entry)
    assert [e["key"] for e in yaml.safe_load(inline)["entries"]] == ["a", "b"]
    assert yaml.safe_load(inline)["note"] == "x"
    assert [e["key"] for e in yaml.safe_load(faq_with_entry(None, entry))["entries"]] == ["b"]


async def test_only_a_solved_post_can_be_promoted(harness):
    g = await harness()
    post = await g.forum_post(HELP, "Gift cards", "Do you sell them?", user="bob")
    reply = await g.slash("/help promote", user="mod", where=post)
    assert "not solved yet" in reply.content and g.modal_for("mod") is None
    refused = await g.slash("/help promote", user="alice", where=post)
    assert refused.content == g.app.t("core.not_moderator")
    elsewhere = await g.slash("/help solved", user="bob", where="lounge")
    assert "inside a help post" in elsewhere.content


async def test_search_suggests_solved_posts_too(harness):
    g = await harness()
    post = await g.forum_post(HELP, "Discord role for collab card holders", "I hold the card but have no role",
                              user="bob", tags=["Account & roles"])
    found = await g.slash("/help search", user="alice", query="collab card role")
    assert "Nothing in the FAQ" in found.content  # open posts are not answers yet
    await g.say(post, "Link your card on the website, the role follows within an hour.", user="mod")
    await g.slash("/help solved", user="bob", where=post)
    found = await g.slash("/help search", user="alice", query="collab card role")
    assert "Solved before: **Discord role for collab card holders**" in found.content
    assert f"<#{post.id}>" in found.content


async def test_after_a_restart_the_state_tags_follow_the_database_again(harness):
    g = await harness()
    post = await g.forum_post(HELP, "Loyalty points", "Where do I see them?", user="bob", tags=["Account & roles"])
    await g.say(post, "In /rank!", user="mod")
    await g.set_post_tags(post, ["Account & roles"], user="mod")  # the state tag lost (by hand, or a crash)
    await g.restart()
    assert post.tags == ["Account & roles", "Answered"]


async def test_a_solved_posts_title_is_listed_as_member_text_never_as_a_link(harness):
    """/help search lists solved posts with the same renderer as the welcome in a new post
    (SupportService.suggestions_text): the title is relayed, so a masked link in it stays text."""
    from bot.services.safety import relay

    g = await harness()
    title = "Role for [collab card](https://evil.example) holders"
    post = await g.forum_post(HELP, title, "I hold the card but have no role", user="bob", tags=["Account & roles"])
    await g.say(post, "Link your card on the website, the role follows within an hour.", user="mod")
    await g.slash("/help solved", user="bob", where=post)
    found = await g.slash("/help search", user="alice", query="collab card role")
    assert "[collab card](https://evil.example)" not in found.content
    assert f"Solved before: **{relay(title)}**" in found.content and f"<#{post.id}>" in found.content
