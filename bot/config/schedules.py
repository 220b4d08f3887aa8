"""schedules.yaml: the community's rhythm — what posts where and when, in the community's time.

```yaml
timezone: Asia/Tokyo        # optional; default: community.timezone
grace: 1h                   # optional; how late a missed post may still go out (default 1h)
pools:
  monday-news:
    order: shuffle          # sequential | shuffle (no repeat until every item was used)
    items:
      - "Plain text item"
      - {text: "...", embed: {title: "...", description: "..."}}
schedules:
  - id: morning-prompt
    daily: "09:00"          # or cron: "0 9 * * mon-fri" | weekly: {days: [mon, thu], at: "20:00"}
                            #    | at: 2026-12-24T20:00 (one-off, local time)
    action: prompt.post     # optional feature action, see bot/config/actions.py
    params: {}              # the action's typed params (checked, with what they name in other files)
  - id: monday-news
    channel: announcements  # a channel key of community.yaml
    weekly: {days: [mon], at: "10:00"}
    pool: monday-news       # or text: / embed: (templated, see TEMPLATE_FIELDS)
    start: 2026-12-01       # optional campaign window (local dates, inclusive)
    end: 2026-12-31
    enabled: true
    grace: 2h
```

Time rules are evaluated on the wall clock of the schedule's time zone. Around daylight-saving
changes (see `WallClockTrigger`): a time that does not exist that day (spring forward) fires once at
the first valid instant after the gap; a time that happens twice (fall back) fires once, the first time.
"""
from __future__ import annotations

import re
import string
from bisect import bisect_left
from functools import lru_cache
from datetime import date, datetime, time, timedelta, timezone
from typing import Annotated, Any, Iterator, Literal
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from pydantic import AfterValidator, BeforeValidator, Field, HttpUrl, field_validator, model_validator

# Actions other features register on `app.actions`, and the `params:` each takes, are declared in
# bot/config/actions.py so that `check` validates them without loading those services.
from .actions import ACTIONS, KNOWN_ACTIONS, ActionParams, params_problems  # noqa: F401 (KNOWN_ACTIONS re-exported)
from .base import Duration, Key, LocalDateTime, Model, TimeOfDay, TimeZoneName

# Placeholders a schedule's text and embed may use ({{ and }} for literal braces).
TEMPLATE_FIELDS: tuple[str, ...] = (
    "community.name", "persona.name", "persona.greeting", "persona.sign_off",
    "date", "time", "weekday", "schedule.id",
)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAY = {name: name[:3] for name in
             ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")}
_UTC = timezone.utc
_EPOCH = datetime(2000, 1, 1, tzinfo=_UTC)
_TINY = timedelta(microseconds=1)


# A format spec after a placeholder ({count:>3}): the standard mini-language, width and precision at
# most MAX_FORMAT_WIDTH (a width of 300000000 would build a 300 MB string every time it renders).
MAX_FORMAT_WIDTH = 100
_FORMAT_SPEC = re.compile(r"(?:.?[<>=^])?[-+ ]?z?#?0?(?P<width>\d+)?[_,]?(?:\.(?P<precision>\d+))?[bcdeEfFgGnosxX%]?",
                          re.DOTALL)


def format_spec_problem(spec: str) -> str | None:
    """Why the format spec of a placeholder (`>3` in `{count:>3}`) is refused, or None."""
    if not spec:
        return None
    if "{" in spec or "}" in spec:
        return f"format spec {spec!r} may not hold another placeholder"
    match = _FORMAT_SPEC.fullmatch(spec)
    if match is None:
        return f"{spec!r} is not a format spec (like >3, 05 or ,)"
    for part in ("width", "precision"):
        if match[part] and int(match[part]) > MAX_FORMAT_WIDTH:
            return f"format spec {spec!r}: the {part} {int(match[part])} is over {MAX_FORMAT_WIDTH}"
    return None


def template_problem(template: str) -> str | None:
    """Why `template` cannot be rendered, or None. Format specs are tried on a text value (every
    schedule placeholder is text at runtime): `{time:d}` is refused here, not when it fires."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        return f"broken template ({exc}); write {{{{ and }}}} for literal braces"
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in TEMPLATE_FIELDS:
            allowed = ", ".join("{" + f + "}" for f in TEMPLATE_FIELDS)
            return f"unknown placeholder {{{field}}} (allowed: {allowed}; {{{{ for a literal brace)"
        problem = format_spec_problem(spec)
        if problem is None and spec:
            try:
                format("text", spec)
            except ValueError as exc:
                problem = f"format spec {spec!r} does not work on text ({exc})"
        if problem:
            return f"placeholder {{{field}}}: {problem}"
    return None


def _check_template(value: str | None) -> str | None:
    if value is not None:
        problem = template_problem(value)
        if problem:
            raise ValueError(problem)
    return value


TemplateText = Annotated[str, AfterValidator(_check_template)]


# --- content --------------------------------------------------------------------------------------------
class EmbedField(Model):
    name: TemplateText = Field(min_length=1, max_length=256)
    """The field's title (placeholders allowed)."""
    value: TemplateText = Field(min_length=1, max_length=1024)
    """The field's text (placeholders allowed)."""
    inline: bool = False
    """Show it beside the previous field."""



class EmbedSpec(Model):
    title: TemplateText | None = Field(default=None, max_length=256)
    """The embed's title (placeholders allowed)."""
    description: TemplateText | None = Field(default=None, max_length=4096)
    """The embed's main text (placeholders allowed)."""
    url: HttpUrl | None = None
    """A link for the title."""
    color: int | str | None = None
    """The side colour: a number (0xF4A7B9) or a hex string ("#F4A7B9")."""
    image: HttpUrl | None = None
    """A large picture below the text."""
    thumbnail: HttpUrl | None = None
    """A small picture at the top right."""
    footer: TemplateText | None = Field(default=None, max_length=2048)
    """Small text at the bottom (placeholders allowed)."""
    fields: tuple[EmbedField, ...] = Field(default=(), max_length=25)
    """Name/value fields (at most 25)."""


    @field_validator("color")
    @classmethod
    def _color(cls, value: int | str | None) -> int | str | None:
        if value is None or isinstance(value, int) and 0 <= value <= 0xFFFFFF:
            return value
        if isinstance(value, str) and re.fullmatch(r"#?[0-9a-fA-F]{6}", value.strip()):
            return value
        raise ValueError(f"{value!r} is not a colour (write it like \"#f4a7b9\" or 16033721)")

    @model_validator(mode="after")
    def _not_empty(self) -> "EmbedSpec":
        if not (self.title or self.description or self.fields or self.image):
            raise ValueError("an embed needs at least a title, a description, fields or an image")
        return self

    def color_value(self) -> int | None:
        if self.color is None or isinstance(self.color, int):
            return self.color
        return int(self.color.strip().lstrip("#"), 16)

    def first_line(self) -> str:
        return (self.title or self.description or (self.fields[0].name if self.fields else "") or "").split("\n")[0]


class PoolItem(Model):
    text: TemplateText | None = Field(default=None, max_length=2000)
    """The item's text (placeholders allowed)."""
    embed: EmbedSpec | None = None
    """An embed posted with or instead of the text."""


    json_schema_shorthand = "The item's text alone (posted as it is)."

    @model_validator(mode="before")
    @classmethod
    def _plain_text(cls, value: Any) -> Any:
        return {"text": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _something(self) -> "PoolItem":
        if not self.text and self.embed is None:
            raise ValueError("a pool item needs text and/or an embed")
        return self


class Pool(Model):
    order: Literal["sequential", "shuffle"] = "sequential"
    """sequential: in order; shuffle: random, no repeat until every item was used."""
    items: tuple[PoolItem, ...]
    """The items: plain text, or {text:, embed:}."""

    @field_validator("items")
    @classmethod
    def _not_empty(cls, items: tuple[PoolItem, ...]) -> tuple[PoolItem, ...]:
        if not items:
            raise ValueError("a pool needs at least one item")
        return items


# --- time rules -----------------------------------------------------------------------------------------
class Weekly(Model):
    days: tuple[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], ...]
    """Weekdays: mon, tue, wed, thu, fri, sat, sun."""
    at: TimeOfDay
    """The time of day, HH:MM."""

    @field_validator("days", mode="before")
    @classmethod
    def _short_names(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, (list, tuple)):
            return tuple(_FULL_DAY.get(v.strip().lower(), v.strip().lower()) if isinstance(v, str) else v
                         for v in value)
        return value

    @field_validator("days")
    @classmethod
    def _some_day(cls, days: tuple[str, ...]) -> tuple[str, ...]:
        if not days:
            raise ValueError("give at least one day (mon, tue, wed, thu, fri, sat, sun)")
        return tuple(dict.fromkeys(days))


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


@lru_cache(maxsize=8192)
def _floating_cron(fields: tuple[tuple[str, str], ...], start: date | None, end: date | None) -> CronTrigger:
    """A CronTrigger on naive wall-clock times (read as UTC). Cached: building one costs ~0.1 ms and
    schedules share rules; a CronTrigger keeps no state between calls."""
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

    __slots__ = ("tz", "_fields", "_floating", "simple", "start", "end", "_memo")

    def __init__(self, fields: dict[str, str], tz: ZoneInfo, start: date | None = None,
                 end: date | None = None) -> None:
        self.tz = tz
        self.start, self.end = start, end
        self._fields = tuple(sorted(fields.items()))
        self._floating: CronTrigger | None = None
        self.simple = _weekly_rule(self._fields)
        self._memo: tuple[datetime, datetime] | None = None

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
        # The answer A, asked at T, is the first fire >= T: nothing fires in [T, A), so A is also the
        # answer for any `now` in [T, A]. Remembered per trigger (triggers are shared by every
        # schedule with the same rule, see `Schedule.trigger`): guilds loading at the same moment,
        # the scheduler and the guild composite asking again, all get it for free.
        memo = self._memo
        if memo is not None and memo[0] <= now <= memo[1]:
            return memo[1]
        answer = self._next_fire(now)
        if answer is not None:
            self._memo = (now, answer)
        return answer

    def _next_fire(self, now: datetime) -> datetime | None:
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
        self._fields, self.simple, self._floating, self._memo = state["fields"], state["simple"], None, None
        self.start, self.end = state["start"], state["end"]

    def __repr__(self) -> str:
        return f"<WallClockTrigger {self.floating} in {self.tz.key}>"


@lru_cache(maxsize=16384)
def _rule_trigger(cron: str | None, daily: time | None, weekly: tuple[tuple[str, ...], time] | None,
                  at: datetime | None, tz_name: str, start: date | None, end: date | None) -> BaseTrigger:
    tz = ZoneInfo(tz_name)
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


# --- one schedule ---------------------------------------------------------------------------------------
class Schedule(Model):
    id: Key
    """A unique key for this schedule (/schedule commands use it)."""
    channel: Key | None = None
    """The channel key (in community.yaml) to post in."""
    cron: str | None = None
    """A cron rule: minute hour day month weekday, e.g. "0 9 * * mon-fri"."""
    daily: TimeOfDay | None = None
    """Every day at this time, HH:MM."""
    weekly: Weekly | None = None
    """On these weekdays at a time: {days: [mon, thu], at: "20:00"}."""
    at: LocalDateTime | None = None
    """Once, at this date and time (YYYY-MM-DD HH:MM)."""
    timezone: TimeZoneName | None = None
    """The time zone of this schedule's times (default: the file's or the community's)."""
    start: date | None = None
    """The first date it may fire (inclusive)."""
    end: date | None = None
    """The last date it may fire (inclusive)."""
    enabled: bool = True
    """false: keep the schedule but never fire it."""
    grace: Duration | None = None
    """How late a post missed by a restart may still go out (default: the file's grace)."""
    text: TemplateText | None = Field(default=None, max_length=2000)
    """The text to post (placeholders allowed: {community.name}, {date}, ...)."""
    embed: EmbedSpec | None = None
    """An embed to post."""
    pool: Key | None = None
    """A pool key: post the next item of that pool."""
    action: str | None = None
    """A feature action to run instead of a post (prompt.post, quiz.start, content.reveal, drop.open, ...)."""
    params: dict[str, Any] = Field(default_factory=dict)  # not a deep copy of a shared {} per schedule
    """Parameters of the action."""


    @field_validator("params", mode="before")
    @classmethod
    def _empty_params(cls, value: Any) -> Any:
        return {} if value is None else value  # `params:` left empty

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None:
            cron_fields(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "Schedule":
        rules = [name for name in ("cron", "daily", "weekly", "at") if getattr(self, name) is not None]
        if len(rules) != 1:
            raise ValueError("give exactly one time rule: cron, daily, weekly or at"
                             + (f" (found {', '.join(rules)})" if rules else ""))
        if self.at is not None and (self.start or self.end):
            raise ValueError("start/end are for repeating rules; a one-off `at:` already has its date")
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"end ({self.end}) is before start ({self.start})")
        has_content = bool(self.text or self.embed)
        if has_content and self.pool:
            raise ValueError("use either text/embed or pool, not both")
        if not (has_content or self.pool or self.action):
            raise ValueError("nothing to do: give text, embed, pool or action")
        if (has_content or self.pool) and not self.channel:
            raise ValueError("a post needs `channel:` (a channel key of community.yaml)")
        return self

    # -- time --
    def zone(self, default: str) -> ZoneInfo:
        return ZoneInfo(self.timezone or default)

    def trigger(self, default_tz: str) -> BaseTrigger:
        """The APScheduler trigger of this schedule's time rule. Schedules with the same rule, zone and
        dates share one (triggers keep no per-schedule state): 10,000 schedules have far fewer rules."""
        weekly = (self.weekly.days, self.weekly.at) if self.weekly is not None else None  # a cheap cache key
        return _rule_trigger(self.cron, self.daily, weekly, self.at, self.timezone or default_tz, self.start, self.end)

    def action_params(self) -> ActionParams | None:
        """The validated params of this schedule's action (None without one); `check` vouched for them."""
        if self.action is None:
            return None
        return ACTIONS[self.action].of(self.params)

    def timing_problems(self, default_tz: str, now: datetime | None) -> Iterator[tuple[str, str]]:
        """(field, problem) for a time rule that never fires: a campaign window with no matching day;
        with `now` (check time), a one-off in the past or a window that has ended."""
        if self.at is not None and now is None or not (self.at or self.start or self.end):
            return  # the common case, and the bot's own load: nothing to work out
        tz = self.zone(default_tz)
        if self.at is not None:
            when = self.at if self.at.tzinfo else local_to_utc(self.at, tz)
            if when < now:
                written = f"{self.at:%Y-%m-%d %H:%M}" + (f"{self.at:%z}" if self.at.tzinfo else f" ({tz.key})")
                yield "at", (f"{written} is in the past (it is now {now.astimezone(tz):%Y-%m-%d %H:%M} {tz.key}):"
                             " the bot skips it; remove it or move it")
            return
        trigger = self.trigger(default_tz)
        begin = local_to_utc(datetime.combine(self.start, time.min), tz) if self.start else _EPOCH
        if trigger.get_next_fire_time(None, begin) is None:
            yield ("end" if self.end else "start"), (f"never fires: no time of the rule falls between start "
                                                      f"({self.start or '…'}) and end ({self.end or '…'})")
        elif now is not None and self.end and trigger.get_next_fire_time(None, now) is None:
            yield "end", (f"the campaign ended on {self.end} (it is now {now.astimezone(tz):%Y-%m-%d %H:%M}):"
                          " it never fires again; remove it or move its dates")

    def rule_text(self) -> str:
        """Short description for moderators: `daily 09:00`, `weekly mon,thu 20:00`, `cron 0 9 * * *`."""
        if self.at is not None:
            return f"once {self.at:%Y-%m-%d %H:%M}"
        if self.cron is not None:
            rule = f"cron {self.cron}"
        elif self.daily is not None:
            rule = f"daily {self.daily:%H:%M}"
        else:
            assert self.weekly is not None
            rule = f"weekly {','.join(self.weekly.days)} {self.weekly.at:%H:%M}"
        if self.start or self.end:
            rule += f" ({self.start or '…'} → {self.end or '…'})"
        return rule


class SchedulesFile(Model):
    timezone: TimeZoneName | None = None
    """The time zone of every schedule here (default: the community's)."""
    grace: Duration = timedelta(hours=1)
    """How late a post missed by a restart may still go out (default 1h)."""
    pools: dict[Key, Pool] = {}
    """Named lists of posts that schedules draw from (pool: <key>)."""
    schedules: tuple[Schedule, ...] = ()
    """The schedules: when, where and what."""

    def by_id(self, schedule_id: str) -> Schedule | None:
        for schedule in self.schedules:
            if schedule.id == schedule_id:
                return schedule
        return None

    def default_timezone(self, config) -> str:
        return self.timezone or config.community.community.timezone

    def grace_of(self, schedule: Schedule) -> timedelta:
        return schedule.grace if schedule.grace is not None else self.grace

    def references(self, config) -> Iterator[tuple[tuple, str]]:
        channels = config.community.channels
        default_tz = self.default_timezone(config)
        now = getattr(config, "now", None)
        seen: dict[str, int] = {}
        for i, schedule in enumerate(self.schedules):
            if schedule.id in seen:
                yield ("schedules", i, "id"), (f"schedule id {schedule.id!r} is used twice"
                                               f" (also schedules[{seen[schedule.id]}])")
            seen.setdefault(schedule.id, i)
            if schedule.channel and schedule.channel not in channels:
                yield ("schedules", i, "channel"), _unknown("channel", schedule.channel, channels)
            if schedule.pool and schedule.pool not in self.pools:
                yield ("schedules", i, "pool"), _unknown("pool", schedule.pool, self.pools)
            if schedule.action and schedule.action not in KNOWN_ACTIONS:
                yield ("schedules", i, "action"), (f"unknown action {schedule.action!r}"
                                                   f" (known: {', '.join(KNOWN_ACTIONS)})")
            elif schedule.action:
                for loc, message in params_problems(schedule.action, schedule.params, config):
                    yield ("schedules", i, "params", *loc), message
            elif schedule.params:
                yield ("schedules", i, "params"), "`params:` are for an `action:`, and this schedule has none"
            if schedule.enabled:
                for name, message in schedule.timing_problems(default_tz, now):
                    yield ("schedules", i, name), message


def _unknown(what: str, value: str, known) -> str:
    return f"unknown {what} key {value!r} (known: {', '.join(sorted(known)) or 'none'})"
