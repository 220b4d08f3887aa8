"""Membership: open / approval / invite joining, leaving, tiers, and what `/community info` shows.

`build(app)` gives `app.membership`. Other services feed the tier rules through
`set_points_provider`, `set_streak_provider` and the "points.changed" event; stats reads joins and
leaves from `bot.db.membership.events`.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from apscheduler.triggers.cron import CronTrigger

from bot.db import membership as repo
from bot.errors import UserError

from ._applications import APPROVE_ID, DENY_ID, Applications
from ._codes import format_code, normalise
from ._invites import Invites
from ._results import (Application, CommunityInfo, CreatedInvite, Decision, Invite, JoinResult, TierChange,
                       TierInfo, TierStatus, discord_time)
from ._roster import MEMBER_ROLE, VISITOR_ROLE, Roster
from ._tiers import PointsProvider, StreakProvider, Tiers

if TYPE_CHECKING:
    from bot.app import App

__all__ = ["APPROVE_ID", "DENY_ID", "MEMBER_ROLE", "Application", "CommunityInfo", "CreatedInvite", "Decision", "Invite",
           "JoinResult", "MembershipService", "TierChange", "TierInfo", "TierStatus", "build", "discord_time",
           "format_code", "normalise"]

log = logging.getLogger(__name__)

DAILY_JOB = "membership:daily"
LEFT_SERVER = "left server"  # the detail of a leave by leaving the server (not /leave): undone on return


class MembershipService:
    def __init__(self, app: "App") -> None:
        self.app = app
        self.roster = Roster(app)
        self.applications = Applications(app, self.roster)
        self.tiers = Tiers(app, self.roster)
        self.invites = Invites(app, self.roster, self.tiers)
        app.events.on("points.changed", self._on_points_changed)

    @property
    def settings(self):
        return self.app.config.community.membership

    @property
    def mode(self) -> str:
        return self.settings.mode

    # --- lifecycle ---------------------------------------------------------------------------------------
    async def start(self) -> None:
        await self.applications.start()
        self._arm_daily_review()

    async def config_changed(self, config) -> None:
        """`/admin reload`: a new daily review time (or time zone) applies from its next occurrence."""
        self._arm_daily_review()

    def _arm_daily_review(self) -> None:
        at = self.settings.daily_review_at
        self.app.scheduler.add_job(DAILY_JOB, CronTrigger(hour=at.hour, minute=at.minute,
                                                          timezone=self.app.config.timezone), self.daily_review)

    async def stop(self) -> None:
        self.app.scheduler.remove_prefix("membership:")

    async def daily_review(self, _fire: datetime | None = None) -> None:
        """Expire overdue applications (in case a timer was missed) and re-run the tier rules."""
        await self.applications.expire_due()
        if self.app.guild_id is not None:
            await self.tiers.review(self.app.guild_id)
        await self.app.db.optimize()  # the planner's statistics follow the tables' growth

    # --- joining -----------------------------------------------------------------------------------------
    async def begin_join(self, guild_id: int, user_id: int) -> str:
        """What /join (or the Join button) should do now: the mode in force, after the checks that apply."""
        if self.mode == "approval":
            await self.applications.check_can_apply(guild_id, user_id)
        elif await self.roster.is_member(guild_id, user_id):
            raise UserError("membership.already_member")
        return self.mode

    async def join_open(self, guild_id: int, user_id: int) -> JoinResult:
        """Open mode, after the member accepted the rules."""
        if self.mode != "open":
            raise UserError("membership.mode_changed")
        if await self.roster.is_member(guild_id, user_id):
            raise UserError("membership.already_member")
        if not await self.roster.give_member_role(guild_id, user_id, reason="joined (rules accepted)"):
            raise UserError("membership.role_failed")
        event_id = await repo.record_join(self.app.db, guild_id=guild_id, user_id=user_id, via="open",
                                          at=self.app.clock.now(), rules_accepted=True)
        await self.roster.welcome(guild_id, user_id, event_id)
        await self.app.events.emit("member.joined", guild_id=guild_id, user_id=user_id, via="open")
        return JoinResult(user_id, "open")

    async def apply(self, guild_id: int, user_id: int, answers: dict) -> Application:
        if self.mode != "approval":
            raise UserError("membership.mode_changed")
        return await self.applications.submit(guild_id, user_id, answers)

    async def join_with_code(self, guild_id: int, user_id: int, code: str) -> JoinResult:
        if self.mode != "invite":
            raise UserError("membership.code_not_used", mode=self.app.t(f"membership.mode_{self.mode}"))
        return await self.invites.redeem(guild_id, user_id, code)

    # --- leaving -----------------------------------------------------------------------------------------
    async def leave(self, guild_id: int, user_id: int) -> None:
        """/leave: back to visitor. The server membership itself stays."""
        if not await self.roster.is_member(guild_id, user_id):
            raise UserError("membership.not_member")
        await self.roster.take_member_roles(guild_id, user_id, reason="left the community (/leave)")
        if not await repo.record_leave(self.app.db, guild_id=guild_id, user_id=user_id, at=self.app.clock.now(),
                                       detail="leave"):
            # a member from before the bot: log the leave all the same, so stats see it
            await repo.log_event(self.app.db, guild_id=guild_id, user_id=user_id, kind="left",
                                 at=self.app.clock.now(), detail="leave")
        await self.app.events.emit("member.left", guild_id=guild_id, user_id=user_id)

    async def member_removed(self, guild_id: int, user_id: int, *, held_member_role: bool = False) -> None:
        """They left (or were removed from) the server: withdraw any application, record the leave
        (also of a member from before the bot, who held the member role: stats count every leave)."""
        await self.applications.withdraw(guild_id, user_id)
        now = self.app.clock.now()
        if await repo.record_leave(self.app.db, guild_id=guild_id, user_id=user_id, at=now, detail=LEFT_SERVER,
                                   keep_tier=True):
            await self.app.events.emit("member.left", guild_id=guild_id, user_id=user_id)
        elif held_member_role:
            await repo.log_event(self.app.db, guild_id=guild_id, user_id=user_id, kind="left", at=now,
                                 detail=LEFT_SERVER)
            await self.app.events.emit("member.left", guild_id=guild_id, user_id=user_id)

    async def server_joined(self, guild_id: int, user_id: int) -> None:
        """Someone arrived on the server: a member who had left the server gets the member role and
        their tier back (Discord drops roles on leaving); anyone else reads as a visitor until they join."""
        if await self._rejoined(guild_id, user_id):
            return
        if VISITOR_ROLE in self.app.config.community.roles and self.app.guild is not None:
            keys = await self.app.guild.member_role_keys(guild_id, user_id) or set()
            if MEMBER_ROLE not in keys:
                await self.app.guild.add_role(guild_id, user_id, VISITOR_ROLE, reason="new on the server")

    async def _rejoined(self, guild_id: int, user_id: int) -> bool:
        last = await repo.last_join_or_leave(self.app.db, guild_id, user_id)
        if last is None or last["kind"] != "left" or last["detail"] != LEFT_SERVER:
            return False  # new, or they left the community themselves (/leave): they join again as anyone does
        if not await self.roster.give_member_role(guild_id, user_id, reason="back on the server: membership restored"):
            return False
        await repo.record_join(self.app.db, guild_id=guild_id, user_id=user_id, via="rejoin", at=self.app.clock.now())
        await self.tiers.restore(guild_id, user_id)
        await self.app.events.emit("member.joined", guild_id=guild_id, user_id=user_id, via="rejoin")
        return True

    # --- tiers (the participation service feeds these) --------------------------------------------------
    def set_points_provider(self, provider: PointsProvider) -> None:
        self.tiers.points_provider = provider

    def set_streak_provider(self, provider: StreakProvider) -> None:
        self.tiers.streak_provider = provider

    async def evaluate_tiers(self, guild_id: int, user_id: int) -> TierChange | None:
        return await self.tiers.evaluate(guild_id, user_id)

    async def _on_points_changed(self, guild_id: int, user_id: int, **_: object) -> None:
        await self.tiers.evaluate(guild_id, user_id)

    # --- /community info ---------------------------------------------------------------------------------
    async def community_info(self, guild_id: int) -> CommunityInfo:
        c = self.app.config.community
        if self.app.guild is not None:
            count = len(await self.app.guild.members_with_role(guild_id, MEMBER_ROLE))
        else:
            count = await repo.count_members(self.app.db, guild_id)
        tiers = tuple(
            TierInfo(t.key, t.name, t.description,
                     tuple(w for w, on in (("holder", t.grant.holder_role), ("points", t.grant.points),
                                           ("streak", t.grant.streak)) if on))
            for t in c.tiers)
        return CommunityInfo(c.info.name, c.info.purpose, self.mode, count, tiers)

    # --- the welcome post with the Join button ----------------------------------------------------------
    async def directory(self, guild_id: int, query: str | None = None, limit: int = 100) -> list[dict]:
        """Current members, newest first, with tier, all-time points and name; `query` is part of a
        name or a user id (the dashboard's member list)."""
        await self.app.participation.ledger.window(guild_id, "all")  # the all-time points, brought up to date
        return await repo.member_directory(self.app.db, guild_id, query=(query or "").strip() or None, limit=limit)

    async def welcome_post_key(self, guild_id: int, *, fresh: bool) -> str:
        """Dedupe key of the welcome post: /setup posts it once; `fresh` starts a new one."""
        generation = int(await repo.get_state(self.app.db, guild_id, "welcome_generation") or 0)
        if fresh or generation == 0:
            generation += 1
            await repo.set_state(self.app.db, guild_id, "welcome_generation", str(generation))
        return f"membership:welcome-post:{guild_id}:{generation}"


def build(app: "App") -> MembershipService:
    return MembershipService(app)
