"""Posts opened while the bot was down (issue 21's closing note): at start the bot lists the guild's active
threads (GET /guilds/{guild_id}/threads/active, validated against Discord's spec like every request) and a
member's post in the help forum or the feedback forum gets what a live post gets: a help question
(welcome, staff-queue notice, state tags, escalation and inactivity timers counted from when it was
asked) or a feedback item (the triage card in the post, tags, upvotes). Exactly once: the next starts,
and a live event racing the scan, change nothing."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.helpers import config_with
from tests.test_journey_feedback_forum import FORUM
from tests.test_journey_help import HELP, ask, post_titled, texts

ACTIVE = "/guilds/{guild_id}/threads/active"


def welcomes(post):
    return [m for m in post.messages if "Thank you for asking" in m.content]


def cards(g, post):
    return [m for m in post.messages if m.author_id == g.world.bot_user_id and m.embeds]


def queue_notices(g, title):
    return [t for t in texts(g, "mod-queue") if title in t]


@pytest.fixture
async def forum_g(harness, tmp_path):
    """The example community with its feedback channel a forum (the help channel is one already)."""
    return await harness(config=config_with(tmp_path, FORUM))


async def test_a_help_post_opened_while_the_bot_was_down_becomes_a_question_when_it_starts(harness):
    g = await harness()
    async with g.bot_stopped():
        post = await g.forum_post(HELP, "Tin arrived dented", "The lid will not close", user="bob",
                                  tags=["Orders & shipping"])
        asked = g.clock.now()
        await g.advance(hours=1)
        assert post.tags == ["Orders & shipping"] and not welcomes(post)  # nobody was there to see it
    assert any(r.method == "GET" and r.path == ACTIVE for r in g.requests)
    assert post.tags == ["Orders & shipping", "Open"]
    assert len(welcomes(post)) == 1 and "Solved" in welcomes(post)[0].buttons
    assert len(queue_notices(g, "Tin arrived dented")) == 1
    stored = await g.app.support.by_thread(post.id)
    assert (stored.asker_id, stored.source, stored.state) == (g.user_id("bob"), "forum", "open")
    assert stored.asked_at == asked  # when the member asked, not when the bot saw it: the figures stay true

    await g.advance(hours=2, minutes=59)
    assert not [t for t in texts(g, "mod-log") if "Tin arrived dented" in t]
    await g.advance(minutes=2)  # four hours after asking, as for a post the bot saw live
    escalations = [t for t in texts(g, "mod-log") if "Tin arrived dented" in t and "without an answer" in t]
    assert len(escalations) == 1 and "4h" in escalations[0], texts(g, "mod-log")
    await g.say(post, "Please send us a photo of the dent.", user="mod")
    assert post.tags == ["Orders & shipping", "Answered"]


async def test_a_feedback_post_opened_while_the_bot_was_down_becomes_an_item_when_it_starts(forum_g):
    g = forum_g
    async with g.bot_stopped():
        post = await g.forum_post("feedback", "Cup handle cracked", "It cracked on day two.", user="alice",
                                  tags=["Bug"])
    item = await g.app.feedback.get(g.world.guild_id, 1)
    assert (item.author_id, item.category, item.title, item.status) == (g.user_id("alice"), "bug",
                                                                         "Cup handle cracked", "new")
    assert item.post_message_id == item.post_channel_id == post.id
    assert post.tags == ["Bug", "New"]
    [card] = cards(g, post)
    assert card.embeds[0]["title"].startswith("#1") and "Planned" in card.buttons
    assert len(g.channel("feedback").threads) == 1  # no second post for it
    await g.react(post.starter, "👍", user="bob")  # the post is the item's: upvotes count
    assert (await g.app.feedback.get(g.world.guild_id, 1)).upvotes == 1
    await g.click("Planned", on=card, user="mod")
    assert post.tags == ["Bug", "Planned"]


@pytest.mark.parametrize("forum", ["help", "feedback"])
async def test_a_post_caught_up_at_start_is_handled_once_across_two_more_restarts(forum_g, forum):
    g = forum_g
    if forum == "help":
        await ask(g, "alice", "Gift wrapping", "Can you gift-wrap a tin?", topic="orders")  # the bot's own post
        own = post_titled(g, "Gift wrapping")
    else:
        await g.slash("/feedback send", user="alice")
        await g.submit_modal({"category": "Product", "title": "More oolong", "text": "Winter oolong please."},
                             user="alice")
        [own] = g.channel("feedback").threads
    live = await g.forum_post(forum, "Seen live", "Posted while the bot was up.", user="carol", tags=[])
    async with g.bot_stopped():
        missed = await g.forum_post(forum, "Posted while away", "Nobody home?", user="bob", tags=[])

    def counts():
        if forum == "help":
            return (len(welcomes(missed)), len(welcomes(live)), len(welcomes(own)),
                    len(queue_notices(g, "Posted while away")), len(queue_notices(g, "Seen live")))
        return (len(cards(g, missed)), len(cards(g, live)), len(cards(g, own)))

    # the bot's own post: no welcome (help); its starter message is its only card (feedback)
    wanted = (1, 1, 0, 1, 1) if forum == "help" else (1, 1, 1)
    assert counts() == wanted
    await g.restart()
    assert counts() == wanted
    await g.restart()
    assert counts() == wanted
    assert len([r for r in g.requests if r.method == "GET" and r.path == ACTIVE]) >= 3  # it did look each time
    if forum == "help":
        rows = await g.app.db.fetchall("SELECT thread_id FROM help_posts ORDER BY id")
        assert [r["thread_id"] for r in rows] == [own.id, live.id, missed.id]
    else:
        rows = await g.app.db.fetchall("SELECT post_message_id FROM feedback_items ORDER BY id")
        assert [r["post_message_id"] for r in rows] == [own.id, live.id, missed.id]
    assert len(g.channel(forum).threads) == 3


async def test_a_scan_racing_the_live_event_makes_one_question(harness):
    g = await harness()
    async with g.bot_stopped():
        post = await g.forum_post(HELP, "Raced", "Which one wins?", user="bob", tags=["Brewing"])
    # the same post announced live as well (a THREAD_CREATE replayed after the scan): still one question
    g.deliver("THREAD_CREATE", post.payload() | {"newly_created": True})
    await g.settle()
    assert len(welcomes(post)) == 1 and len(queue_notices(g, "Raced")) == 1
    assert await g.app.db.fetchval("SELECT COUNT(*) FROM help_posts") == 1


async def test_a_failed_scan_is_tried_again_at_the_next_start(harness):
    g = await harness()
    async with g.bot_stopped():
        post = await g.forum_post(HELP, "Unlucky start", "Discord hiccuped", user="bob", tags=["Brewing"])
        g.fake.inject("500", route=f"GET {ACTIVE}")
    assert not welcomes(post)  # said in the log (a warning), not an error
    await g.restart()
    assert len(welcomes(post)) == 1 and post.tags == ["Brewing", "Open"]


async def test_posts_outside_the_two_forums_and_the_bots_own_are_left_alone(harness):
    g = await harness()
    await ask(g, "alice", "Asked with the command", "Details here", topic="brewing")
    own = post_titled(g, "Asked with the command")
    before = len(own.messages)
    async with g.bot_stopped():
        pass
    assert len(own.messages) == before
    assert len(queue_notices(g, "Asked with the command")) == 1
    assert await g.app.db.fetchval("SELECT COUNT(*) FROM help_posts") == 1
    assert await g.app.db.fetchval("SELECT COUNT(*) FROM feedback_items") == 0


async def test_a_help_post_quiet_for_longer_than_the_close_time_while_away_is_not_closed_at_once(harness):
    g = await harness()
    async with g.bot_stopped():
        post = await g.forum_post(HELP, "Long weekend", "Anyone?", user="bob", tags=["Brewing"])
        await g.advance(days=4)  # longer than help.close_after_inactive (3d)
    assert len(welcomes(post)) == 1 and not post.locked  # the team only now hears of it
    await g.advance(days=2)
    assert not post.locked
    await g.advance(days=1, minutes=1)  # three quiet days after the bot saw it
    assert post.locked
    stored = await g.app.support.by_thread(post.id)
    assert stored.state == "closed" and stored.asked_at + timedelta(days=4) <= stored.last_activity_at


ARCHIVED = "/channels/{channel_id}/threads/archived/public"


@pytest.mark.parametrize("forum", ["help", "feedback"])
async def test_a_post_opened_and_archived_while_the_bot_was_down_is_still_caught_up(forum_g, forum):
    g = forum_g
    mark = len(g.requests)
    async with g.bot_stopped():
        post = await g.forum_post(forum, "Weekend question", "Asked on Friday night.", user="bob", tags=[])
        await g.advance(days=1)
        await g.archive_post(post)  # a day without activity: Discord archives it
        await g.advance(days=1)
    assert len([r for r in g.requests[mark:] if r.method == "GET" and r.path == ARCHIVED]) == 2  # one per forum
    if forum == "help":
        assert len(welcomes(post)) == 1 and len(queue_notices(g, "Weekend question")) == 1
        assert (await g.app.support.by_thread(post.id)).state == "open"
    else:
        assert len(cards(g, post)) == 1
        assert (await g.app.feedback.get(g.world.guild_id, 1)).post_message_id == post.id
    assert not post.archived  # the bot's message in it brought it back, as on Discord
    await g.restart()
    assert len(welcomes(post) if forum == "help" else cards(g, post)) == 1


async def test_posts_archived_before_the_catch_up_window_are_left_alone(harness):
    g = await harness()
    async with g.bot_stopped():
        old = await g.forum_post(HELP, "From long ago", "Before the bot watched this forum", user="bob", tags=[])
        await g.archive_post(old)
        await g.advance(days=8)
        recent = await g.forum_post(HELP, "Just now", "While the bot was down", user="carol", tags=[])
    assert not welcomes(old) and old.archived
    assert len(welcomes(recent)) == 1


@pytest.mark.parametrize("when", ["live", "while the bot was down"])
async def test_a_members_post_is_welcomed_with_the_faq_entries_that_match_its_title(harness, when):
    g = await harness()
    if when == "live":
        post = await g.forum_post(HELP, "How long does shipping take to Europe?", "Ordered Monday", user="bob",
                                  tags=["Orders & shipping"])
    else:
        async with g.bot_stopped():
            post = await g.forum_post(HELP, "How long does shipping take to Europe?", "Ordered Monday", user="bob",
                                      tags=["Orders & shipping"])
    [welcome] = welcomes(post)
    assert "these might already answer it" in welcome.content
    assert "How long does shipping take?" in welcome.content and "overseas 7-14 days" in welcome.content
    other = await g.forum_post(HELP, "Matcha whisk broke", "Bamboo snapped", user="carol", tags=["Brewing"])
    assert "might already answer" not in welcomes(other)[0].content  # nothing matches: the plain welcome


async def test_a_post_whose_event_was_lost_with_an_invalidated_session_is_caught_up_at_the_new_ready(harness):
    g = await harness()
    g.disconnect()
    post = await g.forum_post(HELP, "Lost in the gap", "Posted while the gateway was away", user="bob",
                              tags=["Brewing"])
    await g.resume(replay=False)  # the session could not resume: Discord drops the held THREAD_CREATE
    assert len(welcomes(post)) == 1 and post.tags == ["Brewing", "Open"]
    assert len(queue_notices(g, "Lost in the gap")) == 1
