"""The one forum mechanism the help desk and forum feedback share: the harness's forum channels (type
15, tags, posts whose starter message shares their id, tag edits), /setup creating forums and their
tags, the outbox opening posts, and `check` refusing the tags Discord would refuse."""
from __future__ import annotations

import discord
import pytest

from bot.errors import ConfigError
from bot.offline.spec import SpecViolation
from bot.services.forum import forum_tags, retag
from tests.helpers import config_with


def requests_to(g, method, shape):
    from bot.offline.http import normalized

    return [r for r in g.requests if r.method == method and normalized(r.path) == normalized(shape)]


async def test_the_seeded_help_forum_is_a_real_discordpy_forum_with_its_tags(harness):
    g = await harness()
    forum = g.guild.get_channel(g.channel("help").id)
    assert isinstance(forum, discord.ForumChannel)
    assert [t.name for t in forum.available_tags] == ["Orders & shipping", "Brewing", "Events & collabs",
                                                      "Account & roles", "Open", "Answered", "Solved", "Closed"]


async def test_a_members_post_flows_through_discordpys_parsers(harness):
    g = await harness()
    post = await g.forum_post("help", "Lost parcel", "It never came", user="alice", tags=["Orders & shipping"])
    thread = g.guild.get_thread(post.id)
    assert isinstance(thread, discord.Thread) and isinstance(thread.parent, discord.ForumChannel)
    assert thread.owner_id == g.user_id("alice") and thread.name == "Lost parcel"
    assert [t.name for t in thread.applied_tags] == ["Orders & shipping", "Open"]  # the bot added its state tag
    assert post.starter.id == post.id and post.starter.author_id == g.user_id("alice")


async def test_a_visitor_cannot_post_in_the_forum(harness):
    g = await harness()
    with pytest.raises(discord.Forbidden):
        await g.forum_post("help", "Hello", "Can I ask?", user="vera")


async def test_the_bot_opens_a_post_with_tags_through_the_spec_checked_route(harness):
    g = await harness()
    await g.slash("/help ask", user="bob", topic="account")
    await g.submit_modal({"Title": "Green Leaf role", "Details": "I reached 100 points but no role yet"}, user="bob")
    [create] = requests_to(g, "POST", "/channels/{}/threads")
    forum = g.channel("help")
    assert sorted(int(t) for t in create.json["applied_tags"]) == sorted(
        [forum.tag_id("Account & roles"), forum.tag_id("Open")])
    assert create.json["message"]["allowed_mentions"] == {"parse": []}
    [post] = forum.threads
    assert post.owner_id == g.world.bot_user_id and post.starter.id == post.id


async def test_the_fake_refuses_what_discord_refuses_for_tags(harness):
    g = await harness()
    forum = g.channel("help")
    post = await g.forum_post("help", "Tea", "?", user="alice")
    with pytest.raises(discord.HTTPException) as bad:
        await g.raw_request("PATCH", "/channels/{channel_id}", channel_id=post.id,
                            json={"applied_tags": ["123"]})
    assert bad.value.status == 400  # not a tag of this forum
    six = [str(t["id"]) for t in forum.available_tags[:6]]
    with pytest.raises(discord.HTTPException) as too_many:
        await g.raw_request("PATCH", "/channels/{channel_id}", channel_id=post.id, json={"applied_tags": six})
    assert too_many.value.status == 400
    with pytest.raises((SpecViolation, discord.HTTPException)):
        await g.raw_request("PATCH", "/channels/{channel_id}", channel_id=post.id, json={"applied_tags": "Open"})
    assert post.tags == ["Open"]


async def test_setup_creates_a_missing_forum_with_its_tags_and_adds_missing_tags(harness):
    g = await harness()
    forum = g.channel("help")
    forum.deleted = True
    g.world.version += 1
    g.emit_later("CHANNEL_DELETE", forum.payload())
    await g.settle()
    r = await g.slash("/setup", user="mod")
    assert "Created: #help" in r.content or "#help" in r.content
    [new] = [c for c in g.world.guild_channels() if c.name == "help" and not c.deleted]
    assert new.is_forum and [t["name"] for t in new.available_tags] == list(forum_tags(g.config.community)["help"])
    [create] = [r for r in requests_to(g, "POST", "/guilds/{}/channels") if r.json.get("name") == "help"]
    assert create.json["type"] == discord.ChannelType.forum.value
    # a tag deleted by hand comes back at the next /setup; a tag added by hand stays
    new.available_tags = [t for t in new.available_tags if t["name"] != "Solved"]
    g.world.add_forum_tag(new, "Staff pick")
    g.world.version += 1
    g.emit_later("CHANNEL_UPDATE", new.payload())
    await g.settle()
    r = await g.slash("/setup", user="mod")
    assert "Updated: #help" in r.content, r.content
    names = [t["name"] for t in new.available_tags]
    assert "Solved" in names and "Staff pick" in names
    r = await g.slash("/setup", user="mod")
    assert "Updated: nothing" in r.content


async def test_setup_says_when_a_forum_key_is_a_text_channel(harness, tmp_path):
    g = await harness(config=config_with(tmp_path, {"community.yaml": {"channels": {"lounge": {"forum": True}}}}))
    seeded = g.channel("lounge")
    seeded.deleted = True  # someone made #lounge a text channel by hand
    g.world.version += 1
    g.emit_later("CHANNEL_DELETE", seeded.payload())
    g.emit_later("CHANNEL_CREATE", g.world.add_channel("lounge").payload())
    await g.settle()
    r = await g.slash("/setup", user="mod")
    assert "#lounge is a text channel" in r.content


def test_retag_swaps_the_features_own_tags_and_keeps_others():
    assert retag(["Staff pick", "Open"], ["Open", "Answered"], ["Brewing", "Answered"]) == (
        "Brewing", "Answered", "Staff pick")
    assert len(retag(["a", "b", "c", "d", "e"], [], ["x"])) == 5  # Discord: at most 5 tags a post


# --- check -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("patch, expected", [
    ({"help": {"topics": [{"key": "x", "name": "A very long topic name here"}]}},
     "community.yaml:{line}: help.topics[0].name: String should have at most 20 characters"),
    ({"help": {"channel": "lounge"}}, "help.channel: channel 'lounge' must be a forum"),
    ({"help": {"channel": "nowhere"}}, "help.channel: unknown channel key 'nowhere'"),
    ({"help": {"topics": [{"key": "x", "name": "Solved"}]}}, "the forum tag 'Solved' is already used in #help"),
    ({"help": {"topics": [{"key": f"t{i}", "name": f"Topic {i}"} for i in range(17)]}},
     "help.topics: Tuple should have at most 16 items"),
    ({"help": {"escalate_after": 0}}, "help.escalate_after: give a duration longer than 0"),
    ({"help": {"staff_role": "team"}}, "help.staff_role: unknown role key 'team'"),
    ({"channels": {"feedback": {"forum": True}}, "feedback": {"categories": [f"c{i}" for i in range(16)]}},
     "the forum #feedback would need 21 tags; Discord allows 20"),
    ({"channels": {"feedback": {"forum": True}}, "feedback": {"categories": ["a-category-key-much-too-long"]}},
     "feedback.categories[0]: the forum tag 'a-category-key-much-too-long' has 28 characters"),
    ({"help": {"channel": "feedback"}, "channels": {"feedback": {"forum": True}}},
     "the help forum and the feedback channel must be different channels"),
])
def test_check_refuses_what_discord_would_refuse_for_the_forums(tmp_path, patch, expected):
    with pytest.raises(ConfigError) as err:
        config_with(tmp_path, {"community.yaml": patch})
    text = "\n".join(err.value.problems)
    assert expected.split("{line}: ")[-1] in text, text
    assert all(p.split(":")[0].endswith(".yaml") and p.split(":")[1].isdigit() for p in err.value.problems)


@pytest.mark.parametrize("faq, expected", [
    ("entries:\n  - key: a\n    question: Q?\n    answer: A.\n  - key: a\n    question: Q2?\n    answer: B.\n",
     "faq.yaml:5: entries[1].key: FAQ key 'a' is used twice"),
    ("entries:\n  - key: a\n    question: Q?\n    answer: A.\n    topic: gardening\n",
     "faq.yaml:5: entries[0].topic: unknown help topic 'gardening'"),
    ("entries:\n  - key: Bad Key\n    question: Q?\n    answer: A.\n", "faq.yaml:2: entries[0].key:"),
    ("entries:\n  - key: a\n    question: Q?\n", "faq.yaml:2: entries[0].answer: required field is missing"),
    ("entries:\n  - key: a\n    question: Q?\n    answer: A.\n    colour: red\n", "faq.yaml:5: entries[0].colour:"),
])
def test_check_covers_the_faq_file_with_file_and_line(tmp_path, faq, expected):
    with pytest.raises(ConfigError) as err:
        config_with(tmp_path, {"faq.yaml": faq})
    assert any(expected in p for p in err.value.problems), err.value.problems


async def test_a_forum_post_whose_answer_was_lost_is_found_not_posted_again(harness):
    """Forum posts take no nonce (like persona posts): a retry looks for the post first."""
    from bot.services.messages import OutMessage, Target

    g = await harness()
    g.fake.inject("timeout", route="POST /channels/{channel_id}/threads", after=True)
    message = OutMessage("Where do I find my order number?", thread_name="Order number", tags=("Open",))
    await g.app.outbox.post(g.app.guild_id, Target.channel("help"), message, dedupe_key="t:forum")
    await g.settle()
    await g.advance(seconds=30)
    assert [t.name for t in g.channel("help").threads] == ["Order number"]
    assert len(requests_to(g, "POST", "/channels/{}/threads")) == 1  # looked, found, recorded
    row = await g.app.db.fetchone("SELECT status, message_id FROM outbox WHERE dedupe_key = 't:forum'")
    assert row["status"] == "sent" and row["message_id"] == g.channel("help").threads[0].id


async def test_a_digest_sent_to_a_forum_feedback_channel_becomes_a_post(harness, tmp_path):
    g = await harness(config=config_with(tmp_path, {"community.yaml": {"channels": {"feedback": {"forum": True}}}}))
    with pytest.raises(discord.HTTPException):  # Discord: a forum takes posts, not messages
        await g.raw_request("POST", "/channels/{channel_id}/messages", channel_id=g.channel("feedback").id,
                            json={"content": "hello"})
    await g.app.feedback.digest_action(g.app.guild_id, g.clock.now(), {})
    await g.settle()
    [post] = g.channel("feedback").threads
    assert post.name == g.app.t("feedback.digest_title") and post.starter.embeds
