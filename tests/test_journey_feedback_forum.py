"""Feedback in a forum (issue 20, item 3): when the feedback channel is a forum, each item is a post tagged
with its category and status; a status change moves the tag; 👍 on the starter message is an upvote;
members' replies in the post are kept with the item. Everything through the harness: the forum and its
tags as /setup makes them, the requests validated against Discord's spec."""
from __future__ import annotations

import pytest

from tests.helpers import config_with

FORUM = {"community.yaml": {"channels": {"feedback": {"kind": "public", "forum": True}}}}


async def send(g, user, *, title="More oolong", text="Please bring back the winter oolong.", category="Product"):
    await g.slash("/feedback send", user=user)
    return await g.submit_modal({"category": category, "title": title, "text": text}, user=user)


@pytest.fixture
async def forum_g(harness, tmp_path):
    return await harness(config=config_with(tmp_path, FORUM))


async def test_each_item_is_a_post_tagged_with_its_category_and_status(forum_g):
    g = forum_g
    forum = g.channel("feedback")
    assert forum.is_forum
    assert [t["name"] for t in forum.available_tags] == ["Product", "Event", "Community", "Bug", "New",
                                                         "Under review", "Planned", "Done", "Declined"]
    reply = await send(g, "alice")
    assert "#1" in reply.content
    [post] = forum.threads
    assert post.name == "#1 · More oolong" and post.tags == ["Product", "New"]
    starter = post.starter
    assert starter.embeds[0]["description"] == "Please bring back the winter oolong." and not starter.pings_anyone
    assert "Planned" in starter.buttons
    item = await g.app.feedback.get(g.world.guild_id, 1)
    assert item.post_message_id == post.id  # the starter message shares the post's id


async def test_a_status_change_moves_the_status_tag(forum_g):
    g = forum_g
    await send(g, "alice", category="Bug", title="Cup handle", text="The handle cracked.")
    [post] = g.channel("feedback").threads
    await g.click("Under review", on=post.starter, user="mod")
    assert post.tags == ["Bug", "Under review"]
    await g.click("Planned", on=post.starter, user="mod")
    assert post.tags == ["Bug", "Planned"]
    await g.set_post_tags(post, ["Event"], user="mod")  # someone re-tags it by hand: the item is the truth
    await g.restart()
    assert post.tags == ["Bug", "Planned"]  # put right by the re-sync after the start
    await g.click("Done", on=post.starter, user="mod")
    assert post.tags == ["Bug", "Done"]
    patches = [r.json for r in g.requests if r.method == "PATCH" and r.json and "applied_tags" in r.json]
    assert len(patches) == 4  # one edit per status change and one re-sync, each valid against the spec


async def test_upvotes_come_from_thumbs_up_on_the_starter_message(forum_g):
    g = forum_g
    await send(g, "alice")
    [post] = g.channel("feedback").threads
    await g.react(post.starter, "👍", user="bob")
    await g.react(post.starter, "👍", user="carol")
    await g.react(post.starter, "👍", user="alice")  # the author's own reaction is not an upvote
    await g.react(post.starter, "🍵", user="mod")  # nor is any other emoji
    assert (await g.app.feedback.get(g.world.guild_id, 1)).upvotes == 2
    await g.unreact(post.starter, "👍", user="carol")
    assert (await g.app.feedback.get(g.world.guild_id, 1)).upvotes == 1
    await g.click("Upvote", on=post.starter, user="carol")  # the button still works, and counts once
    await g.react(post.starter, "👍", user="carol")
    assert (await g.app.feedback.get(g.world.guild_id, 1)).upvotes == 2


async def test_members_replies_in_the_post_are_kept_with_the_item(forum_g):
    g = forum_g
    await send(g, "alice")
    [post] = g.channel("feedback").threads
    first = await g.say(post, "Yes please, the winter oolong was the best.", user="bob")
    second = await g.say(post, f"<@{g.world.bot_user_id}> +1 from me", user="carol")  # Discord shares this text
    replies = await g.app.feedback.forum.replies(1)
    assert [(r["message_id"], r["author_id"]) for r in replies] == [(first.id, g.user_id("bob")),
                                                                     (second.id, g.user_id("carol"))]
    assert replies[0]["content"] == ""  # no message-content intent: who and when, not what
    assert "+1 from me" in replies[1]["content"]
    await g.restart()
    assert len(await g.app.feedback.forum.replies(1)) == 2


async def test_a_text_feedback_channel_is_unchanged(harness):
    g = await harness()
    await send(g, "alice")
    assert not g.channel("feedback").is_forum and g.channel("feedback").threads == []
    assert g.channel("feedback").messages[-1].embeds[0]["title"].startswith("#1")
