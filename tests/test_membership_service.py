"""Membership rules on a real SQLite file: joining in each mode, applications decided once, expiry,
invite codes and lockouts, tiers from grants / holder roles / points, and the events stats reads."""
from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from bot.app import App
from bot.clock import FakeClock
from bot.config import load_config
from bot.config.loader import Config
from bot.db import membership as repo
from bot.errors import UserError
from bot.services.membership import discord_time
from bot.services.membership._codes import ALPHABET, code_hash, new_code, normalise, plausible
from bot.services.messages import Sent

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
GUILD = 1000
ALICE, BOB, CAROL, VERA, MOD, MOD2 = 11, 12, 13, 14, 99, 98


class RecordingSender:
    def __init__(self) -> None:
        self.sent = []

    async def send(self, guild_id, target, message):
        self.sent.append((target, message))
        return Sent(message_id=len(self.sent), channel_id=77)

    def to(self, kind, value=None):
        return [m for t, m in self.sent if t.kind == kind and (value is None or t.value == str(value))]


class FakeGuild:
    """GuildPort in memory: role keys per user id."""

    def __init__(self, roles: dict[int, set[str]]) -> None:
        self.roles = {uid: set(keys) for uid, keys in roles.items()}

    async def add_role(self, guild_id, user_id, role_key, reason=""):
        if user_id not in self.roles:
            return False
        self.roles[user_id].add(role_key)
        return True

    async def remove_role(self, guild_id, user_id, role_key, reason=""):
        if user_id not in self.roles:
            return False
        self.roles[user_id].discard(role_key)
        return True

    async def member_role_keys(self, guild_id, user_id):
        return set(self.roles[user_id]) if user_id in self.roles else None

    async def members_with_role(self, guild_id, role_key):
        return sorted(u for u, keys in self.roles.items() if role_key in keys)


def with_membership(**changes) -> Config:
    config = load_config("config")
    community = config.community
    invites = changes.pop("invites", None)
    ms = community.membership.model_copy(update=changes)
    if invites:
        ms = ms.model_copy(update={"invites": ms.invites.model_copy(update=invites)})
    return dataclasses.replace(config, community=community.model_copy(update={"membership": ms}))


async def open_app(tmp_path, config: Config, clock: FakeClock | None = None) -> App:
    app = await App.open(config, db_path=tmp_path / "k.db", clock=clock or FakeClock(T0), real_scheduler=False)
    app.outbox.sender = RecordingSender()
    app.guild = FakeGuild({ALICE: {"visitor"}, BOB: {"visitor"}, CAROL: {"member"}, VERA: {"visitor"},
                           MOD: {"moderator", "member"}, MOD2: {"moderator", "member"}})
    app.guild_id = GUILD
    await app.start()
    return app


@pytest.fixture
async def make_app(tmp_path):
    opened = []

    async def make(**changes):
        app = await open_app(tmp_path, with_membership(**changes))
        opened.append(app)
        return app

    yield make
    for app in opened:
        await app.close()


def dm_texts(app, user_id) -> list[str]:
    return [m.content for m in app.outbox.sender.to("dm", user_id)]


# --- open mode --------------------------------------------------------------------------------------------
async def test_open_join_gives_the_member_role_records_it_and_welcomes_in_the_persona_voice(make_app):
    app = await make_app(mode="open")
    assert await app.membership.begin_join(GUILD, ALICE) == "open"
    result = await app.membership.join_open(GUILD, ALICE)
    await app.outbox.drain()
    assert result.via == "open"
    assert app.guild.roles[ALICE] == {"member"}  # visitor role taken away
    member = await repo.get_member(app.db, GUILD, ALICE)
    assert member["status"] == "member" and member["via"] == "open" and member["rules_accepted_at"] == T0
    [dm] = dm_texts(app, ALICE)
    assert "Irasshaimase!" in dm and "Sakura Tea House" in dm and "Sakura-chan" in dm
    with pytest.raises(UserError) as err:
        await app.membership.join_open(GUILD, ALICE)
    assert err.value.key == "membership.already_member"


async def test_leave_removes_member_and_tier_roles_and_logs_the_event(make_app):
    app = await make_app(mode="open")
    await app.membership.join_open(GUILD, ALICE)
    await app.membership.tiers.grant(GUILD, MOD, ALICE, "leaf")
    assert "leaf" in app.guild.roles[ALICE]
    await app.membership.leave(GUILD, ALICE)
    assert app.guild.roles[ALICE] == {"visitor"}
    kinds = [e["kind"] for e in await repo.events(app.db, GUILD) if e["user_id"] == ALICE]
    assert kinds == ["joined", "tier_up", "left"]
    with pytest.raises(UserError) as err:
        await app.membership.leave(GUILD, ALICE)
    assert err.value.key == "membership.not_member"


async def test_a_member_from_before_the_bot_can_leave_and_the_leave_is_counted(make_app):
    app = await make_app(mode="open")
    await app.membership.leave(GUILD, CAROL)  # has the role, no row
    assert "member" not in app.guild.roles[CAROL]
    assert [e["kind"] for e in await repo.events(app.db, GUILD)] == ["left"]


# --- approval mode ----------------------------------------------------------------------------------------
async def test_application_goes_to_the_queue_with_persistent_buttons(make_app):
    app = await make_app(mode="approval")
    application = await app.membership.apply(GUILD, ALICE, {"favourite": "Hojicha", "why": "I love tea", "rules": True})
    await app.outbox.drain()
    [post] = app.outbox.sender.to("channel", "mod-queue")
    assert [b.custom_id for b in post.buttons] == [f"kizuna:app:approve:{application.id}",
                                                  f"kizuna:app:deny:{application.id}"]
    assert [f["value"] for f in post.embeds[0]["fields"]] == ["Hojicha", "I love tea", "—", "✅ Accepted"]
    with pytest.raises(UserError) as err:
        await app.membership.begin_join(GUILD, ALICE)
    assert err.value.key == "membership.application_pending"


async def test_a_required_answer_is_required(make_app):
    app = await make_app(mode="approval")
    with pytest.raises(UserError) as err:
        await app.membership.apply(GUILD, ALICE, {"favourite": "  ", "why": "x", "rules": True})
    assert err.value.key == "membership.answer_missing"


async def test_two_moderators_approving_at_once_decide_once(make_app):
    app = await make_app(mode="approval")
    application = await app.membership.apply(GUILD, ALICE, {"favourite": "Sencha", "why": "tea", "rules": True})
    results = await asyncio.gather(app.membership.applications.approve(application.id, MOD),
                                   app.membership.applications.approve(application.id, MOD2),
                                   return_exceptions=True)
    wins = [r for r in results if not isinstance(r, Exception)]
    losses = [r for r in results if isinstance(r, UserError)]
    assert len(wins) == 1 and len(losses) == 1
    assert losses[0].key == "membership.already_decided"
    assert losses[0].params["by"] == f"<@{wins[0].application.decided_by}>"
    await app.outbox.drain()
    assert len([e for e in await repo.events(app.db, GUILD, kinds=("approved",))]) == 1
    assert len([e for e in await repo.events(app.db, GUILD, kinds=("joined",))]) == 1
    assert "member" in app.guild.roles[ALICE]
    assert len(dm_texts(app, ALICE)) == 2  # approved + welcome, once each
    audit = await app.audit.recent(GUILD)
    assert [a["action"] for a in audit] == ["application.approve"]


async def test_denial_is_dmd_with_the_reason_and_reapplying_waits_for_the_cooldown(make_app):
    app = await make_app(mode="approval")
    application = await app.membership.apply(GUILD, BOB, {"favourite": "x", "why": "y", "rules": True})
    with pytest.raises(UserError):
        await app.membership.applications.deny(application.id, MOD, "   ")
    await app.membership.applications.deny(application.id, MOD, "Please read the rules first")
    await app.outbox.drain()
    [dm] = dm_texts(app, BOB)
    again = T0 + timedelta(days=7)
    assert "Please read the rules first" in dm and discord_time(again, "D") in dm
    app.clock.advance(days=6)
    with pytest.raises(UserError) as err:
        await app.membership.begin_join(GUILD, BOB)
    assert err.value.key == "membership.reapply_cooldown" and err.value.params["date"] == discord_time(again, "D")
    app.clock.advance(days=1, minutes=1)
    assert await app.membership.begin_join(GUILD, BOB) == "approval"


async def test_a_pending_application_expires_with_a_notice_and_the_timer_survives_a_restart(tmp_path):
    config = with_membership(mode="approval", application_expiry_days=3)
    clock = FakeClock(T0)
    app = await open_app(tmp_path, config, clock)
    application = await app.membership.apply(GUILD, ALICE, {"favourite": "x", "why": "y", "rules": True})
    await app.close()
    app = await open_app(tmp_path, config, clock)  # the timer is re-armed from the database
    try:
        await app.scheduler.advance_to(T0 + timedelta(days=3, minutes=1))
        await app.outbox.drain()
        assert (await app.membership.applications.get(application.id)).status == "expired"
        [dm] = dm_texts(app, ALICE)
        assert "3 days" in dm
        # the daily sweep coming after finds nothing more to do (no second notice)
        await app.scheduler.advance_to(T0 + timedelta(days=5))
        await app.outbox.drain()
        assert len(dm_texts(app, ALICE)) == 1
        with pytest.raises(UserError) as err:
            await app.membership.applications.approve(application.id, MOD)
        assert err.value.key == "membership.already_closed"
    finally:
        await app.close()


async def test_an_applicant_who_leaves_the_server_is_withdrawn(make_app):
    app = await make_app(mode="approval")
    application = await app.membership.apply(GUILD, ALICE, {"favourite": "x", "why": "y", "rules": True})
    del app.guild.roles[ALICE]
    await app.membership.member_removed(GUILD, ALICE)
    assert (await app.membership.applications.get(application.id)).status == "withdrawn"
    assert f"{'membership:app-expire:'}{application.id}" not in app.scheduler.jobs
    assert [a.id for a in await app.membership.applications.list(GUILD)] == []


# --- invite mode ------------------------------------------------------------------------------------------
def test_codes_are_long_unambiguous_and_forgiving_to_type():
    code = new_code()
    assert plausible(code) and len(normalise(code)) == 12
    assert not set(normalise(code)) - set(ALPHABET)
    assert not {"0", "O", "1", "I", "L"} & set(ALPHABET)
    assert code_hash(code.lower().replace("-", " ")) == code_hash(code)
    assert len({new_code() for _ in range(200)}) == 200


async def test_an_invite_lets_one_person_in_records_the_inviter_and_is_stored_hashed(make_app):
    app = await make_app(mode="invite")
    created = await app.membership.invites.create(GUILD, MOD, is_moderator=True, max_uses=1, tier="leaf")
    raw = await app.db.fetchall("SELECT * FROM invites")
    assert normalise(created.code) not in str([dict(r) for r in raw])  # only the hash is stored
    result = await app.membership.join_with_code(GUILD, ALICE, created.code.lower())
    assert result.inviter_id == MOD and result.tier == "leaf"
    assert {"member", "leaf"} <= app.guild.roles[ALICE]
    member = await repo.get_member(app.db, GUILD, ALICE)
    assert member["via"] == "invite" and member["inviter_id"] == MOD
    with pytest.raises(UserError) as err:
        await app.membership.join_with_code(GUILD, BOB, created.code)
    assert err.value.key == "membership.code_used_up"


async def test_expired_and_revoked_codes_each_have_their_reason(make_app):
    app = await make_app(mode="invite")
    short = await app.membership.invites.create(GUILD, MOD, is_moderator=True, expires_days=1)
    revoked = await app.membership.invites.create(GUILD, MOD, is_moderator=True)
    await app.membership.invites.revoke(GUILD, MOD, revoked.invite.id, is_moderator=True)
    app.clock.advance(days=2)
    with pytest.raises(UserError) as err:
        await app.membership.join_with_code(GUILD, ALICE, short.code)
    assert err.value.key == "membership.code_expired"
    with pytest.raises(UserError) as err:
        await app.membership.join_with_code(GUILD, ALICE, revoked.code)
    assert err.value.key == "membership.code_revoked"
    assert "member" not in app.guild.roles[ALICE]


async def test_guessing_codes_locks_out_even_the_right_code_until_the_lockout_ends(make_app):
    app = await make_app(mode="invite", invites={"max_failed_attempts": 3, "lockout_minutes": 30})
    created = await app.membership.invites.create(GUILD, MOD, is_moderator=True)
    keys = []
    for guess in ("AAAA-AAAA-AAAA", "nonsense", "BBBB-BBBB-BBBB"):
        with pytest.raises(UserError) as err:
            await app.membership.join_with_code(GUILD, VERA, guess)
        keys.append(err.value.key)
    assert keys == ["membership.code_wrong", "membership.code_wrong", "membership.locked_out"]
    with pytest.raises(UserError) as err:
        await app.membership.join_with_code(GUILD, VERA, created.code)
    assert err.value.key == "membership.locked_out"
    app.clock.advance(minutes=31)
    await app.membership.join_with_code(GUILD, VERA, created.code)
    assert "member" in app.guild.roles[VERA]


async def test_members_may_create_invites_within_their_quota_and_without_tiers(make_app):
    app = await make_app(mode="invite", invites={"members_can_create": True, "member_quota": 1})
    with pytest.raises(UserError) as err:
        await app.membership.invites.create(GUILD, CAROL, is_moderator=False, tier="leaf")
    assert err.value.key == "membership.invite_tier_moderators_only"
    created = await app.membership.invites.create(GUILD, CAROL, is_moderator=False)
    with pytest.raises(UserError) as err:
        await app.membership.invites.create(GUILD, CAROL, is_moderator=False)
    assert err.value.key == "membership.invite_quota"
    with pytest.raises(UserError) as err:
        await app.membership.invites.create(GUILD, ALICE, is_moderator=False)  # a visitor
    assert err.value.key == "membership.not_member"
    with pytest.raises(UserError) as err:
        await app.membership.invites.revoke(GUILD, ALICE, created.invite.id, is_moderator=False)
    assert err.value.key == "membership.invite_not_yours"
    assert [i.id for i in await app.membership.invites.list(GUILD, CAROL, is_moderator=False)] == [created.invite.id]
    assert await app.membership.invites.list(GUILD, ALICE, is_moderator=False) == []


async def test_members_cannot_create_invites_when_the_yaml_says_no(make_app):
    app = await make_app(mode="invite", invites={"members_can_create": False})
    with pytest.raises(UserError) as err:
        await app.membership.invites.create(GUILD, CAROL, is_moderator=False)
    assert err.value.key == "core.not_moderator"


async def test_codes_are_not_taken_in_other_modes(make_app):
    app = await make_app(mode="open")
    with pytest.raises(UserError) as err:
        await app.membership.join_with_code(GUILD, ALICE, "ABCD-EFGH-JKMN")
    assert err.value.key == "membership.code_not_used"


# --- tiers ------------------------------------------------------------------------------------------------
async def test_points_promote_to_the_highest_qualifying_tier_and_demote_when_they_fall(make_app):
    app = await make_app(mode="open")
    points = {CAROL: 120}
    app.membership.set_points_provider(lambda g, u, days: _value(points.get(u, 0)))
    await app.events.emit("points.changed", guild_id=GUILD, user_id=CAROL)
    assert "leaf" in app.guild.roles[CAROL]
    points[CAROL] = 600
    change = await app.membership.evaluate_tiers(GUILD, CAROL)
    assert change.promoted and change.new == "blossom"
    assert "blossom" in app.guild.roles[CAROL] and "leaf" not in app.guild.roles[CAROL]  # one tier role
    points[CAROL] = 10
    change = await app.membership.evaluate_tiers(GUILD, CAROL)
    assert not change.promoted and change.new is None
    assert not {"leaf", "blossom"} & app.guild.roles[CAROL]
    await app.outbox.drain()
    assert len(dm_texts(app, CAROL)) == 3
    actions = [a["action"] for a in reversed(await app.audit.recent(GUILD))]
    assert actions == ["tier.promote", "tier.promote", "tier.demote"]


async def test_a_holder_role_grants_its_tier_and_a_streak_grants_another(make_app):
    app = await make_app(mode="open")
    app.guild.roles[CAROL].add("holder")
    app.membership.set_streak_provider(lambda g, u: _value(8 if u == MOD else 0))
    await app.membership.tiers.review_all(GUILD)
    assert "blossom" in app.guild.roles[CAROL]
    assert "leaf" in app.guild.roles[MOD]
    assert not {"leaf", "blossom"} & app.guild.roles[ALICE]  # not a member


async def test_a_manual_grant_is_never_demoted_by_the_rules(make_app):
    app = await make_app(mode="open")
    app.membership.set_points_provider(lambda g, u, days: _value(0))
    status = await app.membership.tiers.grant(GUILD, MOD, CAROL, "blossom")
    assert status.tier == "blossom"
    await app.membership.daily_review()
    assert "blossom" in app.guild.roles[CAROL]
    status = await app.membership.tiers.revoke(GUILD, MOD, CAROL)
    assert status.tier is None and "blossom" not in app.guild.roles[CAROL]
    actions = [a["action"] for a in reversed(await app.audit.recent(GUILD))]
    assert actions == ["tier.grant", "tier.revoke"]


async def test_a_visitor_cannot_be_granted_a_tier(make_app):
    app = await make_app(mode="open")
    with pytest.raises(UserError) as err:
        await app.membership.tiers.grant(GUILD, MOD, ALICE, "leaf")
    assert err.value.key == "membership.tier_needs_member"


async def test_the_daily_review_runs_at_four_in_the_community_time_zone(make_app):
    app = await make_app(mode="open")
    job = app.scheduler.jobs["membership:daily"]
    local = job.next_fire.astimezone(app.config.timezone)
    assert (local.hour, local.minute) == (4, 0)


# --- switching modes, info, events ------------------------------------------------------------------------
async def test_switching_mode_keeps_members_and_info_shows_the_mode_in_force(tmp_path):
    clock = FakeClock(T0)
    app = await open_app(tmp_path, with_membership(mode="open"), clock)
    await app.membership.join_open(GUILD, ALICE)
    guild = app.guild
    await app.close()
    app = await open_app(tmp_path, with_membership(mode="invite"), clock)
    app.guild = guild
    try:
        info = await app.membership.community_info(GUILD)
        assert info.mode == "invite" and info.name == "Sakura Tea House"
        assert info.member_count == 4  # alice, carol, mod, mod2
        assert [t.key for t in info.tiers] == ["leaf", "blossom"]
        assert info.tiers[1].ways == ("holder", "points")
        assert (await repo.get_member(app.db, GUILD, ALICE))["status"] == "member"
    finally:
        await app.close()


async def test_events_give_stats_joins_and_leaves_in_a_window(make_app):
    app = await make_app(mode="open")
    await app.membership.join_open(GUILD, ALICE)
    app.clock.advance(days=1)
    await app.membership.join_open(GUILD, BOB)
    await app.membership.leave(GUILD, ALICE)
    day2 = await repo.events(app.db, GUILD, since=T0 + timedelta(hours=12), kinds=("joined", "left"))
    assert [(e["user_id"], e["kind"]) for e in day2] == [(BOB, "joined"), (ALICE, "left")]


async def _value(v):
    return v
