"""Membership through the offline harness: read-only visitors, exclusive tier channels, each joining
mode end to end, decisions made once, invite code refusals and lockout, restart-safe queue buttons,
/setup idempotence, /community info."""
from __future__ import annotations

import asyncio
import re

import pytest

from bot.db import membership as repo
from bot.offline import Forbidden
from tests.helpers import config_with

CODE = re.compile(r"`([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})`")


def mode(tmp_path, name: str, **membership):
    return config_with(tmp_path, {"community.yaml": {"membership": {"mode": name, **membership}}})


# --- who may do what where -------------------------------------------------------------------------------
async def test_a_visitor_reads_public_channels_but_cannot_post_or_react_and_a_member_can(harness):
    g = await harness()
    for channel in ("lounge", "announcements", "daily-prompt"):
        assert g.can("vera", "view_channel", channel) and g.can("vera", "read_message_history", channel)
        assert not g.can("vera", "send_messages", channel)
        assert not g.can("vera", "add_reactions", channel)
    with pytest.raises(Forbidden):
        await g.say("lounge", "hi all", user="vera")
    msg = await g.say("lounge", "hello!", user="alice")
    with pytest.raises(Forbidden):
        await g.react(msg, "👍", user="vera")
    await g.react(msg, "👍", user="alice")
    assert msg.reaction_count("👍") == 1


async def test_a_leaf_member_cannot_see_the_blossom_channel_but_a_blossom_sees_both(harness):
    g = await harness()
    await g.add_member("erin", roles=["member", "leaf"])
    await g.add_member("fumi", roles=["member", "blossom"])
    assert g.can("erin", "view_channel", "leaf-lounge")
    assert not g.can("erin", "view_channel", "blossom-garden")
    assert g.can("fumi", "view_channel", "blossom-garden") and g.can("fumi", "view_channel", "leaf-lounge")
    assert not g.can("alice", "view_channel", "leaf-lounge")
    assert not g.can("vera", "view_channel", "mod-queue") and g.can("mod", "view_channel", "mod-queue")


# --- open mode -------------------------------------------------------------------------------------------
async def test_open_mode_rules_then_member_role_then_welcome_dm_and_leave(harness, tmp_path):
    g = await harness(config=mode(tmp_path, "open"))
    r = await g.slash("/join", user="vera")
    assert r.ephemeral and "Be kind to each other" in r.content and r.buttons == ["I accept"]
    await g.click("I accept", on=r, user="vera")
    assert "member" in g.member("vera").roles and "visitor" not in g.member("vera").roles
    assert "Irasshaimase!" in g.dms("vera")[-1].content
    await g.say("lounge", "hi everyone!", user="vera")
    row = await repo.get_member(g.app.db, g.world.guild_id, g.world.user_id("vera"))
    assert row["via"] == "open" and row["rules_accepted_at"] is not None

    r = await g.slash("/join", user="vera")
    assert "already a member" in r.content
    await g.slash("/leave", user="vera")
    assert "member" not in g.member("vera").roles and "visitor" in g.member("vera").roles
    with pytest.raises(Forbidden):
        await g.say("lounge", "still here?", user="vera")


async def test_the_welcome_post_join_button_works_and_setup_posts_it_once(harness, tmp_path):
    g = await harness(config=mode(tmp_path, "open"))
    await g.slash("/setup", user="mod")
    await g.slash("/setup", user="mod")
    posts = [m for m in g.channel("welcome").messages if "Join" in m.buttons]
    assert len(posts) == 1
    r = await g.click("Join", on=posts[0], user="vera")
    assert r.buttons == ["I accept"]
    await g.click("I accept", on=r, user="vera")
    assert "member" in g.member("vera").roles


# --- approval mode ---------------------------------------------------------------------------------------
async def apply(g, user="vera", favourite="Hojicha", why="I love roasted tea"):
    await g.slash("/join", user=user)
    await g.submit_modal({"favourite": favourite, "why": why, "rules": True}, user=user)
    return g.channel("mod-queue").messages[-1]


async def test_approval_mode_application_approved_end_to_end(harness, tmp_path):
    g = await harness(config=mode(tmp_path, "approval"))
    post = await apply(g)
    assert "Application sent" not in post.text  # the queue post, not the applicant's reply
    assert g.last_reply("vera").ephemeral and "#1" in g.last_reply("vera").content
    assert post.buttons == ["Approve", "Deny"]
    assert "Hojicha" in post.text and "I love roasted tea" in post.text
    r = await g.slash("/applications list", user="mod")
    assert "#1" in r.content
    await g.click("Approve", on=post, user="mod")
    assert "member" in g.member("vera").roles
    assert "approved" in g.dms("vera")[0].content
    assert g.channel("mod-queue").messages[-1].buttons == []  # the decision replaced the buttons
    assert any("application.approve" in m.content for m in g.channel("mod-log").messages)


async def test_approval_mode_denial_with_reason_then_reapply_cooldown(harness, tmp_path):
    g = await harness(config=mode(tmp_path, "approval"))
    post = await apply(g)
    await g.click("Deny", on=post, user="mod")
    await g.submit_modal({"reason": "Please tell us more about yourself"}, user="mod")
    assert "member" not in g.member("vera").roles
    assert "Please tell us more about yourself" in g.dms("vera")[-1].content
    r = await g.slash("/join", user="vera")
    assert "apply again from" in r.content
    await g.advance(days=8)
    post = await apply(g, why="Second try: I run a tea blog")
    assert post.buttons == ["Approve", "Deny"]


async def test_two_moderators_clicking_approve_at_once_decide_it_once(harness, tmp_path):
    g = await harness(config=mode(tmp_path, "approval"))
    await g.add_member("mod2", roles=["moderator", "member"])
    post = await apply(g)
    await asyncio.gather(g.click("Approve", on=post, user="mod"), g.click("Approve", on=post, user="mod2"))
    replies = [g.last_reply("mod"), g.last_reply("mod2")]
    assert sum(1 for r in replies if r is not None and "already approved by" in (r.content or "")) == 1
    events = await repo.events(g.app.db, g.world.guild_id, kinds=("approved", "joined"))
    assert [e["kind"] for e in events] == ["approved", "joined"]
    assert len([m for m in g.dms("vera") if "approved" in m.content]) == 1


async def test_queue_buttons_keep_working_after_a_restart(harness, tmp_path):
    g = await harness(config=mode(tmp_path, "approval"))
    post = await apply(g)
    await g.restart()
    await g.click("Approve", on=post, user="mod")
    assert "member" in g.member("vera").roles


async def test_a_pending_application_expires_with_a_notice(harness, tmp_path):
    g = await harness(config=mode(tmp_path, "approval", application_expiry_days=2))
    post = await apply(g)
    await g.advance(days=2, hours=1)
    assert "expired" in g.dms("vera")[-1].content
    post.components[0]["components"][0]["disabled"] = False  # a client still showing the old card
    await g.click("Approve", on=post, user="mod")
    assert "already closed" in g.last_reply("mod").content
    assert "member" not in g.member("vera").roles


async def test_an_applicant_who_leaves_the_server_is_withdrawn(harness, tmp_path):
    g = await harness(config=mode(tmp_path, "approval"))
    post = await apply(g)
    await g.remove_member("vera")
    r = await g.slash("/applications list", user="mod")
    assert "No applications" in r.content
    post.components[0]["components"][1]["disabled"] = False  # a client still showing the old card
    await g.click("Deny", on=post, user="mod")
    assert "already closed" in g.last_reply("mod").content


# --- invite mode -----------------------------------------------------------------------------------------
async def create_code(g, user="mod", **options) -> str:
    r = await g.slash("/invite create", user=user, **options)
    match = CODE.search(r.content)
    assert match, r.content
    return match.group(1)


async def test_invite_mode_code_lets_a_visitor_in_with_its_tier_and_records_the_inviter(harness, tmp_path):
    g = await harness(config=mode(tmp_path, "invite"))
    code = await create_code(g, max_uses=1, tier="leaf")
    r = await g.slash("/join", user="vera", code=code.lower())
    assert "Green Leaf" in r.content
    assert {"member", "leaf"} <= g.member("vera").roles
    row = await repo.get_member(g.app.db, g.world.guild_id, g.world.user_id("vera"))
    assert row["via"] == "invite" and row["inviter_id"] == g.world.user_id("mod")
    r = await g.slash("/invite list", user="mod")
    assert "No active invites" in r.content  # its one use is spent


async def test_the_join_button_in_invite_mode_asks_for_the_code(harness, tmp_path):
    g = await harness(config=mode(tmp_path, "invite"))
    code = await create_code(g)
    await g.slash("/join", user="vera")
    r = await g.submit_modal({"code": code}, user="vera")
    assert "member" in g.member("vera").roles


async def test_used_up_expired_and_revoked_codes_are_refused_with_their_reason(harness, tmp_path):
    g = await harness(config=mode(tmp_path, "invite"))
    await g.add_member("dan", roles=["visitor"])
    used = await create_code(g, max_uses=1)
    await g.slash("/join", user="vera", code=used)
    r = await g.slash("/join", user="dan", code=used)
    assert "already been used" in r.content
    revoked = await create_code(g)
    invite_id = re.search(r"Invite #(\d+)", g.last_reply("mod").content).group(1)
    await g.slash("/invite revoke", user="mod", invite=int(invite_id))
    r = await g.slash("/join", user="dan", code=revoked)
    assert "revoked" in r.content
    expiring = await create_code(g, expires_days=1)
    await g.advance(days=2)
    r = await g.slash("/join", user="dan", code=expiring)
    assert "expired" in r.content
    assert "member" not in g.member("dan").roles


async def test_guessing_codes_locks_out(harness, tmp_path):
    g = await harness(config=mode(tmp_path, "invite", invites={"max_failed_attempts": 3, "lockout_minutes": 30}))
    code = await create_code(g)
    replies = [await g.slash("/join", user="vera", code=guess) for guess in ("AAAA-BBBB-CCCC", "DDDD-EEEE-FFFF",
                                                                             "GGGG-HHHH-JJJJ")]
    assert "not valid" in replies[0].content and "Too many wrong codes" in replies[2].content
    r = await g.slash("/join", user="vera", code=code)
    assert "Too many wrong codes" in r.content and "member" not in g.member("vera").roles
    assert any("locked out" in m.content for m in g.channel("mod-log").messages)
    await g.advance(minutes=31)
    await g.slash("/join", user="vera", code=code)
    assert "member" in g.member("vera").roles


async def test_members_create_invites_only_as_the_yaml_allows(harness, tmp_path):
    g = await harness(config=mode(tmp_path, "invite", invites={"members_can_create": True, "member_quota": 1}))
    r = await g.slash("/invite create", user="alice", tier="leaf")
    assert "Only moderators" in r.content
    await create_code(g, user="alice")
    r = await g.slash("/invite create", user="alice")
    assert "active invite" in r.content
    r = await g.slash("/invite create", user="vera")
    assert "not a member" in r.content


# --- tiers, info, setup ----------------------------------------------------------------------------------
async def test_tier_grant_opens_the_exclusive_channel_and_revoke_closes_it(harness):
    g = await harness()
    await g.slash("/tier grant", user="mod", member="alice", tier="blossom")
    assert "blossom" in g.member("alice").roles and g.can("alice", "view_channel", "blossom-garden")
    assert "Blossom" in g.dms("alice")[-1].content
    r = await g.slash("/tier check", user="alice")
    assert "Blossom" in r.content
    r = await g.slash("/tier check", user="alice", member="bob")
    assert "Only moderators" in r.content
    await g.slash("/tier revoke", user="mod", member="alice")
    assert not g.can("alice", "view_channel", "blossom-garden")
    assert any("tier.grant" in m.content for m in g.channel("mod-log").messages)


async def test_points_fed_by_participation_promote_through_the_daily_review(harness):
    g = await harness()
    alice = g.world.user_id("alice")

    async def points(guild_id, user_id, window_days):
        return 150 if user_id == alice else 0

    g.app.membership.set_points_provider(points)
    await g.advance(days=1)  # passes 04:00 community time
    assert "leaf" in g.member("alice").roles and "leaf" not in g.member("bob").roles


async def test_community_info_shows_name_purpose_mode_members_and_tiers(harness, tmp_path):
    g = await harness(config=mode(tmp_path, "invite"))
    r = await g.slash("/community info", user="vera")
    embed = r.embeds[0]
    assert embed["title"] == "Sakura Tea House"
    text = str(embed)
    assert "by invite" in text and "Green Leaf" in text and "Blossom" in text
    members = next(f for f in embed["fields"] if f["name"] == "Members")
    assert members["value"] == "4"  # mod, alice, bob, carol


async def test_setup_twice_changes_nothing_the_second_time_and_fixes_drifted_overwrites(harness):
    g = await harness()
    first = await g.slash("/setup", user="mod")
    assert "Could not" not in first.content
    lounge = g.channel("lounge")
    lounge.overwrites[g.world.guild_id] = (0, 0, 0)  # someone cleared @everyone's deny by hand
    g.world.version += 1
    g.emit_later("CHANNEL_UPDATE", lounge.payload())
    await g.settle()
    assert g.can("vera", "send_messages", "lounge")
    r = await g.slash("/setup", user="mod")
    assert "Updated: #lounge" in r.content
    assert not g.can("vera", "send_messages", "lounge")
    r = await g.slash("/setup", user="mod")
    assert "Updated: nothing" in r.content and "Created: nothing" in r.content


async def test_setup_creates_what_is_missing_and_reports_what_it_may_not_do(harness):
    g = await harness()
    quiz = g.channel("quiz")
    quiz.deleted = True
    g.world.version += 1
    g.emit_later("CHANNEL_DELETE", quiz.payload())
    g.deny_bot("lounge", "manage_roles")
    await g.settle()
    r = await g.slash("/setup", user="mod")
    assert "Created: #quiz" in r.content
    assert "Could not: #lounge" in r.content  # its @bot overwrite differs and the bot may not fix it
    [new_quiz] = [c for c in g.world.guild_channels() if c.name == "quiz" and not c.deleted]
    assert g.can("vera", "view_channel", new_quiz) and not g.can("vera", "send_messages", new_quiz)
    assert g.can("alice", "send_messages", new_quiz)
