"""Feedback through the offline harness: what members and moderators actually see."""
from __future__ import annotations

import json

import pytest

from bot.offline.harness import OptionRefused

from bot.services.feedback import read_csv
from tests.helpers import config_with


async def send(g, user, *, text="Please bring back the winter oolong.", title="More oolong", category="Product",
               anonymous=False):
    await g.slash("/feedback send", user=user)
    values = {"category": category, "title": title, "text": text}
    if anonymous:
        values["anonymous"] = "yes"
    return await g.submit_modal(values, user=user)


def as_text(message) -> str:
    """Everything a reader of the message can see (content, embeds, buttons) as one string."""
    return json.dumps({"content": message.content, "embeds": message.embeds, "buttons": message.buttons,
                       "author": message.author_id, "username": message.username}, ensure_ascii=False)


async def test_submit_triage_and_every_status_change_is_dmed(harness):
    g = await harness()
    r = await send(g, "alice")
    assert r.ephemeral and "#1" in r.content
    post = g.channel("feedback").messages[-1]
    assert post.embeds[0]["description"] == "Please bring back the winter oolong."
    assert post.buttons == ["Under review", "Planned", "Done", "Decline", "Upvote"]
    for label, status in (("Under review", "Under review"), ("Planned", "Planned"), ("Done", "Done")):
        r = await g.click(label, on=post, user="mod")
        assert r.ephemeral and status in r.content
        assert status in json.dumps(post.embeds[0])  # the public post shows where it stands
    dms = [m.content for m in g.dms("alice")]
    assert len(dms) == 3
    for dm, status in zip(dms, ("Under review", "Planned", "Done")):
        assert "#1" in dm and "More oolong" in dm and f"**{status}**" in dm
    audit = await g.app.audit.recent(g.app.guild_id)
    assert [a["action"] for a in audit] == ["feedback.status"] * 3


async def test_declining_asks_for_a_reason_and_the_member_reads_it(harness):
    g = await harness()
    await send(g, "alice")
    post = g.channel("feedback").messages[-1]
    r = await g.click("Decline", on=post, user="mod")
    assert g.modal_for("mod") is not None and not g.dms("alice")
    r = await g.submit_modal({"reason": "Oolong is out of season until spring."}, user="mod")
    assert r.ephemeral and "Declined" in r.content
    [dm] = g.dms("alice")
    assert "Declined" in dm.content and "out of season until spring" in dm.content
    assert "out of season" in json.dumps(post.embeds[0])
    r = await g.click("Decline", on=post, user="mod")  # already declined: said at once, no modal
    assert "already" in r.content and g.modal_for("mod") is None


async def test_triage_buttons_and_moderator_commands_refuse_members(harness):
    g = await harness()
    await send(g, "alice")
    post = g.channel("feedback").messages[-1]
    for label in ("Under review", "Planned", "Done", "Decline"):
        r = await g.click(label, on=post, user="bob")
        assert r.ephemeral and r.content == "Only moderators can do that."
        assert g.modal_for("bob") is None
    for command, options in (("/feedback export", {}), ("/feedback show", {"item": 1})):
        r = await g.slash(command, user="alice", **options)
        assert r.ephemeral and r.content == "Only moderators can do that." and not r.files
    assert g.dms("alice") == []
    assert (await g.app.feedback.get(g.app.guild_id, 1)).status == "new"


async def test_an_anonymous_item_never_shows_its_author_publicly(harness):
    g = await harness()
    alice = g.member("alice")
    await send(g, "alice", anonymous=True)
    post = g.channel("feedback").messages[-1]
    await g.click("Upvote", on=post, user="bob")
    await g.click("Planned", on=post, user="mod")
    seen = as_text(post) + json.dumps(post.history, ensure_ascii=False)
    assert str(alice.id) not in seen
    assert "alice" not in seen.lower()
    assert post.author_id == g.bot.user.id and post.username is None  # posted as the bot, not as her
    assert "anonymous member" in seen
    # moderators still see who sent it
    r = await g.slash("/feedback show", user="mod", item=1)
    assert r.ephemeral and str(alice.id) in json.dumps(r.embeds)


async def test_mentions_inside_feedback_ping_nobody(harness):
    g = await harness()
    bob = g.member("bob")
    text = f"@everyone @here <@{bob.id}> <@&{g.world.role('moderator').id}> look at this"
    await send(g, "alice", text=text, title="@everyone hello")
    post = g.channel("feedback").messages[-1]
    assert text in json.dumps(post.embeds, ensure_ascii=False) or text == post.embeds[0]["description"]
    assert post.allowed_mentions == {"parse": []}
    assert post.mentions == [] and post.mention_roles == [] and not post.mention_everyone


async def test_a_flagged_item_lands_in_the_mod_queue_with_priority(harness):
    g = await harness()
    before = len(g.channel("mod-queue").messages)
    await send(g, "alice", text="I want a REFUND, this is the worst tea I ever bought", anonymous=True)
    queued = g.channel("mod-queue").messages[before:]
    assert len(queued) == 1
    assert "PRIORITY" in queued[0].content
    assert str(g.member("alice").id) in json.dumps(queued[0].embeds)  # moderators see the author
    assert queued[0].allowed_mentions == {"parse": []}
    # a calm item does not go to the queue
    await send(g, "bob", text="Lovely blend, thank you")
    assert len(g.channel("mod-queue").messages) == before + 1
    # triage from the queue copy also updates the public post
    await g.click("Under review", on=queued[0], user="mod")
    public = g.channel("feedback").messages[-2]
    assert "Under review" in json.dumps(public.embeds[0])
    assert str(g.member("alice").id) not in as_text(public)


TRICKY = 'Commas, "quotes" and\nnew lines — 🍵✨ 抹茶ラテが最高に好きです、また出して！'


async def test_export_csv_round_trips(harness):
    g = await harness()
    await send(g, "alice", text=TRICKY, title='Matcha, "please"', anonymous=True)
    await send(g, "bob", text="second, simple", category="Event")
    post = g.channel("feedback").messages[-2]
    await g.click("Upvote", on=post, user="carol")
    r = await g.slash("/feedback export", user="mod")
    assert r.ephemeral and "2 item" in r.content
    [(name, data)] = r.files
    assert name.endswith(".csv") and data.startswith(b"\xef\xbb\xbf")
    rows = read_csv(data)
    assert [(row["title"], row["text"], row["category"]) for row in rows] == [
        ('Matcha, "please"', TRICKY, "product"), ("More oolong", "second, simple", "event")]
    assert rows[0]["anonymous"] == "yes" and rows[0]["upvotes"] == "1"
    assert rows[0]["author_id"] == "" and rows[1]["author_id"] == str(g.member("bob").id)  # alice was anonymous
    r = await g.slash("/feedback export", user="mod", since="2999-01-01")
    assert read_csv(r.files[0][1]) == []
    r = await g.slash("/feedback export", user="mod", since="soon")
    assert r.ephemeral and "YYYY-MM-DD" in r.content and not r.files


async def test_the_sixth_submission_in_a_minute_is_refused_and_the_text_given_back(harness):
    g = await harness()
    for i in range(5):
        r = await send(g, "alice", text=f"idea number {i}")
        assert f"#{i + 1}" in r.content
        await g.advance(seconds=5)
    r = await send(g, "alice", text="my sixth idea, carefully written")
    assert r.ephemeral and "You can send more" in r.content
    assert r.embeds[0]["description"] == "my sixth idea, carefully written"  # nothing is lost
    assert len(g.channel("feedback").messages) == 5
    await g.advance(seconds=40)  # the first one is now more than a minute old
    r = await send(g, "alice", text="my sixth idea, carefully written")
    assert "#6" in r.content


async def test_empty_or_too_long_text_is_refused_with_the_text_given_back(harness, tmp_path):
    g = await harness(config=config_with(tmp_path))
    r = await send(g, "alice", text="   ")
    assert r.ephemeral and "empty" in r.content
    long_text = "ちゃ" * 1001  # 2002 characters, over the configured 2000: the form itself stops it
    with pytest.raises(OptionRefused, match="2000"):
        await send(g, "alice", text=long_text)
    # the limit lowered (/admin reload) while the form was open: refused with the text given back
    await g.slash("/feedback send", user="alice")
    folder = g.app.config.dir
    text = (folder / "community.yaml").read_text(encoding="utf-8")
    (folder / "community.yaml").write_text(text.replace("max_length: 2000", "max_length: 1000", 1),
                                           encoding="utf-8")
    assert await g.app.reload_config() == [] and g.app.feedback.settings.max_length == 1000
    r = await g.submit_modal({"category": "Product", "title": "t", "text": long_text[:1500]}, user="alice")
    assert "1500" in r.content and "1000" in r.content
    assert r.embeds[0]["description"] == long_text[:1500]
    assert g.channel("feedback").messages == [] or all("ちゃ" not in as_text(m) for m in g.channel("feedback").messages)


async def test_upvotes_once_each_members_only_and_not_your_own(harness):
    g = await harness()
    await send(g, "alice")
    post = g.channel("feedback").messages[-1]
    r = await g.click("Upvote", on=post, user="bob")
    assert "1 upvote" in r.content
    r = await g.click("Upvote", on=post, user="bob")
    assert "already upvoted" in r.content
    r = await g.click("Upvote", on=post, user="alice")
    assert "your own" in r.content
    r = await g.click("Upvote", on=post, user="vera")
    assert "Only members" in r.content
    fields = {f["name"]: f["value"] for f in post.embeds[0]["fields"]}
    assert fields["Upvotes"] == "1"


async def test_send_as_feedback_prefills_the_message(harness):
    g = await harness()
    await g.say("lounge", "The new cups leak at the handle", user="bob")
    msg = g.channel("lounge").messages[-1]
    await g.context_menu("Send as feedback", message=msg, user="carol")
    modal = g.modal_for("carol")
    fields = {f["custom_id"]: f for f in g.modal_fields(modal)}
    text = fields["text"]["value"]
    assert "The new cups leak at the handle" in text and str(msg.id) in text
    assert fields["title"]["value"] == "The new cups leak at the handle"
    r = await g.submit_modal({"category": "Product", "text": text, "title": fields["title"]["value"]}, user="carol")
    assert "#1" in r.content
    item = await g.app.feedback.get(g.app.guild_id, 1)
    assert item.author_id == g.member("carol").id and item.source_url.endswith(str(msg.id))
    assert item.title == "The new cups leak at the handle" and item.text == text


async def test_mine_lists_your_items_with_status(harness):
    g = await harness()
    r = await g.slash("/feedback mine", user="alice")
    assert "not sent any feedback" in r.content
    await send(g, "alice", title="First idea")
    await send(g, "bob", title="Bob's idea")
    await g.click("Planned", on=g.channel("feedback").messages[0], user="mod")
    r = await g.slash("/feedback mine", user="alice")
    body = json.dumps(r.embeds, ensure_ascii=False)
    assert r.ephemeral and "First idea" in body and "Planned" in body and "Bob" not in body


async def test_thumbs_on_announcements_are_one_vote_per_member(harness):
    g = await harness()
    await g.app.outbox.post(g.app.guild_id, __import__("bot.services.messages", fromlist=["Target"]).Target.channel(
        "announcements"), __import__("bot.services.messages", fromlist=["OutMessage"]).OutMessage(content="New blend!"),
        dedupe_key="test:announce")
    await g.settle()
    news = g.channel("announcements").messages[-1]
    await g.react(news, "👍", user="alice")
    await g.react(news, "👍", user="bob")
    await g.react(news, "👎", user="alice")  # she changes her mind
    assert await g.app.feedback.reaction_totals(news.id) == (1, 1)
    await g.unreact(news, "👎", user="alice")
    assert await g.app.feedback.reaction_totals(news.id) == (1, 0)
    await g.say("lounge", "hi", user="bob")
    await g.react(g.channel("lounge").messages[-1], "👍", user="alice")  # not a feedback channel
    assert await g.app.db.fetchval("SELECT COUNT(*) FROM feedback_reactions") == 1


async def test_buttons_keep_working_after_a_restart(harness):
    g = await harness()
    await send(g, "alice")
    post = g.channel("feedback").messages[-1]
    await g.restart()
    r = await g.click("Planned", on=post, user="mod")
    assert "Planned" in r.content and len(g.dms("alice")) == 1
    r = await g.click("Upvote", on=post, user="bob")
    assert "1 upvote" in r.content


async def test_japanese_community_speaks_japanese(harness, tmp_path):
    config = config_with(tmp_path, {"community.yaml": {"community": {"language": "ja"},
                                                       "feedback": {"flag_keywords": ["返金"]}}})
    g = await harness(config=config)
    await g.slash("/feedback send", user="alice")
    r = await g.submit_modal({"category": "商品", "text": "返金してほしいです"}, user="alice")
    assert "ありがとうございます" in r.content
    [queued] = g.channel("mod-queue").messages[-1:]
    assert "優先" in queued.content and "返金" in queued.content
    await g.context_menu("フィードバックとして送る", message=g.channel("feedback").messages[-1], user="bob")
    assert g.modal_for("bob") is not None


DIGEST_SCHEDULE = """
schedules:
  - id: feedback-digest
    weekly: {days: [mon], at: "10:00"}
    action: feedback.digest
"""


async def test_the_weekly_digest_posts_once_a_week_from_the_schedule(harness, tmp_path):
    g = await harness(config=config_with(tmp_path, {"schedules.yaml": DIGEST_SCHEDULE}))
    await send(g, "alice", title="Oldest waiting", category="Bug")
    await send(g, "bob", title="Popular one")
    await g.click("Upvote", on=g.channel("feedback").messages[-1], user="carol")
    await g.click("Planned", on=g.channel("feedback").messages[-1], user="mod")
    await g.advance(days=8)
    digests = [m for m in g.channel("feedback").messages if m.embeds and m.embeds[0]["title"].startswith("📬")]
    assert len(digests) == 1
    fields = {f["name"]: f["value"] for f in digests[0].embeds[0]["fields"]}
    assert "Bug: **1**" in fields["By category"] and "Planned: **1**" in fields["By status"]
    assert fields["Most upvoted"].startswith("#2 Popular one")
    assert fields["Waiting for a look (1)"].startswith("#1 Oldest waiting")
    assert str(g.member("alice").id) not in json.dumps(digests[0].embeds)
    await g.advance(days=7)
    assert len([m for m in g.channel("feedback").messages if m.embeds and m.embeds[0]["title"].startswith("📬")]) == 2


def test_a_digest_to_an_unknown_channel_is_refused_by_check(tmp_path):
    """It used to pass `check` and fail every week at fire time; now the params are checked."""
    import pytest

    from bot.errors import ConfigError

    schedule = DIGEST_SCHEDULE + "    params: {channel: nowhere}\n"
    with pytest.raises(ConfigError) as err:
        config_with(tmp_path, {"schedules.yaml": schedule})
    assert len(err.value.problems) == 1
    assert "schedules.yaml:6: schedules[0].params.channel: unknown channel key 'nowhere'" in err.value.problems[0]


async def test_an_item_is_kept_even_when_the_feedback_channel_cannot_be_posted_to(harness):
    g = await harness()
    g.deny_bot("feedback", "send_messages")
    with g.allow_errors():
        r = await send(g, "alice", title="Kept anyway")
    assert "#1" in r.content
    assert all("Kept anyway" not in as_text(m) for m in g.channel("feedback").messages)
    r = await g.slash("/feedback mine", user="alice")
    assert "Kept anyway" in json.dumps(r.embeds)


async def test_the_message_menu_is_removed_with_the_cog(harness):
    g = await harness()
    import discord

    menu_type = discord.AppCommandType.message
    assert g.bot.tree.get_command("Send as feedback", type=menu_type) is not None
    await g.bot.unload_extension("cogs.feedback")
    assert g.bot.tree.get_command("Send as feedback", type=menu_type) is None
    assert g.bot.tree.get_command("feedback") is None
    await g.bot.load_extension("cogs.feedback")
    assert g.bot.tree.get_command("Send as feedback", type=menu_type) is not None


async def test_the_commands_register_with_discord(harness):
    g = await harness()
    commands = await g.sync()  # validated against Discord's spec
    names = {c["name"] for cmds in commands.values() for c in cmds}
    assert {"feedback", "Send as feedback"} <= names
