"""What the drops service answers (the cog renders these), and `Run`, a run as the claim path sees it."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.config.drops import DropSpec


@dataclass(slots=True)
class Run:
    """One run of a drop, kept in memory: what the claim path needs without the database (a burst
    reads this 20,000 times). `spec` is None when drops.yaml no longer has the key."""
    id: int
    guild_id: int
    key: str
    mode: str  # these four are the run's own, fixed when it opened; `spec` follows drops.yaml
    limit: int
    status: str
    opens_at: datetime
    closes_at: datetime | None
    spec: DropSpec | None
    starts: dict[int, datetime | None]  # audience rank -> when its window opens (None: never)
    shown_sold_out: bool | None = None  # what the announcement says now (None: not known since start)

    @property
    def first_come(self) -> bool:
        """Claims go through the claim writer."""
        return self.mode == "first_come" and self.spec is not None


@dataclass(slots=True)
class ClaimResult:
    status: str  # granted | waitlisted | already_waiting | entered | already_entered | entries
    run_id: int
    item: str
    held: int = 0
    limit: int = 1
    codes: bool = False
    tickets: int = 0


@dataclass(frozen=True)
class DrawResult:
    run_id: int
    round: int
    seed: str
    winners: list[int]
    entrants: int
    prizes: int


@dataclass(frozen=True)
class OpenResult:
    run_id: int
    key: str
    opened: bool  # False: this occurrence had opened it already
    opens_at: datetime
    windows: list[tuple[str, datetime]]


@dataclass(frozen=True)
class DropStatus:
    run_id: int
    key: str
    item: str
    mode: str
    status: str
    stock: int
    remaining: int
    counts: dict[str, int]
    codes: dict[str, int]
    without_code: int
    dms: dict[str, int]
    dm_failed: list[int]
    draws: list[dict]
    windows: list[tuple[str, datetime]]
    verified: list[bool] = field(default_factory=list)
