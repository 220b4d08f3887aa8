"""Who may take part in a drop, and from when: pure functions of the drop's spec, the community's
tiers and the run's opening time. An audience is a rank: -1 a visitor, 0 a plain member, 1.. a
tier (higher = earlier access)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from typing import Callable, Iterable

from bot.config.content import VISITOR_RANK
from bot.config.drops import DropSpec


def ranks(community) -> range:
    """Every audience rank of the community, visitors first."""
    return range(VISITOR_RANK, len(community.tiers) + 1)


def window_start(spec: DropSpec, community, opens_at: datetime, rank: int) -> datetime | None:
    """When an audience of `rank` may start; None if it may not take part at all. A rank with no
    window of its own takes the earliest window of the ranks below it."""
    allowed = [offset for r, offset in spec.offsets(community).items() if r <= rank]
    return opens_at + min(allowed) if allowed else None


def window_starts(spec: DropSpec, community, opens_at: datetime) -> dict[int, datetime | None]:
    """rank -> when it may start (None: never), for every rank of the community."""
    return {rank: window_start(spec, community, opens_at, rank) for rank in ranks(community)}


def windows(spec: DropSpec, community, opens_at: datetime, audience: Callable[[int], str]
            ) -> list[tuple[str, datetime]]:
    """(audience name, start) from the highest tier down, one line per distinct audience."""
    offsets = spec.offsets(community)
    return [(audience(rank), opens_at + offsets[rank]) for rank in sorted(offsets, reverse=True)]


class TierRanks:
    """A member's rank from their role keys. Tier roles are what Discord shows, so the role keys are
    the truth (the membership service gives and takes those roles). Built once per config: the
    claim path asks it 20,000 times in a burst (bench/bench_drops.py), hence the frozenset."""

    def __init__(self, tiers: Iterable) -> None:
        ranked = list(enumerate(tiers, start=1))
        self._roles = [(tier.role, rank) for rank, tier in reversed(ranked)]  # highest tier first
        self._role_set = frozenset(role for role, _ in self._roles)

    def rank_of(self, role_keys: set[str] | None) -> int | None:
        """None when not in the guild (no role keys at all)."""
        if role_keys is None:
            return None
        if not self._role_set.isdisjoint(role_keys):  # the rare case: the common one is one C call
            for role, rank in self._roles:
                if role in role_keys:
                    return rank
        return 0 if "member" in role_keys else VISITOR_RANK


def campaign_since(spec: DropSpec, opens_at: datetime, at: datetime, tz: tzinfo) -> datetime:
    """Where a campaign starts counting participation: the run's earliest window, or the start of
    this week / month in the community's time zone."""
    if spec.entries.since == "open":
        return opens_at - spec.max_early()
    local = at.astimezone(tz)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if spec.entries.since == "week":
        start -= timedelta(days=start.weekday())
    else:
        start = start.replace(day=1)
    return start.astimezone(timezone.utc)
