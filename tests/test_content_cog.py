"""Content reveals through the offline harness: exclusive content never reaches anyone below its tier."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from tests.helpers import CONFIG, config_with

USERS = {"mod": ["moderator", "member"], "alice": ["member"], "vera": ["visitor"], "leo": ["member", "leaf"],
         "bea": ["member", "blossom"]}
RANK = {"vera": -1, "alice": 0, "leo": 1, "bea": 2}
SECRET = "sun-dried yuzu peel"  # words from the shipped blossom content's text


def seen_by(g, text: str) -> set[str]:
    """Every user (of USERS, moderators aside) who can read a message containing `text` somewhere."""
    readers = set()
    for key in g.app.config.community.channels:
        channel = g.channel(key)
        if any(text in json.dumps({"c": m.content, "e": m.embeds}, ensure_ascii=False) for m in channel.messages):
            readers |= {who for who in RANK if g.can(who, "view_channel", key)}
    return readers


async def test_a_timed_reveal_reaches_its_tier_only_and_the_teaser_everyone(harness):
    g = await harness(users=USERS)
    await g.advance_to(datetime(2026, 12, 5, 9, 59, tzinfo=timezone.utc))
    assert seen_by(g, SECRET) == set()
    await g.advance_to(datetime(2026, 12, 5, 10, 0, tzinfo=timezone.utc))  # 19:00 in Tokyo
    post = g.channel("blossom-garden").messages[-1]
    assert post.embeds[0]["title"] == "First look: Winter Yuzu Sencha" and "Blossom exclusive" in json.dumps(post.embeds)
    assert seen_by(g, SECRET) == {"bea"}
    teaser = g.channel("announcements").messages[-1]
    assert "Blossom members just got a first look" in teaser.content and SECRET not in teaser.content
    assert seen_by(g, "Blossom members just got a first look") == set(RANK)
    await g.restart()
    await g.advance(hours=2)
    assert sum(SECRET in json.dumps(m.embeds) for m in g.channel("blossom-garden").messages) == 1


async def test_content_post_refuses_a_channel_below_the_tier(harness):
    g = await harness(users=USERS)
    for channel in ("lounge", "announcements", "leaf-lounge"):
        r = await g.slash("/content post", user="mod", id="winter-yuzu-first-look", channel=channel)
        assert r.ephemeral and "will not be posted there" in r.content
    assert seen_by(g, SECRET) == set()
    r = await g.slash("/content post", user="mod", id="brewing-guide-hojicha")
    assert "Posted `brewing-guide-hojicha` in #leaf-lounge" in r.content
    assert seen_by(g, "90 °C water") == {"leo", "bea"}
    audit = await g.app.audit.recent(g.app.guild_id)
    assert audit[0]["action"] == "content.post"
    r = await g.slash("/content post", user="leo", id="brewing-guide-hojicha")
    assert r.content == "Only moderators can do that."


async def test_a_schedule_can_reveal_content_too(harness, tmp_path):
    content = """
content:
  - id: faq
    tier: member
    channel: leaf-lounge
    text: The members FAQ lives here.
"""
    schedules = (CONFIG / "schedules.yaml").read_text(encoding="utf-8") + """
  - id: reveal-faq
    at: 2026-12-02T12:00
    action: content.reveal
    params: {id: faq}
"""
    g = await harness(config=config_with(tmp_path, {"content.yaml": content, "schedules.yaml": schedules}),
                      users=USERS)
    await g.advance_to(datetime(2026, 12, 2, 2, 59, tzinfo=timezone.utc))
    assert seen_by(g, "members FAQ") == set()
    await g.advance_to(datetime(2026, 12, 2, 3, 1, tzinfo=timezone.utc))  # 12:00 in Tokyo
    assert seen_by(g, "members FAQ") == {"leo", "bea"}
