"""Journeys through membership (issue 15, "Membership"): a member who leaves the server and comes back
gets the member role and their tier back at once (no `/tier check` needed); someone who left the
community with /leave does not; `/invite revoke` offers the invites as you type and answers a typo
in words, not "Failed to convert abc to int"."""
from __future__ import annotations

from tests.helpers import config_with

USERS = {"mod": ["moderator", "member"], "alice": ["member"], "bob": ["member"], "vera": ["visitor"]}


async def test_a_member_who_leaves_the_server_and_returns_gets_member_and_tier_roles_back(harness):
    g = await harness(users=USERS)
    await g.slash("/tier grant", user="mod", member="alice", tier="blossom")
    assert {"member", "blossom"} <= g.member("alice").roles
    await g.remove_member("alice")
    await g.join("alice")  # Discord gives her no roles back
    assert {"member", "blossom"} <= g.member("alice").roles
    assert "visitor" not in g.member("alice").roles
    r = await g.slash("/tier check", user="alice")
    assert "Blossom" in r.content and "Just updated" not in r.content  # nothing left for /tier check to fix
    # a member from before the bot (no tier) gets the member role back too
    await g.remove_member("bob")
    await g.join("bob")
    assert "member" in g.member("bob").roles


async def test_someone_who_left_the_community_with_leave_comes_back_as_a_visitor(harness, tmp_path):
    config = config_with(tmp_path, {"community.yaml": {"membership": {"mode": "open"}}})
    g = await harness(config=config, users=USERS)
    await g.slash("/leave", user="bob")
    await g.remove_member("bob")
    await g.join("bob")
    assert g.member("bob").roles == {"visitor"}


async def test_invite_revoke_autocompletes_and_explains_a_typo(harness, tmp_path):
    g = await harness(config=config_with(tmp_path, {"community.yaml": {"membership": {"mode": "invite"}}}),
                      users=USERS)
    await g.slash("/invite create", user="mod", max_uses=3)
    [invite] = await g.app.membership.invites.list(g.app.guild_id, g.user_id("mod"), is_moderator=True)
    choices = await g.autocomplete("/invite revoke", "invite", "", user="mod")
    assert choices == [{"name": f"#{invite.id} · {invite.hint}… · 0/3 used", "value": str(invite.id)}]
    r = await g.slash("/invite revoke", user="mod", invite="abc")
    assert "Failed to convert" not in r.content
    assert r.content == "“abc” is not an invite number. Pick one from the list as you type, or see `/invite list`."
    r = await g.slash("/invite revoke", user="mod", invite=f"#{invite.id}")
    assert r.content == f"Invite #{invite.id} ({invite.hint}…) revoked."
    assert await g.app.membership.invites.list(g.app.guild_id, g.user_id("mod"), is_moderator=True) == []
