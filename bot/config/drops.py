"""drops.yaml: limited collab goods with staggered early access per tier, first come or raffle.

Timing, for brand teams: `opens` is when plain members may start. `early` lets tiers start before
that (`blossom: 24h` = a day earlier); a tier not listed starts with the tier below it. `public` lets
visitors (no member role) in too: `false` never, `true` at `opens`, or a duration after `opens`.
Without `opens`, a drop starts with `/drop open` or a `drop.open` schedule: its earliest window then
opens at that moment and the others follow at the same distances.
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Iterator, Literal

from pydantic import Field, HttpUrl, StrictBool, field_validator, model_validator

from .base import Duration, Key, LocalDateTime, Model, format_duration
from .participation import unknown_ledger_action


class CampaignEntries(Model):
    """Raffle entries earned by participation instead of a button: one entry per ledger row."""

    from_: Literal["participation"] = Field(alias="from")
    action: Key = Field(description="participation ledger action, e.g. prompt_answer")
    since: Literal["week", "month", "open"] = "week"  # start of this week/month (community tz) or the drop's start
    """Count rows since the start of this week or month (community time), or since the drop opened."""


class DropSpec(Model):
    """One entry of drops.yaml. Its `id` is the drop's key (a string); each opening of it is a run,
    with an integer `run_id` (bot/services/drops)."""

    id: Key
    """A unique key (drop.open and /drop commands use it)."""
    item: str = Field(min_length=1, max_length=256)
    """What is dropped, as members see it."""
    collaborator: str = Field(default="", max_length=256)
    """Who the collab is with."""
    description: str = Field(default="", max_length=2000)
    """More about the item."""
    image: HttpUrl | None = None
    """A picture of the item."""
    stock: int = Field(ge=1, le=1_000_000, description="units (first come) or prizes (raffle)")
    mode: Literal["first_come", "raffle"] = "first_come"
    """first_come: first clicks win; raffle: winners drawn at the close."""
    opens: LocalDateTime | None = None
    """When plain members may start (YYYY-MM-DD HH:MM); leave out to open with /drop open or drop.open."""
    early: dict[Key, Duration] = {}
    """Tiers that start earlier, and by how much: {blossom: 24h, leaf: 6h}."""
    public: StrictBool | Duration = False  # strict: `public: 1` is a duration without a unit, not `true`
    """false: members only; true: visitors too from opens; or a duration after opens."""
    closes_after: Duration | None = None
    """The drop closes this long after opens (a raffle is drawn then)."""
    limit: int = Field(default=1, ge=1, le=100)
    """Units one member may hold."""
    codes: str | None = Field(default=None, description="CSV of redemption codes, relative to the config folder")
    waitlist: bool = False
    """first_come only: a member who clicks when sold out waits for a released unit."""
    channel: Key = "announcements"
    """The channel key where the drop is announced."""
    entries: CampaignEntries | None = None
    """A campaign: raffle entries earned by participation instead of a button."""

    @field_validator("codes")
    @classmethod
    def _relative(cls, value: str | None) -> str | None:
        if value is not None and (Path(value).is_absolute() or ".." in Path(value).parts or not value.strip()):
            raise ValueError(f"{value!r}: write a path inside the config folder, relative to it "
                             "(like codes/hanami-tin.csv; no .. and not absolute)")
        return value

    @model_validator(mode="after")
    def _mode_rules(self) -> "DropSpec":
        if self.entries is not None and self.mode != "raffle":
            raise ValueError("`entries:` (a campaign) needs `mode: raffle`")
        if self.waitlist and self.mode != "first_come":
            raise ValueError("`waitlist:` is for first_come drops (a raffle re-rolls instead: /drop reroll)")
        return self

    @property
    def campaign(self) -> bool:
        return self.entries is not None

    def public_offset(self) -> timedelta | None:
        """When visitors may start, relative to `opens`; None = members only."""
        if self.public is False:
            return None
        if self.public is True:
            return timedelta(0)
        return self.public

    def offsets(self, community) -> dict[int, timedelta]:
        """Audience rank -> start relative to `opens` (negative = early). Ranks missing are never allowed."""
        out: dict[int, timedelta] = {0: timedelta(0)}
        public = self.public_offset()
        if public is not None:
            out[-1] = public
        best = timedelta(0)
        for rank, tier in enumerate(community.tiers, start=1):
            if tier.key in self.early:
                best = max(best, self.early[tier.key])
            out[rank] = -best
        return out

    def max_early(self) -> timedelta:
        return max(self.early.values(), default=timedelta(0))


class DropsFile(Model):
    drops: tuple[DropSpec, ...] = ()
    """Collab drops: limited goods with early access for higher tiers."""

    def get(self, key: str) -> DropSpec | None:
        """The spec whose `id` is `key`, None if there is none."""
        return next((d for d in self.drops if d.id == key), None)

    def references(self, config) -> Iterator[tuple[tuple, str]]:
        community = config.community
        tier_keys = [t.key for t in community.tiers]
        seen: set[str] = set()
        for i, drop in enumerate(self.drops):
            if drop.id in seen:
                yield ("drops", i, "id"), f"drop id {drop.id!r} is used twice"
            seen.add(drop.id)
            if drop.channel not in community.channels:
                yield ("drops", i, "channel"), (f"unknown channel key {drop.channel!r} "
                                                f"(known: {', '.join(sorted(community.channels))})")
            elif community.channels[drop.channel].kind == "mod":
                yield ("drops", i, "channel"), (f"{drop.channel!r} is a moderators-only channel: members would "
                                                "never see the drop; announce it in a public or readonly channel")
            public = drop.public_offset()
            if public is not None and drop.closes_after is not None and public >= drop.closes_after:
                yield ("drops", i, "public"), (f"visitors would start {format_duration(public)} after `opens`, but the drop "
                                               f"closes {format_duration(drop.closes_after)} after it: they never could")
            last: tuple[str, timedelta] | None = None
            for key, early in drop.early.items():
                if key not in tier_keys:
                    yield ("drops", i, "early", key), (f"unknown tier key {key!r} "
                                                       f"(known: {', '.join(tier_keys) or 'no tiers'})")
            for tier in community.tiers:
                if tier.key not in drop.early:
                    continue
                early = drop.early[tier.key]
                if last is not None and early < last[1]:
                    yield ("drops", i, "early", tier.key), (
                        f"{tier.key!r} is a higher tier than {last[0]!r}, so it cannot start later"
                        f" ({format_duration(early)} early vs {format_duration(last[1])})")
                last = (tier.key, early)
            if drop.entries is not None and (problem := unknown_ledger_action(drop.entries.action)):
                yield ("drops", i, "entries", "action"), problem
            if drop.codes:
                path = Path(config.dir) / drop.codes
                if not inside(Path(config.dir), path):
                    yield ("drops", i, "codes"), (f"{drop.codes!r} leads outside the config folder: codes files "
                                                  "must be inside it (a path like codes/hanami-tin.csv)")
                    continue
                try:
                    codes = read_codes(path)
                except FileNotFoundError:
                    yield ("drops", i, "codes"), f"codes file {drop.codes!r} not found in {config.dir}"
                    continue
                except OSError as exc:
                    yield ("drops", i, "codes"), f"cannot read the codes file {drop.codes!r} ({exc.strerror or exc})"
                    continue
                except ValueError as exc:
                    yield ("drops", i, "codes"), str(exc)
                    continue
                if len(codes) < drop.stock:
                    yield ("drops", i, "codes"), (f"{drop.codes!r} holds {len(codes)} codes but stock is "
                                                  f"{drop.stock}: every winner needs a distinct code")


def inside(folder: Path, path: Path) -> bool:
    """Whether `path`, symbolic links followed, is inside `folder`."""
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError):  # a symlink loop
        return False


def read_codes(path: Path) -> list[str]:
    """Codes from a CSV: the first column of each row; a header row named `code` is skipped."""
    import csv

    codes: list[str] = []
    with open(path, encoding="utf-8", newline="") as handle:
        for n, row in enumerate(csv.reader(handle), start=1):
            if not row or not row[0].strip() or row[0].strip().startswith("#"):
                continue
            code = row[0].strip()
            if n == 1 and code.lower() == "code":
                continue
            codes.append(code)
    dupes = _dupes(codes)
    if dupes:
        raise ValueError(f"{path.name}: the code {dupes[0]!r} appears more than once (codes must be distinct)")
    return codes


def _dupes(codes: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for c in codes:
        if c in seen:
            out.append(c)
        seen.add(c)
    return sorted(out)
