"""Native Discord polls (issue 20, item 2), through the offline harness.

A prompt may be a poll (`kind: poll`); the `poll.post` schedule action and `/poll post` post one; the
message's `poll` is validated against Discord's OpenAPI spec (and the answers' 55 characters); votes
arrive as MESSAGE_POLL_VOTE_ADD/REMOVE through discord.py's parsers (`g.vote`) and earn `poll_vote`
once per member per poll; at the end the results are posted as the persona."""
from __future__ import annotations

from datetime import timedelta

import pytest

from bot.config import load_config
from bot.errors import ConfigError
from bot.offline.harness import HarnessError
from tests.helpers import config_dir_with, config_with

ANSWERS = "Sencha | Matcha | Hojicha"


def poll_messages(g, channel="daily-prompt"):
    return [m for m in g.channel(channel).messages if m.poll is not None]


async def post(g, **options):
    reply = await g.slash("/poll post", user="mod", **({"question": "Your winter tea?", "answers": ANSWERS}
                                                      | options))
    assert reply.ephemeral
    return reply


async def test_a_moderator_posts_a_poll_that_members_vote_in_once_each(harness):
    g = await harness()
    await post(g, hours=2)
    (msg,) = poll_messages(g)
    assert msg.poll.question == "Your winter tea?" and msg.poll.answers == ["Sencha", "Matcha", "Hojicha"]
    body = next(r.json for r in g.requests if r.method == "POST" and r.path.endswith("/messages") and r.json.get("poll"))
    assert body["poll"]["duration"] == 2 and len(body["poll"]["answers"]) == 3
    await g.vote(msg, "Matcha", user="alice")
    await g.vote(msg, "Sencha", user="alice")  # moves her vote: still one member, one award
    await g.vote(msg, "Sencha", user="alice", add=False)
    await g.vote(msg, "Sencha", user="alice")
    await g.vote(msg, "Hojicha", user="bob")
    each = g.app.config.participation.points_for("poll_vote")
    assert each > 0
    assert await g.app.participation.points(g.app.guild_id, g.user_id("alice")) == each
    assert await g.app.participation.points(g.app.guild_id, g.user_id("bob")) == each
    assert await g.app.participation.points(g.app.guild_id, g.user_id("carol")) == 0


async def test_at_its_end_the_results_are_posted_in_the_persona_voice(harness):
    g = await harness()
    await post(g, hours=1)
    (msg,) = poll_messages(g)
    await g.vote(msg, "Matcha", user="alice")
    await g.vote(msg, "Matcha", user="bob")
    await g.vote(msg, "Sencha", user="carol")
    await g.advance(minutes=61)
    results = g.channel("daily-prompt").messages[-1]
    assert results.username == "Sakura-chan" and "Matcha" in results.content
    assert "The favourite is **Matcha**" in results.content and "3 members voted" in results.content
    assert "67%" in results.content and "33%" in results.content
    with pytest.raises(HarnessError, match="ended"):
        await g.vote(msg, "Sencha", user="mod")
    await g.restart()
    await g.advance(hours=2)
    assert sum("The favourite" in m.content for m in g.channel("daily-prompt").messages) == 1


async def test_poll_end_ends_it_on_discord_and_posts_the_results(harness):
    g = await harness()
    await post(g)
    (msg,) = poll_messages(g)
    await g.vote(msg, 1, user="alice")
    reply = await g.slash("/poll end", user="mod")
    assert "1 member voted" in reply.content
    assert msg.poll.ended and any(r.path.endswith("/expire") for r in g.requests)
    assert "Nobody" not in g.channel("daily-prompt").messages[-1].content
    reply = await g.slash("/poll end", user="mod")
    assert reply.content == g.app.t("participation.poll_none", id="")


async def test_members_cannot_post_polls(harness):
    g = await harness()
    reply = await g.slash("/poll post", user="alice", question="Mine?", answers="a | b")
    assert reply.ephemeral and not poll_messages(g)


@pytest.mark.parametrize("answers, problem", [
    ("Only one", "2 to 10 answers"),
    (" | ".join(f"Answer {i}" for i in range(11)), "2 to 10 answers"),
    ("Sencha | " + "x" * 56, "at most 55"),
    ("Sencha | sencha", "the same"),
])
async def test_a_poll_discord_would_refuse_is_refused_with_the_reason(harness, answers, problem):
    g = await harness()
    reply = await g.slash("/poll post", user="mod", question="Your winter tea?", answers=answers)
    assert reply.ephemeral and problem in reply.content, reply.content
    assert not poll_messages(g)


# --- a poll prompt and the poll.post action ------------------------------------------------------------------
POLL_PROMPT = {"key": "winter-cup", "kind": "poll", "text": "Which cup warms you most in winter?",
               "answers": ["Hojicha", "Genmaicha", "Yuzu tea"], "duration": "12h"}


async def test_the_daily_prompt_may_be_a_poll(harness, tmp_path):
    config = config_with(tmp_path, {"prompts.yaml": {"prompts": [POLL_PROMPT]}})
    g = await harness(config=config)
    await g.app.participation.prompts.post(g.app.guild_id, g.clock.now())
    await g.settle()
    (msg,) = poll_messages(g)
    assert msg.poll.question == POLL_PROMPT["text"] and msg.thread is None
    assert msg.poll.expiry == g.clock.now() + timedelta(hours=12)
    await g.vote(msg, "Yuzu tea", user="alice")
    assert await g.app.participation.points(g.app.guild_id, g.user_id("alice")) > 0


async def test_the_poll_post_action_posts_a_prompt_poll_or_its_own(harness, tmp_path):
    config = config_with(tmp_path, {
        "prompts.yaml": {"prompts": [POLL_PROMPT]},
        "schedules.yaml": {"schedules": [
            {"id": "friday-poll", "daily": "12:00", "action": "poll.post", "params": {"prompt": "winter-cup"}},
            {"id": "snack-poll", "daily": "13:00", "action": "poll.post",
             "params": {"question": "Best snack?", "answers": ["Mochi", "Senbei"], "channel": "lounge"}}]}})
    g = await harness(config=config)
    await g.advance(hours=5)  # 12:00 and 13:00 in Tokyo
    assert [m.poll.question for m in poll_messages(g)] == [POLL_PROMPT["text"]]
    assert [m.poll.question for m in poll_messages(g, "lounge")] == ["Best snack?"]


async def test_two_poll_schedules_with_the_same_question_in_the_same_minute_make_two_polls(harness, tmp_path):
    """The poll of a schedule is keyed by its entry and occurrence, not by what it asks (once each,
    also when the action runs again after a restart)."""
    same = {"daily": "12:00", "action": "poll.post", "params": {"prompt": "winter-cup"}}
    config = config_with(tmp_path, {"prompts.yaml": {"prompts": [POLL_PROMPT]}, "schedules.yaml": {
        "schedules": [{"id": "lounge-poll", **same}, {"id": "prompt-poll", **same}]}})
    g = await harness(config=config)
    await g.advance(hours=5)
    assert len(poll_messages(g)) == 2
    polls = g.app.participation.polls
    sources = [(await polls.get(i)).source for i in (1, 2)]
    assert sources[0].startswith("schedule:lounge-poll:") and sources[1].startswith("schedule:prompt-poll:")
    for source in sources:  # the action run again for one entry and occurrence posts nothing new
        await polls.action_post(g.app.guild_id, g.clock.now(), {"prompt": "winter-cup"},
                                run_key=source.removeprefix("schedule:"))
    await g.settle()
    assert len(poll_messages(g)) == 2


@pytest.mark.parametrize("prompt, problem", [
    ({"answers": ["Only"]}, "2 to 10 answers"),
    ({"answers": [f"A{i}" for i in range(11)]}, "2 to 10 answers"),
    ({"answers": ["Hojicha", "x" * 56]}, "at most 55"),
    ({"text": "Q" * 301}, "at most 300"),
    ({"duration": "33d"}, "32 days"),
    ({"duration": "90m"}, "whole hours"),
    ({"kind": "text"}, "are for `kind: poll`"),
])
def test_check_refuses_poll_prompts_discord_would_not_take(tmp_path, prompt, problem):
    folder = config_dir_with(tmp_path, {"prompts.yaml": {"prompts": [POLL_PROMPT | prompt]}})
    with pytest.raises(ConfigError) as caught:
        load_config(folder)
    assert any(problem in p and "prompts.yaml" in p for p in caught.value.problems), caught.value.problems


@pytest.mark.parametrize("params, problem", [
    ({"prompt": "nope"}, "unknown prompt key 'nope'"),
    ({"prompt": "first-cup"}, "is not a poll"),
    ({"question": "Best?", "answers": ["One"]}, "2 to 10 answers"),
    ({"question": "Best?", "answers": ["One", "y" * 60]}, "at most 55"),
    ({"question": "Q" * 301, "answers": ["a", "b"]}, "at most 300"),
    ({}, "give `prompt:`"),
    ({"question": "Best?", "answers": ["a", "b"], "duration": "800h"}, "32 days"),
])
def test_check_refuses_poll_post_params_discord_would_not_take(tmp_path, params, problem):
    folder = config_dir_with(tmp_path, {"schedules.yaml": {"schedules": [
        {"id": "p", "daily": "12:00", "action": "poll.post", "params": params}]}})
    with pytest.raises(ConfigError) as caught:
        load_config(folder)
    assert any(problem in p and "schedules.yaml" in p for p in caught.value.problems), caught.value.problems


async def test_the_fake_discord_refuses_an_answer_over_55_characters(harness):
    g = await harness()
    from bot.offline.spec import SpecViolation

    with pytest.raises(SpecViolation, match="55"):
        await g.raw_request("POST", "/channels/{channel_id}/messages", channel_id=g.channel("lounge").id, json={
            "poll": {"question": {"text": "Q?"}, "answers": [{"poll_media": {"text": "a"}},
                                                          {"poll_media": {"text": "b" * 56}}]}})
    with pytest.raises(SpecViolation, match="answers"):
        await g.raw_request("POST", "/channels/{channel_id}/messages", channel_id=g.channel("lounge").id, json={
            "poll": {"question": {"text": "Q?"}, "answers": [{"poll_media": {"text": str(i)}} for i in range(11)]}})


async def test_votes_the_gateway_did_not_bring_still_count_at_the_end(harness):
    g = await harness()
    await post(g, hours=1)
    (msg,) = poll_messages(g)
    await g.vote(msg, "Sencha", user="alice")
    g.disconnect()  # bob votes and alice takes hers back while the bot's session is lost
    await g.vote(msg, "Hojicha", user="bob")
    await g.vote(msg, "Sencha", user="alice", add=False)
    await g.resume(replay=False)
    assert await g.app.participation.points(g.app.guild_id, g.user_id("bob")) == 0
    await g.advance(minutes=61)
    results = g.channel("daily-prompt").messages[-1].content
    assert "The favourite is **Hojicha**" in results and "1 member voted" in results
    assert await g.app.participation.points(g.app.guild_id, g.user_id("bob")) == \
        g.app.config.participation.points_for("poll_vote")
    assert any("/answers/" in r.path for r in g.requests)  # Discord's list of voters was read
