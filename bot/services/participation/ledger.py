"""The participation ledger: points per action (each counted once), streaks, leaderboards, profiles."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from bot.db import participation as repo
from bot.db.connection import Tx
from bot.errors import UserError

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

# Leaderboard periods are rolling windows, like the tiers' `window_days`.
PERIODS: dict[str, int | None] = {"week": 7, "month": 30, "all": None}


@dataclass(frozen=True)
class Standing:
    rank: int
    user_id: int
    points: int


@dataclass(frozen=True)
class Board:
    period: str
    rows: tuple[Standing, ...]


@dataclass(frozen=True)
class Streak:
    current: int
    best: int
    active_today: bool


@dataclass(frozen=True)
class TierProgress:
    tier_key: str
    name: str
    way: str  # "points" | "streak"
    have: int
    need: int
    window_days: int | None = None

    @property
    def reached(self) -> bool:
        return self.have >= self.need


@dataclass(frozen=True)
class Profile:
    user_id: int
    points_all: int
    points_week: int
    points_month: int
    rank: int | None  # all-time rank; None without points
    ranked: int
    streak: Streak
    progress: tuple[TierProgress, ...]
    tier_key: str | None = None  # current tier, when membership can tell


class Ledger:
    def __init__(self, app: "App") -> None:
        self.app = app

    @property
    def settings(self):
        return self.app.config.participation

    # --- days in the community's time zone ----------------------------------------------------
    def day_of(self, at: datetime) -> str:
        return at.astimezone(self.app.config.timezone).date().isoformat()

    def today(self) -> date:
        return self.app.clock.now().astimezone(self.app.config.timezone).date()

    # --- awarding -------------------------------------------------------------------------------
    def points_for(self, action: str, points: int | None) -> int:
        return self.settings.points_for(action) if points is None else int(points)

    async def award(self, guild_id: int, user_id: int, action: str, ref: str, points: int | None = None,
                    *, at: datetime | None = None) -> int | None:
        """Record `action` on `ref` for a member once. Returns the points added, or None when this
        (member, action, ref) was already counted. `points=None` uses participation.yaml."""
        at = at or self.app.clock.now()
        value = self.points_for(action, points)
        added = await repo.award(self.app.db, guild_id=guild_id, user_id=user_id, action=action, ref=ref,
                                 points=value, day=self.day_of(at), at=at)
        if not added:
            return None
        await self.app.events.emit("points.changed", guild_id=guild_id, user_id=user_id)
        return value

    async def award_in(self, tx: Tx, guild_id: int, user_id: int, action: str, ref: str, points: int,
                       at: datetime) -> bool:
        """Inside the caller's transaction; the caller emits points.changed after committing."""
        return await repo.award_in(tx, guild_id=guild_id, user_id=user_id, action=action, ref=ref, points=points,
                                   day=self.day_of(at), at=at)

    async def award_many_in(self, tx: Tx, awards: list[tuple[int, int, str, str, int, datetime]]) -> list[bool]:
        """award_in for many (guild_id, user_id, action, ref, points, at) at once; which were new."""
        return await repo.award_many_in(tx, [(g, u, a, r, p, self.day_of(at), at) for g, u, a, r, p, at in awards])

    # --- reading --------------------------------------------------------------------------------
    def since(self, days: int | None) -> datetime | None:
        return None if days is None else self.app.clock.now() - timedelta(days=days)

    async def points(self, guild_id: int, user_id: int, window_days: int | None = None) -> int:
        return await repo.points_total(self.app.db, guild_id, user_id, self.since(window_days))

    async def action_counts(self, guild_id: int, action: str, since: datetime, until: datetime) -> dict[int, int]:
        return await repo.action_counts(self.app.db, guild_id, action, since, until)

    async def window(self, guild_id: int, period: str) -> int:
        """The kept points window of a period (0: all time), moved to now."""
        days = PERIODS[period]
        await repo.move_window(self.app.db, guild_id, days or 0, self.since(days))
        return days or 0

    async def leaderboard(self, guild_id: int, period: str = "week", limit: int | None = None) -> Board:
        if period not in PERIODS:
            raise UserError("participation.bad_period", periods=", ".join(PERIODS))
        window = await self.window(guild_id, period)
        rows = await repo.leaderboard(self.app.db, guild_id, window, limit or self.settings.leaderboard.size)
        return Board(period, tuple(Standing(r["rank"], r["user_id"], r["points"]) for r in rows))

    async def rank(self, guild_id: int, user_id: int, period: str = "all") -> tuple[int | None, int]:
        """(rank or None without points, members ranked) in a period."""
        return await repo.rank_of(self.app.db, guild_id, user_id, await self.window(guild_id, period))

    async def streak(self, guild_id: int, user_id: int) -> Streak:
        days = [date.fromisoformat(d) for d in
                await repo.active_days(self.app.db, guild_id, user_id, self.settings.streaks.actions)]
        today = self.today()
        return compute_streak(days, today)

    async def profile(self, guild_id: int, user_id: int) -> Profile:
        rank, ranked = await self.rank(guild_id, user_id, "all")
        streak = await self.streak(guild_id, user_id)
        progress: list[TierProgress] = []
        for tier in self.app.config.community.tiers:
            if tier.grant.points is not None:
                have = await self.points(guild_id, user_id, tier.grant.points.window_days)
                progress.append(TierProgress(tier.key, tier.name, "points", have, tier.grant.points.min,
                                             tier.grant.points.window_days))
            if tier.grant.streak is not None:
                progress.append(TierProgress(tier.key, tier.name, "streak", streak.current, tier.grant.streak.min))
        return Profile(
            user_id=user_id,
            points_all=await self.points(guild_id, user_id),
            points_week=await self.points(guild_id, user_id, PERIODS["week"]),
            points_month=await self.points(guild_id, user_id, PERIODS["month"]),
            rank=rank, ranked=ranked, streak=streak, progress=tuple(progress),
            tier_key=await self._current_tier(guild_id, user_id),
        )

    async def _current_tier(self, guild_id: int, user_id: int) -> str | None:
        """The member's tier by membership's record; the highest tier role held if reading it fails."""
        try:
            return (await self.app.membership.tiers.status(guild_id, user_id)).tier
        except Exception:
            log.exception("membership tier status failed; falling back to roles")
        if self.app.guild is None:
            return None
        roles = await self.app.guild.member_role_keys(guild_id, user_id) or set()
        best = None
        for tier in self.app.config.community.tiers:
            if tier.role in roles:
                best = tier.key
        return best


def compute_streak(days_desc: list[date], today: date) -> Streak:
    """Consecutive active days ending today (or yesterday: today's chance is not over yet)."""
    active = set(days_desc)
    active_today = today in active
    current = 0
    day = today if active_today else today - timedelta(days=1)
    while day in active:
        current += 1
        day -= timedelta(days=1)
    best = run = 0
    previous: date | None = None
    for d in sorted(active):
        run = run + 1 if previous is not None and d - previous == timedelta(days=1) else 1
        best = max(best, run)
        previous = d
    return Streak(current=current, best=max(best, current), active_today=active_today)
