"""Gaps the first help-desk and forum-feedback builds left (reported by their engineers), each named
after what someone would have seen: a lost staff-queue notice, feedback tags left wrong after a
restart, a member's own feedback post that became nothing."""
from __future__ import annotations

from tests.test_journey_help import HELP, ask, post_titled, texts


async def test_a_crash_after_the_ask_post_went_out_still_tells_the_team_and_tracks_the_post(harness):
    g = await harness()
    # the process dies right after the post went out and its sending was recorded: the help desk's
    # own hook (where the post is, the notice) never runs
    g.app.outbox._sent_hooks.remove(g.app.support._on_sent)
    await ask(g, "alice", "Lid stuck on the tin", "It will not open", topic="orders")
    post = post_titled(g, "Lid stuck on the tin")
    assert not [t for t in texts(g, "mod-queue") if "Lid stuck" in t]
    await g.restart()
    notices = [t for t in texts(g, "mod-queue") if "Lid stuck" in t]
    assert len(notices) == 1 and f"<#{post.id}>" in notices[0], notices
    await g.say(post, "Run it under hot water for a moment.", user="mod")  # the post is known again
    assert post.tags == ["Orders & shipping", "Answered"]
    await g.restart()
    assert len([t for t in texts(g, "mod-queue") if "Lid stuck" in t]) == 1


# --- feedback posts' tags are put right after a start, like help posts' ---------------------------------
import pytest  # noqa: E402

from tests.helpers import config_with  # noqa: E402
from tests.test_journey_feedback_forum import FORUM, send  # noqa: E402


@pytest.fixture
async def forum_g(harness, tmp_path):
    return await harness(config=config_with(tmp_path, FORUM))


async def test_after_a_restart_feedback_posts_tags_follow_the_items_again(forum_g):
    g = forum_g
    await send(g, "alice", category="Bug", title="Cup handle", text="The handle cracked.")
    await send(g, "bob", category="Product", title="More sencha", text="Bigger tins please.")
    cup, sencha = sorted(g.channel("feedback").threads, key=lambda t: t.id)
    await g.click("Planned", on=cup.starter, user="mod")
    await g.set_post_tags(cup, ["Event"], user="mod")  # changed by hand (or the tag edit was lost)
    await g.set_post_tags(sencha, ["Product", "Done", "Bug"], user="mod")
    await g.restart()
    assert cup.tags == ["Bug", "Planned"]  # "Event" is a category tag: the item's is Bug
    assert sencha.tags == ["Product", "New"]


async def test_a_lost_status_tag_edit_is_put_right_at_the_next_start(forum_g):
    g = forum_g
    await send(g, "alice", category="Bug", title="Cup handle", text="The handle cracked.")
    [post] = g.channel("feedback").threads
    forum = g.app.forum
    g.app.feedback.forum.app.forum = None  # the tag edit is lost (a crash, Discord unreachable)
    await g.click("Under review", on=post.starter, user="mod")
    g.app.forum = forum
    assert post.tags == ["Bug", "New"]
    await g.restart()
    assert post.tags == ["Bug", "Under review"]


# --- a member's own post in the feedback forum is a feedback item ------------------------------------------
async def test_a_members_own_post_in_the_feedback_forum_becomes_an_item_tagged_by_what_they_chose(forum_g):
    g = forum_g
    post = await g.forum_post("feedback", "Cup handle cracked", "It cracked on day two.", user="alice",
                              tags=["Bug"])
    item = await g.app.feedback.get(g.world.guild_id, 1)
    assert (item.author_id, item.category, item.title, item.status) == (g.user_id("alice"), "bug",
                                                                         "Cup handle cracked", "new")
    assert item.post_message_id == item.post_channel_id == post.id  # the member's post is the item's post
    assert post.tags == ["Bug", "New"]
    [card] = [m for m in post.messages if m.author_id == g.world.bot_user_id]  # the triage card, in the post
    assert card.embeds[0]["title"].startswith("#1") and "Planned" in card.buttons
    assert len(g.channel("feedback").threads) == 1  # no second post for it
    await g.click("Planned", on=card, user="mod")
    assert post.tags == ["Bug", "Planned"]
    assert any("#1" in m.content for m in g.dms("alice"))  # the status DM, as for /feedback
    await g.react(post.starter, "👍", user="bob")
    assert (await g.app.feedback.get(g.world.guild_id, 1)).upvotes == 1


async def test_a_post_without_a_category_tag_gets_the_default_category(forum_g):
    g = forum_g
    post = await g.forum_post("feedback", "More events in Osaka", "Please!", user="bob")
    item = await g.app.feedback.get(g.world.guild_id, 1)
    assert item.category == g.app.config.community.feedback.categories[0]
    assert post.tags == ["Product", "New"]


async def test_a_risky_forum_post_is_flagged_to_the_mod_queue_like_feedback_send(forum_g):
    g = forum_g
    await g.forum_post("feedback", "I want a refund for the broken tin", "Arrived dented.", user="carol",
                       tags=["Product"])
    item = await g.app.feedback.get(g.world.guild_id, 1)
    assert item.flagged and "refund" in item.flag_reasons
    queued = [m for m in g.channel("mod-queue").messages if m.embeds and m.embeds[0]["title"].startswith("#1")]
    assert len(queued) == 1


async def test_a_forum_post_seen_twice_or_across_a_restart_makes_one_item(forum_g):
    g = forum_g
    post = await g.forum_post("feedback", "Matcha whisk holder", "Could you sell one?", user="alice",
                              tags=["Product"])
    g.deliver("THREAD_CREATE", g.channel("feedback").threads[0].payload() | {"newly_created": True})
    await g.settle()
    await g.restart()
    g.deliver("THREAD_CREATE", post.payload() | {"newly_created": True})
    await g.settle()
    rows = await g.app.db.fetchall("SELECT id FROM feedback_items")
    assert len(rows) == 1
    assert len([m for m in post.messages if m.author_id == g.world.bot_user_id]) == 1


# --- a status change and its DM are one transaction ----------------------------------------------------------
from bot.errors import UserError  # noqa: E402
from tests.test_submission_atomic import BOB, GUILD, MOD, Killed, kill_when_queuing, open_app  # noqa: E402


async def test_a_crash_as_the_status_dm_is_queued_leaves_the_change_to_be_made_again(tmp_path):
    app = await open_app(tmp_path / "s.db")
    try:
        item = await app.feedback.submit(GUILD, BOB, category="product", title="Lids", text="Tighter lids please.")
        kill_when_queuing(app, "feedback:status:")
        with pytest.raises(Killed):
            await app.feedback.set_status(GUILD, item.id, "planned", actor_id=MOD)
    finally:
        await app.close()
    app = await open_app(tmp_path / "s.db")  # the restart
    try:
        assert (await app.feedback.get(GUILD, item.id)).status == "new"  # nothing half-done
        await app.feedback.set_status(GUILD, item.id, "planned", actor_id=MOD)  # the moderator clicks again
        await app.outbox.drain()
        dms = await app.db.fetchall("SELECT status FROM outbox WHERE dedupe_key = ?",
                                    (f"feedback:status:{item.id}:planned",))
        assert [r["status"] for r in dms] == ["sent"]
    finally:
        await app.close()


async def test_a_crash_after_a_feedback_post_went_out_still_ties_the_post_to_its_item(forum_g):
    g = forum_g
    g.app.outbox._sent_hooks.remove(g.app.feedback._remember_post)  # dies before the post is recorded
    await send(g, "alice", category="Bug", title="Cup handle", text="The handle cracked.")
    [post] = g.channel("feedback").threads
    await g.restart()
    item = await g.app.feedback.get(g.world.guild_id, 1)
    assert item.post_message_id == item.post_channel_id == post.id
    await g.react(post.starter, "👍", user="bob")  # upvotes, replies and tags follow the post again
    assert (await g.app.feedback.get(g.world.guild_id, 1)).upvotes == 1
    await g.click("Planned", on=post.starter, user="mod")
    assert post.tags == ["Bug", "Planned"]


async def test_a_crash_after_the_closing_words_went_out_still_locks_the_post(harness):
    g = await harness()
    post = await g.forum_post(HELP, "Collab card", "When does it arrive?", user="carol", tags=["Events & collabs"])
    g.app.outbox._sent_hooks.remove(g.app.support._on_sent)  # dies before the post is locked
    await g.advance(days=3, hours=1)
    assert [m for m in post.messages if "closing it" in m.content] and not post.locked
    await g.restart()
    assert post.locked and post.archived
    assert post.tags == ["Events & collabs", "Closed"]


async def test_a_crash_while_a_question_becomes_feedback_leaves_it_to_be_done_again(tmp_path, monkeypatch):
    from bot.db import support as support_repo

    app = await open_app(tmp_path / "q.db")
    try:
        post = await app.support.ask(GUILD, BOB, title="Bigger tins", details="Could you sell 500 g tins?")
        await app.outbox.drain()
        kill_when_queuing(app, "feedback:post:")

        async def dead(*args, **kw):  # a killed process writes nothing more, not even a clean-up
            raise Killed("dead")

        monkeypatch.setattr(support_repo, "set_feedback", dead, raising=False)  # the old clean-up
        with pytest.raises(Killed):
            await app.support.to_feedback(GUILD, post.id, actor_id=MOD)
    finally:
        await app.close()
    monkeypatch.undo()
    app = await open_app(tmp_path / "q.db")  # the restart
    try:
        item = await app.support.to_feedback(GUILD, post.id, actor_id=MOD)  # not "already feedback"
        assert (await app.support.get(GUILD, post.id)).feedback_item_id == item.id
        assert len(await app.db.fetchall("SELECT id FROM feedback_items")) == 1
        with pytest.raises(UserError):
            await app.support.to_feedback(GUILD, post.id, actor_id=MOD)  # once per post
        assert len(await app.db.fetchall("SELECT id FROM feedback_items")) == 1
    finally:
        await app.close()
