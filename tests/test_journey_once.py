"""Journey: a moderator repeats an action (issue 15, "Saying it once"). The second time the bot says
what actually happened — already posted / granted / open, since when — and records nothing new."""
from __future__ import annotations

import pytest

USERS = {"mod": ["moderator", "member"], "alice": ["member"], "leo": ["member", "leaf"],
         "bea": ["member", "blossom"]}


async def audit_actions(g) -> list[str]:
    return [a["action"] for a in await g.app.audit.recent(g.app.guild_id)]


@pytest.mark.parametrize("clock_moves", [False, True], ids=["same-second", "a-minute-later"])
async def test_content_post_twice_posts_once_and_says_it_was_posted_before(harness, clock_moves):
    g = await harness(users=USERS)
    first = await g.slash("/content post", user="mod", id="brewing-guide-hojicha")
    assert "Posted `brewing-guide-hojicha` in #leaf-lounge" in first.content
    if clock_moves:
        await g.advance(minutes=1)
    again = await g.slash("/content post", user="mod", id="brewing-guide-hojicha")
    assert "Posted" not in again.content
    assert again.content.startswith("`brewing-guide-hojicha` was already posted in #leaf-lounge on <t:")
    assert again.content.endswith("Nothing was posted again.")
    guides = [m for m in g.channel("leaf-lounge").messages if "90 °C water" in str(m.embeds)]
    assert len(guides) == 1
    assert (await audit_actions(g)).count("content.post") == 1


async def test_tier_grant_twice_grants_and_audits_once(harness):
    g = await harness(users=USERS)
    first = await g.slash("/tier grant", user="mod", member="alice", tier="blossom")
    assert first.content.startswith("Granted **Blossom**")
    again = await g.slash("/tier grant", user="mod", member="alice", tier="blossom")
    assert again.content == (f"<@{g.user_id('alice')}> already holds **Blossom**, granted by "
                             f"<@{g.user_id('mod')}>. Nothing changed.")
    assert (await audit_actions(g)).count("tier.grant") == 1
    assert "blossom" in g.member("alice").roles


@pytest.mark.parametrize("clock_moves", [False, True], ids=["same-second", "a-minute-later"])
async def test_drop_open_twice_says_it_is_already_open_since_when(harness, clock_moves):
    g = await harness(users=USERS)
    first = await g.slash("/drop open", user="mod", drop="hanami-tin")
    assert first.content.startswith("Opened")
    if clock_moves:
        await g.advance(minutes=1)
    again = await g.slash("/drop open", user="mod", drop="hanami-tin")
    assert not again.content.startswith("Opened")
    assert again.content.startswith("**Sakura × Hanami illustrated tea tin** is already open, since 2026-")
    assert "<t:" in again.content and "Nothing changed" in again.content
    assert len(g.channel("announcements").messages) == 1
    assert (await audit_actions(g)).count("drop.open") == 1
