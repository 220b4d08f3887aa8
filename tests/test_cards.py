"""Cards (issue 20, item 5): drop announcements, quiz results and the leaderboard as components-v2
layouts. Services describe a card as plain data (bot.services.messages.Card); bot.ui.layout_view renders
it for the sender, the edits and the dry run; the harness and `check` hold it to Discord's rules."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import discord
import pytest

from bot.config import load_config
from bot.dryrun import dry_run, message_body
from bot.offline.spec import Spec, components_v2_limits
from bot.services.messages import Block, Button, Card, OutMessage, Target
from tests.helpers import CONFIG, config_dir_with

ROUTE = ("POST", "/channels/{channel_id}/messages")
V2 = 1 << 15
TIN_ANNOUNCED = datetime(2026, 12, 9, 11, 0, tzinfo=timezone.utc)  # the shipped hanami-tin drop is announced
USERS = {"mod": ["moderator", "member"], "alice": ["member"], "bea": ["member", "blossom"]}


def card_of(*texts: str, thumbnail: str | None = None) -> OutMessage:
    return OutMessage(card=Card(tuple(Block(t, thumbnail=thumbnail) for t in texts)))


# --- the rules Discord's document does not state: generated around each limit --------------------------
def text_displays(count: int, each: int = 1) -> dict:
    return {"flags": V2, "components": [{"type": 17, "components": [{"type": 10, "content": "x" * each}
                                                                     for _ in range(count)]}]}


LIMITS = {
    # name: (body just inside, body just outside, what the refusal says)
    "40 components": (text_displays(39), text_displays(40), "at most 40 components"),
    "4000 characters of text": (text_displays(4, 1000), text_displays(4, 1000) | {"components": [
        {"type": 17, "components": [{"type": 10, "content": "x" * 1000}] * 3 + [{"type": 10, "content": "x" * 1001}]}]},
        "4000 or fewer characters together"),
    "no content beside a layout": (text_displays(1) | {"content": ""}, text_displays(1) | {"content": "hi"},
                                   "cannot have content"),
    "no embeds beside a layout": (text_displays(1) | {"embeds": []}, text_displays(1) | {"embeds": [{"title": "t"}]},
                                  "cannot have embeds"),
    "a layout needs the flag": (text_displays(1), {"components": text_displays(1)["components"]},
                                "need the IS_COMPONENTS_V2 flag"),
}


@pytest.mark.parametrize("limit", LIMITS, ids=str)
def test_components_v2_limits_one_inside_and_one_outside(limit):
    inside, outside, says = LIMITS[limit]
    spec = Spec.load()
    assert spec.problems(*ROUTE, inside) == []
    problems = spec.problems(*ROUTE, outside)
    assert problems and any(says in p for p in problems), problems


def test_old_style_messages_and_modals_are_not_layouts():
    assert list(components_v2_limits({"components": [{"type": 1, "components": []}]})) == []
    modal = {"type": 9, "data": {"custom_id": "m", "title": "t", "components": [
        {"type": 18, "label": "L", "component": {"type": 4, "custom_id": "a", "style": 1}}]}}
    assert Spec.load().problems("POST", "/interactions/{interaction_id}/{interaction_token}/callback", modal) == []


# --- plain data ---------------------------------------------------------------------------------------------
def test_a_card_survives_the_outbox_and_renders_as_a_layout_view():
    message = OutMessage(card=Card((Block("**Tin**", thumbnail="https://example.com/t.png"),
                                    Block("windows", separator=True), Block("", image="https://example.com/i.png")),
                                   accent=0x123456),
                         buttons=(Button("Claim", custom_id="kizuna:drop:claim:1"),), as_persona=True)
    assert OutMessage.from_json(message.to_json()) == message
    route, body = message_body(message)
    assert body["flags"] == V2 and "content" not in body and "embeds" not in body
    [container] = body["components"]
    kinds = [c["type"] for c in container["components"]]
    assert kinds == [9, 14, 10, 12, 1]  # section (text + thumbnail), divider, text, picture, the buttons
    assert container["components"][0]["accessory"]["media"]["url"] == "https://example.com/t.png"
    assert Spec.load().problems(*route, body) == []


def test_a_card_beside_content_is_refused_before_it_reaches_discord():
    with pytest.raises(ValueError, match="no content and no embeds"):
        OutMessage(content="hi", card=Card((Block("x"),)))


# --- through the harness -------------------------------------------------------------------------------------
async def test_a_drop_announcement_is_a_card_with_the_item_beside_its_picture(harness):
    g = await harness(users=USERS)
    await g.advance_to(TIN_ANNOUNCED)
    post = g.channel("announcements").messages[-1]
    assert post.is_layout and post.content == "" and post.embeds == []
    item, windows = post.layout_texts  # open until sold out: no closing line yet
    assert item.startswith("🎁 **New drop: Sakura × Hanami illustrated tea tin**") and "Hanami (illustrator)" in item
    assert windows.startswith("**When you can take part**") and "• **Blossom**" in windows
    assert post.thumbnails == ["https://example.com/sakura-tea/hanami-tin.png"]
    assert by_persona(post)
    r = await g.click("Claim", on=post, user="bea")            # the button inside the card works
    assert r.ephemeral and "is yours" in r.content
    await g.slash("/drop close", user="mod", drop="hanami-tin")
    assert post.is_layout and post.button_components[0]["disabled"]  # greyed out in place, still a card
    assert "is closed" in post.layout_texts[-1] and len(post.history) >= 1


def by_persona(message) -> bool:
    return bool(message.webhook_id)


async def test_a_layout_message_refuses_content_and_keeps_its_flag(harness):
    g = await harness(users=USERS)
    await g.advance_to(TIN_ANNOUNCED)
    post = g.channel("announcements").messages[-1]
    hook = g.world.webhooks[post.webhook_id]
    for body in ({"content": "hello"}, {"embeds": [{"title": "t"}]}, {"flags": 0}):
        with pytest.raises(discord.HTTPException) as info:
            await g.raw_request("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", json=body,
                                webhook_id=post.webhook_id, webhook_token=hook["token"], message_id=post.id)
        assert info.value.status == 400
    assert post.is_layout and post.content == ""


async def test_an_embed_message_may_become_a_card_by_an_edit_that_clears_it(harness):
    """Discord lets an edit add the IS_COMPONENTS_V2 flag when the same edit clears content and embeds:
    what the sender's edit does (an announcement posted as an embed before this version is replaced by
    a card)."""
    g = await harness()
    sender = g.app.outbox.sender
    sent = await sender.send(g.app.guild_id, Target.channel("announcements"), OutMessage(content="old style"))
    await sender.edit(g.app.guild_id, Target.channel("announcements"), sent.message_id, card_of("new style"))
    msg = g.message(sent.message_id)
    assert msg.is_layout and msg.content == "" and msg.layout_texts == ["new style"]


async def test_a_resend_finds_the_card_already_posted_by_its_text(harness):
    """After a crash between a post and its record, the outbox looks for the message before posting
    again: a card has no content or embeds, so its texts are what identify it."""
    g = await harness()
    sender = g.app.outbox.sender
    since = g.clock.now() - timedelta(seconds=1)
    first = await sender.send(g.app.guild_id, Target.channel("announcements"), card_of("one", "two"))
    found = await sender.find(g.app.guild_id, Target.channel("announcements"), card_of("one", "two"), since=since,
                              exclude=set())
    assert found is not None and found.message_id == first.message_id
    assert await sender.find(g.app.guild_id, Target.channel("announcements"), card_of("one", "other"), since=since,
                             exclude=set()) is None


async def test_quiz_results_are_a_card_beside_the_persona(harness):
    g = await harness()
    await g.slash("/quiz start", user="mod", bank="tea", questions=1, seconds=20)
    q = g.channel("quiz").messages[-1]
    await g.click(index=1, on=q, user="alice")
    await g.advance(seconds=30)
    results = g.channel("quiz").messages[-1]
    heading, ranking = results.layout_texts
    assert heading == "## 🏆 Quiz results\n-# Tea basics"
    assert ranking.startswith(f"**1.** <@{g.user_id('alice')}>")
    assert results.thumbnails == ["https://example.com/sakura-chan.png"] and by_persona(results)
    assert not results.mentions


# --- check ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("key,card", [("participation.leaderboard_line", "the /leaderboard card"),
                                      ("participation.quiz_results_line", "the quiz results card")])
def test_check_refuses_a_card_whose_rows_overflow_discords_4000_characters(tmp_path, key, card):
    """25 rows of a 200-character line: 5000 characters, over what Discord takes in one message's texts."""
    config = load_config(config_dir_with(tmp_path, {
        "participation.yaml": {"leaderboard": {"size": 25}},
        "community.yaml": {"messages": {key: "{rank} {user} {points} " + "x" * 170}}}))
    found = [str(p) for p in dry_run(config)]
    assert any(key in p and card in p and "4000 or fewer characters together" in p for p in found), found


def test_the_shipped_cards_pass_check():
    assert [str(p) for p in dry_run(load_config(CONFIG))] == []


@pytest.fixture
def keep_discord_logging():
    """The playground CLI quiets discord.py's logger for the whole process; later tests (the harness's
    strict mode reads logged errors) need it back as it was."""
    import logging

    logger = logging.getLogger("discord")
    level = logger.level
    yield
    logger.setLevel(level)


def test_the_playground_draws_a_card_as_a_box_with_its_picture_and_buttons(capsys, tmp_path, keep_discord_logging):
    from bot.__main__ import main

    script = tmp_path / "script.txt"
    script.write_text("/drop open drop:hanami-tin\n:as bea\n:click Claim\n", encoding="utf-8")
    assert main(["playground", "--script", str(script), "--db", str(tmp_path / "p.db")]) == 0
    t = capsys.readouterr().out
    post = t[t.index("[#announcements]"):]
    lines = post.splitlines()
    assert lines[1].strip().startswith("╭") and "│ 🎁 **New drop: Sakura × Hanami illustrated tea tin**" in post
    assert "│   🖼  https://example.com/sakura-tea/hanami-tin.png" in post and "├┄┄" in post
    assert "╰" in post and "[1 Claim]" in post.split("╰", 1)[1]
