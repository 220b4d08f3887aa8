"""What the membership rules hand back to the cogs: plain data, no Discord objects."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


def discord_time(when: datetime, style: str = "f") -> str:
    """A Discord timestamp tag: every reader sees it in their own time zone and language."""
    return f"<t:{int(when.timestamp())}:{style}>"


@dataclass(frozen=True)
class JoinResult:
    user_id: int
    via: str  # open | approval | invite
    roles_ok: bool = True
    inviter_id: int | None = None
    tier: str | None = None  # the tier an invite granted


@dataclass(frozen=True)
class Application:
    id: int
    guild_id: int
    user_id: int
    status: str
    answers: tuple[dict, ...]
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None = None
    decided_by: int | None = None
    reason: str | None = None

    @classmethod
    def from_row(cls, row: dict) -> "Application":
        return cls(id=row["id"], guild_id=row["guild_id"], user_id=row["user_id"], status=row["status"],
                   answers=tuple(row["answers"]), created_at=row["created_at"], expires_at=row["expires_at"],
                   decided_at=row.get("decided_at"), decided_by=row.get("decided_by"), reason=row.get("reason"))


@dataclass(frozen=True)
class Decision:
    application: Application
    approved: bool
    roles_ok: bool = True


@dataclass(frozen=True)
class Invite:
    id: int
    hint: str
    creator_id: int
    tier: str | None
    max_uses: int
    uses: int
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None

    @classmethod
    def from_row(cls, row: dict) -> "Invite":
        return cls(id=row["id"], hint=row["hint"], creator_id=row["creator_id"], tier=row["tier"],
                   max_uses=row["max_uses"], uses=row["uses"], created_at=row["created_at"],
                   expires_at=row["expires_at"], revoked_at=row.get("revoked_at"))


@dataclass(frozen=True)
class CreatedInvite:
    invite: Invite
    code: str  # shown once; only its hash is stored


@dataclass(frozen=True)
class TierChange:
    user_id: int
    old: str | None
    new: str | None
    promoted: bool
    why: str  # manual | rules | invite


@dataclass(frozen=True)
class TierStatus:
    user_id: int
    tier: str | None
    manual_tier: str | None
    rule_tier: str | None
    change: TierChange | None = None


@dataclass(frozen=True)
class TierInfo:
    key: str
    name: str
    description: str
    ways: tuple[str, ...]  # how it is earned: "holder", "points", "streak"


@dataclass(frozen=True)
class CommunityInfo:
    name: str
    purpose: str
    mode: str
    member_count: int
    tiers: tuple[TierInfo, ...] = field(default_factory=tuple)
