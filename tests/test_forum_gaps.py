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
