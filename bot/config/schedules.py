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

Time rules are evaluated on the wall clock of the schedule's time zone by the trigger engine,
`bot.triggers` (daylight-saving rules there); this module only describes and checks the file.
"""
from __future__ import annotations

import re
import string
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Annotated, Any, Iterator, Literal
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, Field, HttpUrl, field_validator, model_validator

from bot.triggers import cron_fields, local_to_utc, rule_trigger

# Actions other features register on `app.actions`, and the `params:` each takes, are declared in
# bot/config/actions.py so that `check` validates them without loading those services.
from .actions import ACTIONS, KNOWN_ACTIONS, ActionParams, params_problems  # noqa: F401 (KNOWN_ACTIONS re-exported)
from .base import Duration, Key, LocalDateTime, Model, TimeOfDay, TimeZoneName
from .community import venue_problems

if TYPE_CHECKING:
    from apscheduler.triggers.base import BaseTrigger

# Placeholders a schedule's text and embed may use ({{ and }} for literal braces).
TEMPLATE_FIELDS: tuple[str, ...] = (
    "community.name", "persona.name", "persona.greeting", "persona.sign_off",
    "date", "time", "weekday", "schedule.id",
)

_FULL_DAY = {name: name[:3] for name in
             ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")}
_EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)


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


# --- a live event ---------------------------------------------------------------------------------------
class ScheduleEvent(Model):
    """The schedule's next occurrence as a Discord scheduled event: members press Interested, get a
    reminder DM, and attending counts as participation (`event_attend`)."""

    name: str = Field(min_length=1, max_length=100)
    """The event's name on Discord (at most 100 characters)."""
    description: str = Field(default="", max_length=1000)
    """What happens (at most 1000 characters)."""
    duration: Duration = Field(default_factory=lambda: timedelta(hours=1))
    """How long it lasts from the occurrence (5 minutes to 7 days)."""
    location: Key | None = None
    """A channel key where it happens (a voice or stage channel links the event to it)."""
    where: str | None = Field(default=None, min_length=1, max_length=100)
    """Or where it happens, as text (at most 100 characters); default: the schedule's channel."""
    remind_before: Duration | None = Field(default_factory=lambda: timedelta(minutes=30))
    """How long before the start interested members get a reminder DM (empty: none)."""
    create_before: Duration = Field(default_factory=lambda: timedelta(days=7))
    """How long before the occurrence the event appears on Discord (1 hour to 30 days)."""

    @model_validator(mode="after")
    def _sensible(self) -> "ScheduleEvent":
        if not timedelta(minutes=5) <= self.duration <= timedelta(days=7):
            raise ValueError("duration: an event lasts between 5 minutes and 7 days")
        if self.remind_before is not None and not timedelta(minutes=1) <= self.remind_before <= timedelta(days=7):
            raise ValueError("remind_before: a reminder goes out between 1 minute and 7 days before the start")
        if not timedelta(hours=1) <= self.create_before <= timedelta(days=30):
            raise ValueError("create_before: between 1 hour and 30 days")
        if self.location is not None and self.where is not None:
            raise ValueError("give `location:` (a channel key) or `where:` (text), not both")
        return self


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
    event: ScheduleEvent | None = None
    """Also a Discord scheduled event for each occurrence (name, description, duration, location)."""


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
        if not (has_content or self.pool or self.action or self.event):
            raise ValueError("nothing to do: give text, embed, pool, action or event")
        if (has_content or self.pool) and not self.channel:
            raise ValueError("a post needs `channel:` (a channel key of community.yaml)")
        return self

    # -- time --
    def zone(self, default: str) -> ZoneInfo:
        return ZoneInfo(self.timezone or default)

    def trigger(self, default_tz: str) -> BaseTrigger:
        """The APScheduler trigger of this schedule's time rule (built by `bot.triggers`)."""
        weekly = (self.weekly.days, self.weekly.at) if self.weekly is not None else None
        return rule_trigger(cron=self.cron, daily=self.daily, weekly=weekly, at=self.at, tz=self.zone(default_tz),
                            start=self.start, end=self.end)

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
        return self.timezone or config.community.info.timezone

    def grace_of(self, schedule: Schedule) -> timedelta:
        return schedule.grace if schedule.grace is not None else self.grace

    def references(self, config) -> Iterator[tuple[tuple, str]]:
        channels = config.community.channels
        default_tz = self.default_timezone(config)
        now = config.now
        seen: dict[str, int] = {}
        for i, schedule in enumerate(self.schedules):
            if schedule.id in seen:
                yield ("schedules", i, "id"), (f"schedule id {schedule.id!r} is used twice"
                                               f" (also schedules[{seen[schedule.id]}])")
            seen.setdefault(schedule.id, i)
            if schedule.channel and schedule.channel not in channels:
                yield ("schedules", i, "channel"), _unknown("channel", schedule.channel, channels)
            if schedule.event is not None and schedule.event.location is not None:
                for problem in venue_problems(schedule.event.location, channels):
                    yield ("schedules", i, "event", "location"), problem
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
