"""The persona's voice on Discord: scheduled posts (as_persona) go out through a webhook under the
persona's name and avatar when the bot has Manage Webhooks, and as the bot itself without it."""
from __future__ import annotations

from bot.services.messages import Button, OutMessage, Target
from tests.helpers import config_with

AVATAR = "https://example.com/sakura-chan.png"  # config/community.yaml
SCHEDULES = """
schedules:
  - id: hello
    channel: announcements
    at: 2026-12-01T10:00
    text: "{persona.greeting} Fresh blends today!"
  - id: ama-teaser
    channel: announcements
    at: 2026-12-01T11:00
    action: ama.announce
    params: {topic: Tea masters, when: "Friday 20:00"}
"""


def webhook_executions(g) -> list:
    return [r for r in g.requests if r.method == "POST" and r.path.startswith("/webhooks/")
            and not r.path.startswith(f"/webhooks/{g.world.application_id}/")]


async def test_with_manage_webhooks_a_scheduled_post_is_by_the_persona(harness, tmp_path):
    g = await harness(config=config_with(tmp_path, {"schedules.yaml": SCHEDULES}))
    await g.advance(hours=3)  # the clock starts at 09:00 in Tokyo
    posts = g.channel("announcements").messages
    assert [p.content for p in posts] == [
        "Irasshaimase! Fresh blends today!",
        g.app.t("ama.announce_upcoming", topic="Tea masters", guest="", when="Friday 20:00"),
    ]
    for post in posts:
        assert post.webhook_id is not None
        assert post.username == "Sakura-chan"
        assert post.payload()["author"]["username"] == "Sakura-chan"
    executions = webhook_executions(g)
    assert [e.json["avatar_url"] for e in executions] == [AVATAR, AVATAR]
    assert [e.json["username"] for e in executions] == ["Sakura-chan", "Sakura-chan"]
    # one webhook for the channel, made once and reused (not a GET + POST per post)
    creates = [r for r in g.requests if r.method == "POST" and r.path.endswith("/webhooks")]
    assert len(creates) == 1 and len(g.world.webhooks) == 1


async def test_without_manage_webhooks_it_falls_back_to_the_bot(harness, tmp_path):
    g = await harness(config=config_with(tmp_path, {"schedules.yaml": SCHEDULES}))
    g.deny_bot("announcements", "manage_webhooks")
    await g.advance(hours=3)
    posts = g.channel("announcements").messages
    assert len(posts) == 2
    assert all(p.webhook_id is None and p.author_id == g.world.bot_user_id for p in posts)
    assert webhook_executions(g) == [] and g.world.webhooks == {}


async def test_the_persona_can_be_switched_off(harness, tmp_path):
    config = config_with(tmp_path, {"schedules.yaml": SCHEDULES, "community.yaml": {"persona": {"use_webhook": False}}})
    g = await harness(config=config)
    await g.advance(hours=3)
    assert all(p.webhook_id is None for p in g.channel("announcements").messages)


async def test_a_persona_post_keeps_its_buttons_thread_and_files(harness):
    g = await harness()
    message = OutMessage(content="A reveal!", buttons=(Button("Claim", custom_id="kizuna:test:claim:1"),),
                         thread_name="Reveal talk", files=(("a.txt", "aGVsbG8="),), as_persona=True)
    await g.app.outbox.post(g.app.guild_id, Target.channel("announcements"), message, dedupe_key="t:1")
    await g.app.outbox.drain()
    await g.settle()
    post = g.channel("announcements").messages[-1]
    assert post.username == "Sakura-chan" and post.webhook_id is not None
    assert post.buttons == ["Claim"]
    assert post.files == [("a.txt", b"hello")]
    assert post.thread is not None and post.thread.name == "Reveal talk"


async def test_a_deleted_persona_webhook_is_made_again(harness, tmp_path):
    g = await harness(config=config_with(tmp_path, {"schedules.yaml": SCHEDULES}))
    await g.advance(hours=1, minutes=30)  # the first post made the webhook
    g.world.webhooks.clear()  # a moderator deleted it in the channel settings
    await g.advance(hours=2)
    posts = g.channel("announcements").messages
    assert len(posts) == 2 and all(p.username == "Sakura-chan" for p in posts)
    assert len(g.world.webhooks) == 1


async def test_a_persona_post_is_edited_in_place_through_its_webhook(harness):
    g = await harness()
    post = OutMessage(content="Drop open!", buttons=(Button("Claim", custom_id="kizuna:test:claim:2"),), as_persona=True)
    await g.app.outbox.post(g.app.guild_id, Target.channel("announcements"), post, dedupe_key="t:2")
    closed = OutMessage(content="Drop closed.", buttons=(Button("Claim", custom_id="kizuna:test:claim:2", disabled=True),),
                        replaces="t:2")
    await g.app.outbox.post(g.app.guild_id, Target.channel("announcements"), closed, dedupe_key="t:2:closed")
    await g.app.outbox.drain()
    await g.settle()
    [message] = g.channel("announcements").messages  # one message, edited: no second post
    assert message.webhook_id is not None and message.username == "Sakura-chan"
    assert message.content == "Drop closed." and len(message.history) == 1
    assert all(b.get("disabled") for b in message.button_components)
    assert any(r.method == "PATCH" and r.path.startswith("/webhooks/") for r in g.requests)
