"""Shared pieces of the config models: every model is immutable and rejects unknown keys."""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from typing import Annotated, Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, WithJsonSchema


class Model(BaseModel):
    # use_attribute_docstrings: a docstring under a field is its description, which `python -m bot
    # schema` writes into the JSON Schema, so editors show it as hover help.
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, use_attribute_docstrings=True)

    # A model whose "before" validator also accepts a plain string (a pool item written as its text
    # alone) says what the string means here, so the JSON Schema offers that form too.
    json_schema_shorthand: ClassVar[str | None] = None

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        schema = handler(core_schema)
        if cls.json_schema_shorthand:
            return {"anyOf": [{"type": "string", "description": cls.json_schema_shorthand}, schema]}
        return schema


# JSON Schema for the value types below and in the model modules. The YAML grammar is wider than
# JSON Schema's `format`s (`time` needs seconds and an offset, `date-time` too), so they are patterns
# that accept what the validators accept; `check` stays the authority on the exact rules.
TIME_OF_DAY_JSON = WithJsonSchema({"type": "string", "pattern": r"^\s*\d{1,2}:\d{2}\s*$", "examples": ["09:00"],
                                   "description": "A time of day, HH:MM (24-hour), in the community's time zone."})
LOCAL_DATETIME_JSON = WithJsonSchema({
    "type": "string", "examples": ["2026-12-24 20:00"],
    "pattern": r"^\s*\d{4}-\d{2}-\d{2}[Tt ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}(:?\d{2})?)?\s*$",
    "description": "A date and time, YYYY-MM-DD HH:MM, in the community's time zone (seconds and offset optional)."})
DURATION_JSON = WithJsonSchema({
    "anyOf": [{"type": "string", "pattern": r"^\s*(\d+\s*[wW])?\s*(\d+\s*[dD])?\s*(\d+\s*[hH])?\s*(\d+\s*[mM])?\s*(\d+\s*[sS])?\s*$",
               "examples": ["30m", "2h", "1h30m", "2d"]},
              {"const": 0}],
    "description": "A duration: whole numbers with units, largest first: 45s, 90m, 1h30m, 2d, 1w (w d h m s)."})


def _check_tz(value: str) -> str:
    if not isinstance(value, str) or "/" not in value and value != "UTC":
        raise ValueError(f"{value!r} is not an IANA time zone name (like Asia/Tokyo or Europe/Paris)")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone name (like Asia/Tokyo or Europe/Paris)") from None
    return value


TimeZoneName = Annotated[str, AfterValidator(_check_tz), WithJsonSchema({
    "type": "string", "examples": ["Asia/Tokyo", "Europe/Paris", "UTC"],
    "description": "An IANA time zone name, like Asia/Tokyo or Europe/Paris."})]

_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def _check_key(value: str) -> str:
    if not _KEY.match(value):
        raise ValueError(f"{value!r} is not a valid key (lowercase letters, digits, - and _)")
    return value


Key = Annotated[str, AfterValidator(_check_key), WithJsonSchema({
    "type": "string", "pattern": "^[a-z0-9][a-z0-9_-]*$",
    "description": "A key: lowercase letters, digits, - and _ (other settings refer to it)."})]


def _parse_hhmm(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 09:00 as the sexagesimal number 540
        return time(value // 60, value % 60)
    if isinstance(value, str) and re.fullmatch(r"\d{1,2}:\d{2}", value.strip()):
        h, m = value.strip().split(":")
        if int(h) > 23 or int(m) > 59:
            raise ValueError(f"{value!r} is not a time of day (HH:MM, 00:00 to 23:59)")
        return time(int(h), int(m))
    if isinstance(value, time):
        return value
    raise ValueError(f"{value!r} is not a time of day (HH:MM, like \"09:00\")")


TimeOfDay = Annotated[time, BeforeValidator(_parse_hhmm), TIME_OF_DAY_JSON]


def all_timezones() -> set[str]:
    return available_timezones()


# --- durations and local date-times: the one grammar every file (and the playground's :wait) uses ---
# A duration is whole numbers with units, largest unit first, spaces allowed between parts:
# 45s, 90m, 1h30m, 2d, 1w 2d. `0` alone means no time. Any other bare number is refused with a hint
# (drops.yaml used to read `24` as hours, schedules.yaml refused it: a unit says what is meant).
_DURATION = re.compile(r"(?:(\d+)\s*w)?\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*(?:(\d+)\s*s)?",
                       re.IGNORECASE)
_BARE_NUMBER = re.compile(r"[-+]?\d+(?:\.\d*)?|[-+]?\.\d+")
DURATION_HINT = "write it like 45s, 90m, 1h30m or 2d"


def parse_duration(value: object) -> timedelta:
    """`1h30m`, `90m`, `2d`, `45s`, `1w 2d` (or 0) -> a timedelta; ValueError saying how to write it."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration ({DURATION_HINT})")
    text = str(value).strip() if isinstance(value, (int, float, str)) else None
    if text is not None and _BARE_NUMBER.fullmatch(text):
        if float(text) == 0:
            return timedelta(0)
        number = text.lstrip("+")
        if number.startswith("-"):
            raise ValueError(f"{value!r}: a duration cannot be negative ({DURATION_HINT})")
        raise ValueError(f"{value!r} has no unit: write {number}h for hours, {number}m for minutes or "
                         f"{number}d for days (like 45s, 90m, 1h30m or 2d)")
    if text:
        match = _DURATION.fullmatch(text)
        if match and any(match.groups()):
            w, d, h, m, s = (int(g or 0) for g in match.groups())
            return timedelta(weeks=w, days=d, hours=h, minutes=m, seconds=s)
    raise ValueError(f"{value!r} is not a duration ({DURATION_HINT}; whole numbers, largest unit first)")


Duration = Annotated[timedelta, BeforeValidator(parse_duration), DURATION_JSON]


def format_duration(delta: timedelta) -> str:
    """A duration as the grammar above writes it (2d, 1h30m, 45m, 30s): what a message shows can be
    pasted back into a file."""
    minutes = int(delta.total_seconds() // 60)
    if minutes and minutes % 1440 == 0:
        return f"{minutes // 1440}d"
    if minutes >= 60:
        return f"{minutes // 60}h" + (f"{minutes % 60}m" if minutes % 60 else "")
    return f"{minutes}m" if minutes else f"{int(delta.total_seconds())}s"

# A date and a time of day, in the community's (or the schedule's) time zone unless an offset is
# given: `2026-12-24 20:00`, `2026-12-24T20:00`, seconds optional, then an optional offset
# (Z, +09:00, +0900, +09). A YAML timestamp (a datetime already) is taken as it is.
_LOCAL_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ]\s*(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6})\d*)?)?"
    r"\s*(?:(Z|z)|([+-])(\d{2}):?(\d{2})?)?")
LOCAL_DATETIME_HINT = "write it like \"2026-12-24 20:00\", local time; seconds and an offset like +09:00 are optional"


def parse_local_datetime(value: object) -> datetime:
    """`2026-12-24 20:00` (naive: local time) or with an offset (aware) -> a datetime."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        raise ValueError(f"{value!r} has no time of day ({LOCAL_DATETIME_HINT})")
    if isinstance(value, str):
        text = value.strip()
        match = _LOCAL_DATETIME.fullmatch(text)
        if match is None and re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError(f"{value!r} has no time of day ({LOCAL_DATETIME_HINT})")
        if match is not None:
            year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
            tz = None
            if zulu:
                tz = timezone.utc
            elif sign:
                offset = timedelta(hours=int(off_h), minutes=int(off_m or 0))
                tz = timezone(-offset if sign == "-" else offset)
            try:
                return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0),
                                int((fraction or "0").ljust(6, "0")), tzinfo=tz)
            except ValueError as exc:
                raise ValueError(f"{value!r} is not a date and time ({exc}; {LOCAL_DATETIME_HINT})") from None
    raise ValueError(f"{value!r} is not a date and time ({LOCAL_DATETIME_HINT})")


LocalDateTime = Annotated[datetime, BeforeValidator(parse_local_datetime), LOCAL_DATETIME_JSON]
