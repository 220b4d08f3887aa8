"""Shared pieces of the config models: every model is immutable and rejects unknown keys."""
from __future__ import annotations

import re
from datetime import time
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
    "anyOf": [{"type": "string", "pattern": r"^\s*(\d+\s*d)?\s*(\d+\s*h)?\s*(\d+\s*m)?\s*(\d+\s*s)?\s*$",
               "examples": ["30m", "2h", "1d"]},
              {"type": "number", "minimum": 0}],
    "description": "A duration such as 30m, 2h, 1h30m or 2d."})


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
