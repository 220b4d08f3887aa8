"""The CSV exports brand teams ask for: members (tier, points, join date), the leaderboard for a period,
applications (answers and decisions). `python -m bot export <kind>` and `/admin export` both call
`ExportService.export`, so the command line and Discord hand out the same file.

Every file: UTF-8 with a BOM (Excel reads Japanese), times as ISO 8601 with their offset in the
community's time zone, and the zone named in the column header (`joined_at (Asia/Tokyo)`). Text cells
go through `bot.services.safety.write_csv`, so a member named `=HYPERLINK(...)` stays text in a spreadsheet.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Mapping

from bot.db import exports as repo
from bot.errors import UserError

from .safety import write_csv

KINDS = ("members", "leaderboard", "applications")
PERIODS = {"week": 7, "month": 30, "all": None}  # the leaderboard's periods, ending now
RECENT_DAYS = 30  # the members export's "points in the last 30 days" column


@dataclass(frozen=True)
class Export:
    kind: str
    filename: str
    data: bytes  # the CSV file
    count: int  # data rows
    since: datetime | None  # the period covered (community time), when there is one
    until: datetime | None


class ExportService:
    def __init__(self, app) -> None:
        self.app = app

    @property
    def tz(self):
        return self.app.config.timezone

    def parse_day(self, value: str | None, option: str) -> date | None:
        if value is None or not value.strip():
            return None
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            raise UserError("admin.export_bad_date", option=option, value=value)
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise UserError("admin.export_bad_date", option=option, value=value) from None

    def window(self, period: str | None, since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
        """[start, end) in community time: `since`/`until` are local dates (inclusive); otherwise the
        last 7 or 30 days ending now (`period`), or everything."""
        first, last = self.parse_day(since, "since"), self.parse_day(until, "until")
        if first and last and last < first:
            raise UserError("admin.export_bad_range", since=since, until=until)
        start = datetime.combine(first, time(0), tzinfo=self.tz) if first else None
        end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=self.tz) if last else None
        if start is None and end is None and period:
            if period not in PERIODS:
                raise UserError("participation.bad_period", periods=", ".join(PERIODS))
            days = PERIODS[period]
            if days is not None:
                end = self.app.clock.now().astimezone(self.tz)
                start = end - timedelta(days=days)
        return start, end

    async def export(self, guild_id: int, kind: str, *, period: str | None = None, since: str | None = None,
                     until: str | None = None, names: Mapping[int, str] | None = None) -> Export:
        if kind not in KINDS:
            raise UserError("admin.export_unknown_kind", kind=kind, kinds=", ".join(KINDS))
        start, end = self.window(period if kind == "leaderboard" else None, since, until)
        names = names or {}
        columns, rows = await getattr(self, f"_{kind}")(guild_id, start, end, names)
        stamp = self.app.clock.now().astimezone(self.tz)
        return Export(kind, f"{kind}-{stamp:%Y%m%d-%H%M}.csv", write_csv(columns, rows), len(rows), start, end)

    # --- the kinds --------------------------------------------------------------------------------
    async def _members(self, guild_id, start, end, names):
        tiers = {t.key: t.name for t in self.app.config.community.tiers}
        recent = self.app.clock.now() - timedelta(days=RECENT_DAYS)
        rows = []
        for r in await repo.members(self.app.db, guild_id, recent):
            if (start and r["joined_at"] < start) or (end and r["joined_at"] >= end):
                continue
            tier = r["manual_tier"] or r["tier"]
            rows.append([r["user_id"], names.get(r["user_id"], ""), r["status"], self._time(r["joined_at"]),
                         self._time(r["left_at"]), r["via"], tier or "", tiers.get(tier, tier or ""),
                         "yes" if r["manual_tier"] else "no", r["points"], r["points_recent"]])
        columns = ["user_id", "name", "status", self._zoned("joined_at"), self._zoned("left_at"), "joined_via",
                   "tier", "tier_name", "tier_granted_by_moderator", "points", f"points_last_{RECENT_DAYS}_days"]
        return columns, rows

    async def _leaderboard(self, guild_id, start, end, names):
        rows = [[rank, r["user_id"], names.get(r["user_id"], ""), r["points"], self._time(r["reached"]),
                 self._time(start), self._time(end)]
                for rank, r in enumerate(await repo.standings(self.app.db, guild_id, start, end), start=1)]
        columns = ["rank", "user_id", "name", "points", self._zoned("last_points_at"), self._zoned("period_from"),
                   self._zoned("period_until")]
        return columns, rows

    async def _applications(self, guild_id, start, end, names):
        found = await repo.applications(self.app.db, guild_id, start, end)
        questions: list[str] = []  # one column per question, in the order they were first asked
        for r in found:
            for a in r["answers"]:
                label = str(a.get("label") or a.get("key"))
                if label not in questions:
                    questions.append(label)
        rows = []
        for r in found:
            answers = {str(a.get("label") or a.get("key")): a.get("answer", "") for a in r["answers"]}
            decider = r["decided_by"]
            rows.append([r["id"], r["user_id"], names.get(r["user_id"], ""), r["status"], self._time(r["created_at"]),
                         self._time(r["decided_at"]), decider or "", names.get(decider, "") if decider else "",
                         r["reason"] or "", self._time(r["expires_at"]),
                         *[answers.get(q, "") for q in questions]])
        columns = ["id", "user_id", "name", "decision", self._zoned("applied_at"), self._zoned("decided_at"),
                   "decided_by", "decided_by_name", "reason", self._zoned("expires_at"),
                   *[f"answer: {q}" for q in questions]]
        return columns, rows

    # --- cells ------------------------------------------------------------------------------------
    def _zoned(self, column: str) -> str:
        return f"{column} ({self.tz.key})"

    def _time(self, value: datetime | None) -> str:
        return value.astimezone(self.tz).isoformat(timespec="seconds") if value else ""

