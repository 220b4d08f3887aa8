"""Tiers: granted by a moderator, by holding a role another bot syncs, or by points / streaks.

A member holds one tier role, the highest they qualify for (exclusive channels already let higher
tiers into lower tiers' rooms). A moderator's grant is a floor the rules never take away. Only tier
roles this service gave are ever removed, so installing the bot never strips roles given by hand.

Evaluated incrementally: an award ("points.changed") or a holder role coming or going re-checks that
member at once, so without an event a member's rule tier can only go DOWN (points leaving a window, a
streak ending, a member role or holder role lost while the bot was away). The daily review therefore
looks only at the members who hold a tier, those holding a holder role, and those who joined since the
last review; the first review, and the first after the tier rules change, looks at everyone.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Awaitable, Callable

from bot.db import membership as repo
from bot.db.connection import from_db_time, to_db_time
from bot.errors import UserError
from bot.services.audit import AUTOMATIC  # actor id for changes the rules made

from ._results import TierChange, TierStatus
from ._roster import MEMBER_ROLE, Roster

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

PointsProvider = Callable[[int, int, int], Awaitable[int]]  # (guild_id, user_id, window_days) -> points
StreakProvider = Callable[[int, int], Awaitable[int]]  # (guild_id, user_id) -> current streak (days)
REVIEW_AT, REVIEW_RULES = "tier_review_at", "tier_review_rules"  # membership_state keys


class Tiers:
    def __init__(self, app: "App", roster: Roster) -> None:
        self.app = app
        self.roster = roster
        self.points_provider: PointsProvider | None = None
        self.streak_provider: StreakProvider | None = None

    @property
    def community(self):
        return self.app.config.community

    def rank(self, tier_key: str | None) -> int:
        """0 for none, and for a tier that is no longer in the YAML."""
        try:
            return self.community.tier_rank(tier_key)
        except KeyError:
            return 0

    def name(self, tier_key: str | None) -> str:
        if not self.rank(tier_key):
            return self.app.t("membership.no_tier")
        return self.community.tier(tier_key).name

    async def rule_tier(self, guild_id: int, user_id: int, role_keys: set[str]) -> str | None:
        """The highest tier whose rules the member meets now (any one way of earning it is enough)."""
        best = None
        points: dict[int | None, int] = {}  # tiers often share a window: read each once
        for tier in self.community.tiers:
            grant = tier.grant
            earned = bool(grant.holder_role and grant.holder_role in role_keys)
            if not earned and grant.points and self.points_provider is not None:
                window = grant.points.window_days
                if window not in points:
                    points[window] = await self.points_provider(guild_id, user_id, window)
                earned = points[window] >= grant.points.min
            if not earned and grant.streak and self.streak_provider is not None:
                earned = await self.streak_provider(guild_id, user_id) >= grant.streak.min
            if earned:
                best = tier.key
        return best

    async def evaluate(self, guild_id: int, user_id: int, *, actor_id: int | None = None, why: str = "rules",
                       audit: bool = True) -> TierChange | None:
        """Bring the member's tier in line with their grant and the rules. Returns the change, if any."""
        role_keys = await self.roster.role_keys(guild_id, user_id)
        if role_keys is None:
            return None  # not on the server (or no connection): nothing to decide
        row = await repo.get_tier_row(self.app.db, guild_id, user_id) or {}
        current, manual = row.get("tier"), row.get("manual_tier")
        target = None
        if MEMBER_ROLE in role_keys:
            rule = await self.rule_tier(guild_id, user_id, role_keys)
            candidates = [k for k in (manual, rule) if self.rank(k)]
            target = max(candidates, key=self.rank, default=None)
        if target == current:
            if target is not None and self.community.tier(target).role not in role_keys:
                await self.app.guild.add_role(guild_id, user_id, self.community.tier(target).role, reason="tier")
            return None
        promoted = self.rank(target) > self.rank(current)
        event = await repo.change_tier(self.app.db, guild_id=guild_id, user_id=user_id, old=current, new=target,
                                       at=self.app.clock.now(), kind="tier_up" if promoted else "tier_down",
                                       detail=f"{current or '-'}>{target or '-'}", actor_id=actor_id)
        if event is None:
            return None  # evaluated concurrently; the other run did it
        await self._swap_roles(guild_id, user_id, current, target)
        change = TierChange(user_id, current, target, promoted, why)
        await self._tell(guild_id, change, event)
        if audit:
            await self.app.audit.record(guild_id, actor_id if actor_id is not None else AUTOMATIC,
                                        "tier.promote" if promoted else "tier.demote", f"<@{user_id}>",
                                        f"{self.name(current)} → {self.name(target)} ({why})")
        await self.app.events.emit("tier.changed", guild_id=guild_id, user_id=user_id, old=current, new=target)
        return change

    async def restore(self, guild_id: int, user_id: int) -> str | None:
        """A member back on the server: the role of the tier they held (kept in the database) again.
        Straight from the row, not through `evaluate`: their member role may not be visible yet."""
        row = await repo.get_tier_row(self.app.db, guild_id, user_id) or {}
        tier = row.get("tier")
        if self.rank(tier):
            await self.app.guild.add_role(guild_id, user_id, self.community.tier(tier).role, reason="tier restored")
        return tier

    async def _swap_roles(self, guild_id: int, user_id: int, old: str | None, new: str | None) -> None:
        guild = self.app.guild
        if self.rank(old):
            await guild.remove_role(guild_id, user_id, self.community.tier(old).role, reason="tier change")
        if self.rank(new):
            await guild.add_role(guild_id, user_id, self.community.tier(new).role, reason="tier change")

    async def _tell(self, guild_id: int, change: TierChange, event_id: int) -> None:
        if change.new is None:
            text = self.app.t("membership.tier_lost_dm", old=self.name(change.old))
        elif change.promoted:
            tier = self.community.tier(change.new)
            text = self.app.t("membership.tier_up_dm", tier=tier.name, description=tier.description)
        else:
            text = self.app.t("membership.tier_down_dm", old=self.name(change.old), tier=self.name(change.new))
        await self.roster.dm(guild_id, change.user_id, text, dedupe_key=f"membership:tier:{guild_id}:{event_id}")

    async def grant(self, guild_id: int, moderator_id: int, user_id: int, tier_key: str, *, why: str = "manual",
                    audit: bool = True) -> TierStatus:
        if not self.rank(tier_key):
            raise UserError("membership.unknown_tier", tier=tier_key)
        if not await self.roster.is_member(guild_id, user_id):
            raise UserError("membership.tier_needs_member", user=f"<@{user_id}>")
        row = await repo.get_tier_row(self.app.db, guild_id, user_id)
        if audit and row is not None and row["manual_tier"] == tier_key:
            await self.evaluate(guild_id, user_id, actor_id=moderator_id, why=why, audit=False)  # roles in place
            raise UserError("membership.tier_already_granted", user=f"<@{user_id}>", tier=self.name(tier_key),
                            by=f"<@{row['manual_by']}>" if row["manual_by"] else "-")
        await repo.set_manual_tier(self.app.db, guild_id=guild_id, user_id=user_id, tier=tier_key, by=moderator_id,
                                   at=self.app.clock.now())
        change = await self.evaluate(guild_id, user_id, actor_id=moderator_id, why=why, audit=False)
        if audit:
            await self.app.audit.record(guild_id, moderator_id, "tier.grant", f"<@{user_id}>", self.name(tier_key))
        return await self.status(guild_id, user_id, change)

    async def revoke(self, guild_id: int, moderator_id: int, user_id: int) -> TierStatus:
        """Remove a moderator's grant. The rules then decide (they may still earn a tier themselves)."""
        row = await repo.get_tier_row(self.app.db, guild_id, user_id)
        if row is None or row["manual_tier"] is None:
            raise UserError("membership.tier_no_grant", user=f"<@{user_id}>")
        await repo.set_manual_tier(self.app.db, guild_id=guild_id, user_id=user_id, tier=None, by=None,
                                   at=self.app.clock.now())
        change = await self.evaluate(guild_id, user_id, actor_id=moderator_id, why="manual", audit=False)
        await self.app.audit.record(guild_id, moderator_id, "tier.revoke", f"<@{user_id}>",
                                    self.name(row["manual_tier"]))
        return await self.status(guild_id, user_id, change)

    async def status(self, guild_id: int, user_id: int, change: TierChange | None = None) -> TierStatus:
        row = await repo.get_tier_row(self.app.db, guild_id, user_id) or {}
        keys = await self.roster.role_keys(guild_id, user_id) or set()
        rule = await self.rule_tier(guild_id, user_id, keys) if MEMBER_ROLE in keys else None
        return TierStatus(user_id, row.get("tier"), row.get("manual_tier"), rule, change)

    async def check(self, guild_id: int, user_id: int, actor_id: int | None = None) -> TierStatus:
        """On demand (`/tier check`): re-evaluate now and say where they stand."""
        change = await self.evaluate(guild_id, user_id, actor_id=actor_id)
        return await self.status(guild_id, user_id, change)

    def rules_fingerprint(self) -> str:
        return json.dumps([t.model_dump(mode="json") for t in self.community.tiers], sort_keys=True, default=str)

    async def review(self, guild_id: int) -> list[TierChange]:
        """The daily review, incremental: only the members whose tier can have changed since the last
        one without an event re-checking them (everyone the first time, or when the rules changed)."""
        db, now, rules = self.app.db, self.app.clock.now(), self.rules_fingerprint()
        last = await repo.get_state(db, guild_id, REVIEW_AT)
        since = from_db_time(last) if last else None
        if since is None or since > now or await repo.get_state(db, guild_id, REVIEW_RULES) != rules:
            changes = await self.review_all(guild_id)
        else:
            changes = await self._review_users(guild_id, await self.maybe_changed(guild_id, since, now))
        await repo.set_state(db, guild_id, REVIEW_AT, to_db_time(now))
        await repo.set_state(db, guild_id, REVIEW_RULES, rules)
        return changes

    async def maybe_changed(self, guild_id: int, since: datetime, now: datetime) -> set[int]:
        """Who the daily review must look at: everyone whose tier can differ at `now` from what the
        last evaluation gave, when no award or seen role change re-checked them (module docstring)."""
        tiers = self.community.tiers
        users = {r["user_id"] for r in await repo.tier_holders(self.app.db, guild_id)}
        users |= await repo.joined_between(self.app.db, guild_id, since, now)
        if self.app.guild is not None:
            for key in {t.grant.holder_role for t in tiers if t.grant.holder_role}:
                users |= set(await self.app.guild.members_with_role(guild_id, key))
        return users

    async def review_all(self, guild_id: int) -> list[TierChange]:
        """The full review: everyone who is a member, holds a tier, or holds a holder role."""
        users = set(await repo.member_ids(self.app.db, guild_id))
        users |= {r["user_id"] for r in await repo.tier_holders(self.app.db, guild_id)}
        if self.app.guild is not None:
            users |= set(await self.app.guild.members_with_role(guild_id, MEMBER_ROLE))
        return await self._review_users(guild_id, users)

    async def _review_users(self, guild_id: int, users: set[int]) -> list[TierChange]:
        changes = []
        for user_id in sorted(users):
            try:
                change = await self.evaluate(guild_id, user_id)
            except Exception:
                log.exception("tier review failed for %s", user_id)
                continue
            if change is not None:
                changes.append(change)
        return changes
