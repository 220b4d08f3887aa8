"""Shared pieces of the config models: every model is immutable and rejects unknown keys."""
from __future__ import annotations

import re
from datetime import time
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _check_tz(value: str) -> str:
    if not isinstance(value, str) or "/" not in value and value != "UTC":
        raise ValueError(f"{value!r} is not an IANA time zone name (like Asia/Tokyo or Europe/Paris)")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone name (like Asia/Tokyo or Europe/Paris)") from None
    return value


TimeZoneName = Annotated[str, AfterValidator(_check_tz)]

_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def _check_key(value: str) -> str:
    if not _KEY.match(value):
        raise ValueError(f"{value!r} is not a valid key (lowercase letters, digits, - and _)")
    return value


Key = Annotated[str, AfterValidator(_check_key)]


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


TimeOfDay = Annotated[time, BeforeValidator(_parse_hhmm)]


def all_timezones() -> set[str]:
    return available_timezones()
