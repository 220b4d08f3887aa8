"""The trigger engine: when a schedule's time rule fires, on its time zone's wall clock.

Kept out of `bot.config` (which only describes the YAML) and out of the service (which decides what
a firing does): `bot.config.schedules.Schedule.trigger` hands its rule here, `ScheduleService` runs
the triggers on `bot.scheduler`, and `check`, the preview and the playground ask the same triggers.

- `cron_fields`: a crontab rule checked (plain crontab only) and turned into APScheduler fields.
- `WallClockTrigger`: a daily/weekly/cron rule on a zone's wall clock, right around daylight saving.
- `rule_trigger`: the trigger of one rule; `occurrences`: its fire times in a span.
- `EarliestOf`: many schedules as one trigger (one scheduler job for the community).

Around daylight-saving changes: a time that does not exist that day (spring forward) fires once at
the first valid instant after the gap; a time that happens twice (fall back) fires once, the first time.

Caches: only those `bench/bench_schedules.py` (10,000 schedules in one community) still justifies;
its figures with and without each (same machine, same run):
- `_cron_fields` remembers what a cron rule's text parses to (parsing builds an APScheduler
  CronTrigger, ~0.1 ms; thousands of schedules share a few dozen rules): load 0.67 s -> 1.28 s.
- `_weekly_rule` remembers a rule's hours/minutes/weekdays (expanded with APScheduler's field
  parsers): load 0.67 s -> 1.53 s.
- `EarliestOf` remembers each schedule's next fire time until it passes (after every instant the
  scheduler asks all 10,000 for their next time): 35 ms -> 236 ms CPU per instant fired.
Triggers are not shared between schedules and keep no memo of their own: with one community there
is nothing to share, and the load stays at 0.67 s without them.
"""
from __future__ import annotations

import re
from bisect import bisect_left
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_UTC = timezone.utc
_TINY = timedelta(microseconds=1)


# --- cron rules -----------------------------------------------------------------------------------------
_CRON_DOW_NUM = {0: "sun", 1: "mon", 2: "tue", 3: "wed", 4: "thu", 5: "fri", 6: "sat", 7: "sun"}


def _cron_day_of_week(field: str) -> str:
    """Crontab weekday numbers (0 or 7 = Sunday) to names: APScheduler 3.x counts 0 as Monday."""
    out: list[str] = []
    for part in field.split(","):
        every = re.fullmatch(r"\*/(\d+)", part.strip())
        if every:  # crontab counts from Sunday (0); APScheduler would count `*/2` from Monday
            if int(every.group(1)) < 1:
                raise ValueError(f"weekday {part!r} is not valid (a step is 1 or more)")
            out.extend(_CRON_DOW_NUM[d] for d in range(0, 7, int(every.group(1))))
            continue
        m = re.fullmatch(r"(\d)(?:-(\d))?(?:/(\d+))?", part.strip())
        if not m:
            out.append(part)  # names and '*': APScheduler reads them the crontab way
            continue
        first = int(m.group(1))
        last = int(m.group(2)) if m.group(2) else (7 if m.group(3) else first)
        step = int(m.group(3) or 1)
        if first > 7 or last > 7 or first > last or step < 1:
            raise ValueError(f"weekday {part!r} is not valid (0-7, 0 and 7 are Sunday, or mon..sun)")
        out.extend(_CRON_DOW_NUM[d] for d in range(first, last + 1, step))
    return ",".join(dict.fromkeys(out))


def cron_fields(expr: str) -> dict[str, str]:
    return dict(_cron_fields(" ".join(expr.split())))


@lru_cache(maxsize=4096)
def _cron_fields(expr: str) -> tuple[tuple[str, str], ...]:
    values = expr.split()
    if len(values) != 5:
        raise ValueError(f"{expr!r} is not a cron rule: it needs 5 fields (minute hour day month weekday),"
                         " like \"0 9 * * mon-fri\"")
    minute, hour, day, month, dow = values
    for name, value in zip(_CRON_NAMES, values):
        for part in value.split(","):
            if not _CRON_PART[name].fullmatch(part):
                raise ValueError(f"{expr!r} is not a valid cron rule: {part!r} is not {_CRON_ARTICLE.get(name, 'a')}"
                                 f" {name} (a number, a range like 1-5, a list like 1,3, or *; each may end in /step"
                                 f"{_CRON_NAME_HINT.get(name, '')}); 5 fields: minute hour day month weekday,"
                                 " like \"0 9 * * mon-fri\"")
    fields = {"minute": minute, "hour": hour, "day": day, "month": month, "day_of_week": _cron_day_of_week(dow)}
    try:
        trigger = CronTrigger(timezone=_UTC, **fields)
    except ValueError as exc:
        raise ValueError(f"{expr!r} is not a valid cron rule ({exc}); 5 fields: minute hour day month weekday,"
                         " like \"0 9 * * mon-fri\"") from None
    if not _some_date_matches(trigger):
        raise ValueError(f"{expr!r} never fires: no date has day {day!r} in month {month!r}")
    return tuple(fields.items())


# Plain crontab: numbers, ranges, lists, * and /step; names for months and weekdays. APScheduler also
# reads things crontab does not (`mon-` is read as Monday, `last`, `1st mon`): refused, so a rule
# means what a brand team who knows cron reads in it.
_CRON_NAMES = ("minute", "hour", "day", "month", "weekday")
_CRON_ARTICLE = {"hour": "an"}
_CRON_NAME_HINT = {"month": "; months 1-12 or jan..dec", "weekday": "; weekdays 0-7 (0 and 7 are Sunday) or mon..sun"}


def _cron_part(names: str | None) -> re.Pattern:
    atom = rf"(?:\d{{1,2}}|{names})" if names else r"\d{1,2}"
    return re.compile(rf"(?:\*|{atom}(?:-{atom})?)(?:/\d{{1,2}})?", re.IGNORECASE)


_CRON_PART = {
    "minute": _cron_part(None), "hour": _cron_part(None), "day": _cron_part(None),
    "month": _cron_part("jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"),
    "weekday": _cron_part("mon|tue|wed|thu|fri|sat|sun"),
}


def _some_date_matches(trigger: CronTrigger) -> bool:
    """Whether any calendar date matches the rule's day and month (`31 2` never does). Each date of a
    leap year falls on every weekday over the years, so the weekday field cannot make it never fire."""
    fields = {f.name: f for f in trigger.fields}
    for month in range(1, 13):
        first = datetime(2024, month, 1)  # a leap year: 29 February exists
        if fields["month"].get_next_value(first) == month and fields["day"].get_next_value(first) is not None:
            return True  # the day field answers within the month's own length
    return False


def _floating_cron(fields: tuple[tuple[str, str], ...], start: date | None, end: date | None) -> CronTrigger:
    """A CronTrigger on naive wall-clock times (read as UTC)."""
    start_date = datetime.combine(start, time.min, _UTC) if start else None
    end_date = datetime.combine(end, time.max, _UTC) if end else None
    return CronTrigger(timezone=_UTC, start_date=start_date, end_date=end_date, **dict(fields))


def local_to_utc(wall: datetime, tz: ZoneInfo) -> datetime:
    """A naive wall-clock time in `tz` -> the instant it happens (UTC).

    A time repeated by a fall-back change is its first occurrence; a time skipped by a spring-forward
    change is the first instant after the gap (02:30 on the New York spring-forward day -> 03:00 EDT)."""
    u0 = wall.replace(tzinfo=tz, fold=0).astimezone(_UTC)
    if u0.astimezone(tz).replace(tzinfo=None) == wall:
        return u0
    u1 = wall.replace(tzinfo=tz, fold=1).astimezone(_UTC)
    lo, hi = min(u0, u1), max(u0, u1)
    after = hi.astimezone(tz).utcoffset()
    while hi - lo > timedelta(seconds=1):  # the transition instant, to the second
        mid = lo + (hi - lo) / 2
        if mid.astimezone(tz).utcoffset() == after:
            hi = mid
        else:
            lo = mid
    return hi.replace(microsecond=0)


@lru_cache(maxsize=8192)
def _weekly_rule(fields: tuple[tuple[str, str], ...]) -> tuple[tuple[int, ...], tuple[int, ...], frozenset[int]] | None:
    """(hours, minutes, weekdays) for a rule that repeats every week (day and month are `*`), else None.

    Such a rule fires at every listed minute of every listed hour on every listed weekday (seconds 0):
    its next time is a short search, not a CronTrigger walk. Daily/weekly rules are read directly;
    other cron rules are expanded once per distinct rule with APScheduler's own field parsers."""
    values = dict(fields)
    if set(values) - {"hour", "minute", "day_of_week", "day", "month"}:
        return None
    if values.pop("day", "*") != "*" or values.pop("month", "*") != "*":
        return None
    hour, minute = values.get("hour", "*"), values.get("minute", "*")
    names = values.get("day_of_week", "*")
    if hour.isdigit() and minute.isdigit():  # daily / weekly: no parser needed
        days = names.split(",") if names != "*" else list(WEEKDAYS)
        if all(n in WEEKDAYS for n in days) and int(hour) < 24 and int(minute) < 60:
            return (int(hour),), (int(minute),), frozenset(WEEKDAYS.index(n) for n in days)
    try:
        parsed = {f.name: f for f in CronTrigger(timezone=_UTC, **values).fields}
    except ValueError:
        return None
    monday = datetime(2024, 1, 1)  # a Monday

    def matching(name: str, size: int, at) -> list[int]:
        field = parsed[name]
        return [v for v in range(size) if field.get_next_value(at(v)) == v]

    hours = matching("hour", 24, lambda v: monday.replace(hour=v))
    minutes = matching("minute", 60, lambda v: monday.replace(minute=v))
    days = matching("day_of_week", 7, lambda v: monday + timedelta(days=v))
    if not (hours and minutes and days):
        return None
    return tuple(hours), tuple(minutes), frozenset(days)


def _first_at_or_after(hours: tuple[int, ...], minutes: tuple[int, ...], of_day: time) -> tuple[int, int] | None:
    """The first (hour, minute) of the rule whose time (seconds 0) is >= `of_day`, on the same day."""
    exact = of_day.second == 0 and of_day.microsecond == 0
    for hour in hours[bisect_left(hours, of_day.hour):]:
        if hour > of_day.hour:
            return hour, minutes[0]
        i = bisect_left(minutes, of_day.minute)
        if i < len(minutes) and not (minutes[i] == of_day.minute and not exact):
            return hour, minutes[i]
        if i + 1 < len(minutes):
            return hour, minutes[i + 1]
    return None


class WallClockTrigger(BaseTrigger):
    """An APScheduler trigger for cron rules read on a time zone's wall clock.

    APScheduler 3.11's CronTrigger, given a zone with daylight saving, fires a skipped time at an
    offset-shifted instant and, on fall-back days, keeps answering the same repeated time (the
    scheduler would loop on it). This trigger runs a CronTrigger on naive wall-clock times and maps
    each to its instant with `local_to_utc`, skipping candidates before `now` (the second pass of a
    repeated hour). Rules that repeat every week (daily, weekly and most cron rules) skip the
    CronTrigger: `simple` holds their hours, minutes and weekdays (same answers, ~20x cheaper)."""

    __slots__ = ("tz", "_fields", "_floating", "simple", "start", "end")

    def __init__(self, fields: dict[str, str], tz: ZoneInfo, start: date | None = None,
                 end: date | None = None) -> None:
        self.tz = tz
        self.start, self.end = start, end
        self._fields = tuple(sorted(fields.items()))
        self._floating: CronTrigger | None = None
        self.simple = _weekly_rule(self._fields)

    @property
    def floating(self) -> CronTrigger:
        """The CronTrigger on naive wall-clock times (read as UTC); built when first needed."""
        if self._floating is None:
            self._floating = _floating_cron(self._fields, self.start, self.end)
        return self._floating

    def next_wall(self, wall: datetime) -> datetime | None:
        """The first wall-clock time >= `wall` (naive) that the rule matches."""
        if self.simple is None:
            found = self.floating.get_next_fire_time(None, wall.replace(tzinfo=_UTC))
            return found.replace(tzinfo=None) if found else None
        hours, minutes, days = self.simple
        day = wall.date()
        if self.start and day < self.start:
            day, wall = self.start, datetime.combine(self.start, time.min)
        first = _first_at_or_after(hours, minutes, wall.time()) if day.weekday() in days else None
        if first is None:  # the next listed weekday, at its first time
            day += timedelta(days=1)
            while day.weekday() not in days:
                day += timedelta(days=1)
            first = hours[0], minutes[0]
        if self.end and day > self.end:
            return None
        return datetime(day.year, day.month, day.day, first[0], first[1])

    def get_next_fire_time(self, previous_fire_time, now):
        local = now.astimezone(self.tz)
        wall = local.replace(tzinfo=None)
        # right after a spring-forward change, wall times in the gap map to the change instant: look
        # back over the gap so that asking at that very instant still answers it
        jump = local.utcoffset() - (now - timedelta(hours=25)).astimezone(self.tz).utcoffset()
        if jump > timedelta(0):
            wall -= jump
        candidate = self.next_wall(wall)
        for _ in range(1000):
            if candidate is None:
                return None
            instant = local_to_utc(candidate, self.tz)
            if instant >= now:
                return instant
            candidate = self.next_wall(candidate + timedelta(seconds=1))
        return None

    def __getstate__(self):
        return {"tz": self.tz.key, "fields": self._fields, "simple": self.simple, "start": self.start,
                "end": self.end}

    def __setstate__(self, state):
        self.tz = ZoneInfo(state["tz"])
        self._fields, self.simple, self._floating = state["fields"], state["simple"], None
        self.start, self.end = state["start"], state["end"]

    def __repr__(self) -> str:
        return f"<WallClockTrigger {self.floating} in {self.tz.key}>"


def rule_trigger(*, cron: str | None = None, daily: time | None = None,
                 weekly: tuple[tuple[str, ...], time] | None = None, at: datetime | None = None,
                 tz: ZoneInfo, start: date | None = None, end: date | None = None) -> BaseTrigger:
    """The trigger of one time rule (exactly one of cron, daily, weekly = (days, time), at), read on
    `tz`'s wall clock; a naive `at` is a wall-clock time in `tz`."""
    if at is not None:
        run = at if at.tzinfo else local_to_utc(at, tz)
        return DateTrigger(run_date=run.astimezone(_UTC), timezone=_UTC)
    if cron is not None:
        fields = cron_fields(cron)
    elif daily is not None:
        fields = {"hour": str(daily.hour), "minute": str(daily.minute)}
    else:
        assert weekly is not None
        days, at_time = weekly
        fields = {"day_of_week": ",".join(days), "hour": str(at_time.hour), "minute": str(at_time.minute)}
    return WallClockTrigger(fields, tz, start, end)


def occurrences(trigger: BaseTrigger, after: datetime, until: datetime, limit: int = 1000) -> list[datetime]:
    """Fire times t with after < t <= until, oldest first (at most `limit`)."""
    out: list[datetime] = []
    previous = None
    cursor = after + _TINY
    while len(out) < limit:
        nxt = trigger.get_next_fire_time(previous, cursor)
        if nxt is None or nxt > until:
            break
        if nxt > after:
            out.append(nxt)
        previous, cursor = nxt, max(cursor, nxt + _TINY)
    return out


# --- many schedules as one trigger ----------------------------------------------------------------------
class EarliestOf(BaseTrigger):
    """Several triggers as one: fires at every instant at which any of them fires. One scheduler job
    for all the community's schedules keeps start-up cheap, and the posts due at one instant are
    claimed in one transaction (`due`)."""

    def __init__(self, triggers: dict[str, BaseTrigger]) -> None:
        self.triggers = triggers
        self._next: dict[str, tuple[datetime, datetime | None]] = {}  # id -> (asked at, answer)

    def next_of(self, key: str, now: datetime) -> datetime | None:
        """The first fire time >= `now` of one trigger (None: never again)."""
        known = self._next.get(key)
        if known is not None and known[0] <= now and (known[1] is None or now <= known[1]):
            return known[1]  # nothing fires in [asked at, answer), so the answer still holds
        answer = self.triggers[key].get_next_fire_time(None, now)
        if answer is not None and answer < now:
            answer = None  # a one-off in the past (a DateTrigger answers its date whatever `now` is)
        self._next[key] = (now, answer)
        return answer

    def get_next_fire_time(self, previous_fire_time, now):
        return min((t for t in (self.next_of(key, now) for key in self.triggers) if t is not None), default=None)

    def due(self, when: datetime) -> list[str]:
        """The keys whose trigger fires exactly at `when`, sorted."""
        return sorted(key for key in self.triggers if self.next_of(key, when) == when)
