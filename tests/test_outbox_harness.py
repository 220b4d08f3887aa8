"""The outbox through the bot's real Discord port (discord.py) against the fake Discord: a crash at any
point of a send, then a restart, leaves exactly one message; Discord's answers (429, 5xx, timeouts,
4xx) are each handled as what they are, and a refused message is reported with its real cause."""
from __future__ import annotations

from datetime import timedelta

import pytest

from bot.offline.http import NONCE_WINDOW, SimulatedCrash
from bot.services.messages import Button, OutMessage, Target
from bot.services.outbox import NONCE_TRUST

POST = "POST /channels/{channel_id}/messages"
WEBHOOK = "POST /webhooks/{webhook_id}/{webhook_token}"
EDIT = "PATCH /channels/{channel_id}/messages/{message_id}"
THREAD = "POST /channels/{channel_id}/messages/{message_id}/threads"
TOO_LONG = {"embeds": {"0": {"description": {"_errors": [
    {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 4096 or fewer in length."}]}}}}


def posts_to(g, route_prefix: str) -> list:
    return [r for r in g.requests if f"{r.method} {r.path}".startswith(route_prefix)]


def interrupted_notes(g) -> list[str]:
    return [m.content for m in g.channel("mod-log").messages if "interrupted" in m.content]


# --- the fake Discord keeps Discord's promise ------------------------------------------------------------
async def test_the_same_nonce_within_the_window_returns_the_first_message(harness):
    g = await harness()
    channel = g.bot.get_channel(g.channel("lounge").id)
    first = await channel.send("hello", nonce="kizuna-nonce-1")
    again = await channel.send("hello", nonce="kizuna-nonce-1")
    assert again.id == first.id and again.nonce == "kizuna-nonce-1"
    assert [m.content for m in g.channel("lounge").messages] == ["hello"]
    g.clock.advance(seconds=NONCE_WINDOW.total_seconds() + 1)
    later = await channel.send("hello", nonce="kizuna-nonce-1")
    assert later.id != first.id and len(g.channel("lounge").messages) == 2
    assert NONCE_TRUST < NONCE_WINDOW  # the outbox never leans on the nonce longer than Discord keeps it
    await g.settle()


async def test_a_message_sent_by_the_outbox_carries_the_rows_nonce_with_enforce_nonce(harness):
    g = await harness()
    await g.app.outbox.post(g.app.guild_id, Target.channel("lounge"), OutMessage("hi"), dedupe_key="t:nonce")
    await g.settle()
    [request] = posts_to(g, "POST /channels/")
    assert request.json["enforce_nonce"] is True and 0 < len(request.json["nonce"]) <= 25


# --- a crash at each point of each kind of send ----------------------------------------------------------
SENDS = {
    "channel post": (Target.channel("lounge"), OutMessage("Morning tea is served."), POST),
    "persona post": (Target.channel("announcements"), OutMessage("Irasshaimase!", as_persona=True), WEBHOOK),
    "post with a thread": (Target.channel("lounge"), OutMessage("Today's prompt", thread_name="Answers"), POST),
    "persona post with a thread": (Target.channel("announcements"),
                                   OutMessage("A reveal!", as_persona=True, thread_name="Answers"), WEBHOOK),
    "DM": (None, OutMessage("Your code: `TEA-123`"), POST),
}


def where(g, target: Target | None):
    return target or Target.dm(g.user_id("bob"))


def delivered(g, target: Target, content: str) -> list:
    messages = g.dms("bob") if target.kind == "dm" else g.channel(target.value).messages
    return [m for m in messages if m.content == content]


@pytest.mark.parametrize("late", [False, True], ids=["restart at once", "restart after the nonce window"])
@pytest.mark.parametrize("after", [False, True], ids=["before Discord took it", "after Discord took it"])
@pytest.mark.parametrize("kind", list(SENDS))
async def test_a_crash_during_a_send_then_a_restart_leaves_exactly_one_message(harness, kind, after, late):
    g = await harness()
    target, message, route = SENDS[kind]
    target = where(g, target)
    g.fake.inject("crash", route=route, after=after)
    await g.app.outbox.post(g.app.guild_id, target, message, dedupe_key=f"t:crash:{kind}")
    with pytest.raises(SimulatedCrash):
        await g.settle()
    assert len(delivered(g, target, message.content)) == (1 if after else 0)
    if late:
        g.clock.advance(minutes=10)  # past the nonce window: the bot must look in the channel
    await g.restart()
    [post] = delivered(g, target, message.content)
    row = await g.app.db.fetchone("SELECT status, message_id FROM outbox WHERE dedupe_key = ?", (f"t:crash:{kind}",))
    assert (row["status"], row["message_id"]) == ("sent", post.id)
    if message.thread_name:
        assert post.thread is not None and post.thread.name == "Answers"
    if message.as_persona:
        assert post.webhook_id is not None
    assert interrupted_notes(g) == []


async def test_a_crash_between_the_post_and_its_thread_opens_the_thread_on_the_same_message(harness):
    g = await harness()
    g.fake.inject("crash", route=THREAD)
    message = OutMessage("Today's prompt", thread_name="Answers")
    await g.app.outbox.post(g.app.guild_id, Target.channel("lounge"), message, dedupe_key="t:thread")
    with pytest.raises(SimulatedCrash):
        await g.settle()
    await g.restart()
    [post] = delivered(g, Target.channel("lounge"), "Today's prompt")
    assert post.thread is not None and post.thread.name == "Answers"


@pytest.mark.parametrize("after", [False, True], ids=["before", "after"])
async def test_a_crash_during_an_edit_edits_once_more_and_posts_nothing(harness, after):
    g = await harness()
    lounge = Target.channel("lounge")
    await g.app.outbox.post(g.app.guild_id, lounge, OutMessage("Q1", buttons=(Button("A", custom_id="kizuna:t:a"),)),
                            dedupe_key="t:q1")
    await g.settle()
    g.fake.inject("crash", route=EDIT, after=after)
    await g.app.outbox.post(g.app.guild_id, lounge, OutMessage("Q1 (closed)", replaces="t:q1"), dedupe_key="t:q1:x")
    with pytest.raises(SimulatedCrash):
        await g.settle()
    await g.restart()
    [message] = g.channel("lounge").messages
    assert message.content == "Q1 (closed)"


async def test_an_interrupted_post_the_bot_cannot_check_is_reported_not_resent(harness):
    g = await harness()
    g.fake.inject("crash", route=POST, after=True)
    await g.app.outbox.post(g.app.guild_id, Target.channel("lounge"), OutMessage("once"), dedupe_key="t:blind")
    with pytest.raises(SimulatedCrash):
        await g.settle()
    g.deny_bot("lounge", "read_message_history")
    g.clock.advance(minutes=10)
    await g.restart()
    assert len(delivered(g, Target.channel("lounge"), "once")) == 1
    assert len(interrupted_notes(g)) == 1 and "t:blind" in interrupted_notes(g)[0]
    row = await g.app.db.fetchone("SELECT status FROM outbox WHERE dedupe_key = 't:blind'")
    assert row["status"] == "unknown"


# --- temporary answers: retried, and delivered once ------------------------------------------------------
@pytest.mark.parametrize("kind,after,times", [
    ("500", False, 3), ("502", False, 2), ("502", True, 1), ("timeout", False, 3), ("timeout", True, 2),
])
async def test_server_errors_and_timeouts_are_retried_with_backoff_and_deliver_once(harness, kind, after, times):
    g = await harness()
    g.fake.inject(kind, route=POST, times=times, after=after)
    await g.app.outbox.post(g.app.guild_id, Target.channel("lounge"), OutMessage("steady"), dedupe_key="t:5xx")
    await g.settle()
    assert len(posts_to(g, "POST /channels/")) == 1  # the next try waits for its backoff
    for _ in range(times):
        await g.advance(seconds=30)  # backoff 5 s, 10 s, 20 s: all within the nonce's trust
    assert len(delivered(g, Target.channel("lounge"), "steady")) == 1
    assert len(posts_to(g, "POST /channels/")) == times + 1
    row = await g.app.db.fetchone("SELECT status FROM outbox WHERE dedupe_key = 't:5xx'")
    assert row["status"] == "sent"


async def test_a_persona_post_whose_answer_was_lost_is_found_not_posted_again(harness):
    g = await harness()
    g.fake.inject("timeout", route=WEBHOOK, after=True)
    message = OutMessage("Irasshaimase!", as_persona=True)
    await g.app.outbox.post(g.app.guild_id, Target.channel("announcements"), message, dedupe_key="t:persona")
    await g.settle()
    await g.advance(minutes=1)
    [post] = delivered(g, Target.channel("announcements"), "Irasshaimase!")
    assert post.webhook_id is not None
    assert len(posts_to(g, "POST /webhooks/")) == 1  # looked (history), found, recorded


async def test_a_rate_limit_on_the_route_waits_retry_after(harness):
    g = await harness()
    g.fake.inject("429", route=POST, retry_after=30)
    await g.app.outbox.post(g.app.guild_id, Target.channel("lounge"), OutMessage("patience"), dedupe_key="t:429")
    await g.settle()
    await g.advance(seconds=29)
    assert len(posts_to(g, "POST /channels/")) == 1
    await g.advance(seconds=1)
    assert len(delivered(g, Target.channel("lounge"), "patience")) == 1
    row = await g.app.db.fetchone("SELECT attempts FROM outbox WHERE dedupe_key = 't:429'")
    assert row["attempts"] == 1  # a rate limit is not a failed attempt


async def test_a_global_rate_limit_holds_every_send(harness):
    g = await harness()
    g.fake.inject("429-global", retry_after=20)
    await g.app.outbox.post(g.app.guild_id, Target.channel("lounge"), OutMessage("one"), dedupe_key="t:g1")
    await g.settle()
    await g.app.outbox.post(g.app.guild_id, Target.channel("announcements"), OutMessage("two"), dedupe_key="t:g2")
    await g.advance(seconds=19)
    assert len(posts_to(g, "POST /channels/")) == 1
    await g.advance(seconds=1)
    assert [m.content for m in g.channel("lounge").messages] == ["one"]
    assert [m.content for m in g.channel("announcements").messages] == ["two"]


# --- permanent answers: not retried, reported with their cause -------------------------------------------
SCHEDULE_KEY = "schedule:morning-tea:2026-12-01T09:00:00+09:00"


def refuse_too_large(g):
    g.fake.inject("400", route=POST, errors=TOO_LONG)


def refuse_invalid(g):
    g.fake.inject("400", route=POST, errors={"components": {"0": {"_errors": [
        {"code": "UNION_TYPE_CHOICES", "message": "Value of field \"type\" must be one of (1,)."}]}}})


def refuse_permission(g):
    g.deny_bot("lounge", "send_messages")


def refuse_unknown_channel(g):
    g.channel("lounge").deleted = True  # deleted while the bot was away: its cache still has it


CAUSES = {
    "too_large": (refuse_too_large, ["too large", "embeds.0.description", "Schedule `morning-tea`"], ["permission"]),
    "invalid_form": (refuse_invalid, ["invalid", "components.0"], ["permission"]),
    "missing_permission": (refuse_permission, ["permission"], ["too large"]),
    "unknown_channel": (refuse_unknown_channel, ["does not exist", "/setup"], ["permission"]),
}


@pytest.mark.parametrize("cause", list(CAUSES))
async def test_a_refused_post_is_not_retried_and_the_mod_log_names_the_real_cause(harness, cause):
    g = await harness()
    make_it_fail, says, never = CAUSES[cause]
    lounge_id = g.channel("lounge").id
    make_it_fail(g)
    await g.app.outbox.post(g.app.guild_id, Target.channel("lounge"), OutMessage("x"), dedupe_key=SCHEDULE_KEY)
    await g.settle()
    await g.advance(hours=1)
    assert len([r for r in posts_to(g, "POST /channels/") if str(lounge_id) in r.url]) <= 1  # never again
    row = await g.app.db.fetchone("SELECT status, failure FROM outbox WHERE dedupe_key = ?", (SCHEDULE_KEY,))
    assert (row["status"], row["failure"]) == ("failed", cause)
    [note] = [m.content for m in g.channel("mod-log").messages if "could not be delivered" in m.content]
    assert "morning-tea" in note and "#lounge" in note
    for words in says:
        assert words in note
    for words in never:
        assert words not in note


async def test_a_member_with_closed_dms_is_a_permanent_failure_with_its_cause(harness):
    g = await harness()
    g.close_dms("carol")
    await g.app.outbox.post(g.app.guild_id, Target.dm(g.user_id("carol")), OutMessage("hi"), dedupe_key="t:dm")
    await g.settle()
    await g.advance(hours=1)
    assert len(posts_to(g, "POST /channels/")) == 1
    row = await g.app.db.fetchone("SELECT status, failure FROM outbox WHERE dedupe_key = 't:dm'")
    assert (row["status"], row["failure"]) == ("failed", "dms_closed")
