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
