"""One grammar for durations and one for local date-times (bot/config/base.py), in every file.

Every config field typed `Duration` or `LocalDateTime` is found by walking the models, and each one is
fed the same table of spellings (plus the playground's `:wait`, which reads durations too): what one
accepts, all accept, with the same meaning; what one refuses, all refuse, saying how to write it.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any, get_args, get_origin

import pytest
import yaml
from pydantic import BaseModel, BeforeValidator, TypeAdapter, ValidationError

import bot.config
from bot.config import load_config
from bot.config.base import format_duration, parse_duration, parse_local_datetime
from bot.config.yamlsrc import load_source
from bot.errors import ConfigError
from bot.offline.playground import parse_duration as playground_wait
from tests.helpers import config_dir_with


def _uses(annotation: Any, parser) -> bool:
    if get_origin(annotation) is Annotated:
        base, *meta = get_args(annotation)
        return any(isinstance(m, BeforeValidator) and m.func is parser for m in meta) or _uses(base, parser)
    return any(_uses(arg, parser) for arg in get_args(annotation))


def _fields(parser) -> dict[str, Any]:
    """'module.Model.field' -> the field's full annotation, for every config field parsed by `parser`."""
    found: dict[str, Any] = {}
    for info in pkgutil.iter_modules(bot.config.__path__):
        module = importlib.import_module(f"bot.config.{info.name}")
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if not issubclass(cls, BaseModel) or cls.__module__ != module.__name__:
                continue
            for field_name, field in cls.model_fields.items():
                annotation = Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation
                if _uses(annotation, parser):
                    found[f"{info.name}.{name}.{field_name}"] = annotation
    return found


DURATION_FIELDS = _fields(parse_duration)
DATETIME_FIELDS = _fields(parse_local_datetime)


def test_every_duration_and_date_time_field_is_found():
    assert set(DURATION_FIELDS) == {"schedules.SchedulesFile.grace", "schedules.Schedule.grace",
                                    "drops.DropSpec.early", "drops.DropSpec.public", "drops.DropSpec.closes_after",
                                    "ama.AmaSettings.duration",
                                    "support.HelpSettings.escalate_after", "support.HelpSettings.close_after_inactive",
                                    # live events and polls (issue 20)
                                    "ama.LiveEventSettings.remind_before", "ama.LiveEventSettings.length",
                                    "schedules.ScheduleEvent.duration", "schedules.ScheduleEvent.remind_before",
                                    "schedules.ScheduleEvent.create_before", "prompts.Prompt.duration",
                                    "actions.PollPostParams.duration"}
    assert set(DATETIME_FIELDS) == {"schedules.Schedule.at", "content.ContentItem.at", "drops.DropSpec.opens"}


def _reader(annotation: Any):
    """Validate one value as the field does (a dict field: as the value of one key)."""
    adapter = TypeAdapter(annotation)
    if _dict_of(annotation):
        return lambda value: adapter.validate_python({"blossom": value})["blossom"]
    return adapter.validate_python


def _dict_of(annotation: Any) -> bool:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return get_origin(annotation) is dict or any(get_origin(a) is dict for a in get_args(annotation))


READERS = {name: _reader(a) for name, a in DURATION_FIELDS.items()} | {"playground :wait": playground_wait}

ACCEPTED = {
    "1h30m": timedelta(hours=1, minutes=30), "90m": timedelta(minutes=90), "2d": timedelta(days=2),
    "45s": timedelta(seconds=45), "24h": timedelta(hours=24), "1w 2d": timedelta(days=9),
    "2h 30m": timedelta(hours=2, minutes=30), "1H": timedelta(hours=1), "0": timedelta(0),
}
# a bare number (other than 0) has no unit: refused, and the message says how to write it
REFUSED = {"24": "write 24h for hours", 48: "write 48h for hours", 2.5: "write 2.5h", "soon": "like 45s, 90m",
           "1.5h": "whole numbers", "30m1h": "largest unit first", "-2h": "like 45s", "": "like 45s",
           -3: "cannot be negative"}


@pytest.mark.parametrize("spelling", ACCEPTED)
@pytest.mark.parametrize("field", READERS)
def test_every_duration_reads_the_same_spelling_the_same_way(field, spelling):
    assert READERS[field](spelling) == ACCEPTED[spelling]


@pytest.mark.parametrize("spelling", REFUSED, ids=[repr(s) for s in REFUSED])
@pytest.mark.parametrize("field", READERS)
def test_every_duration_refuses_the_same_spelling_and_says_how_to_write_it(field, spelling):
    with pytest.raises((ValidationError, ValueError)) as err:
        READERS[field](spelling)
    assert REFUSED[spelling] in str(err.value)


DATETIMES = {
    "2026-12-24 20:00": datetime(2026, 12, 24, 20, 0), "2026-12-24T20:00": datetime(2026, 12, 24, 20, 0),
    "2026-12-24 9:05:30": datetime(2026, 12, 24, 9, 5, 30),
    "2026-12-24 20:00+09:00": datetime(2026, 12, 24, 11, 0, tzinfo=timezone.utc),
    "2026-12-24 20:00+0900": datetime(2026, 12, 24, 11, 0, tzinfo=timezone.utc),
    "2026-12-24T20:00Z": datetime(2026, 12, 24, 20, 0, tzinfo=timezone.utc),
}
BAD_DATETIMES = {"2026-12-24": "has no time of day", "2026-02-30 10:00": "day is out of range",
                 "24 Dec 20:00": "like \"2026-12-24 20:00\"", "2026-12-24 25:00": "hour must be in"}


@pytest.mark.parametrize("spelling", DATETIMES)
@pytest.mark.parametrize("field", DATETIME_FIELDS)
def test_every_local_date_time_reads_the_same_spelling_the_same_way(field, spelling):
    assert TypeAdapter(DATETIME_FIELDS[field]).validate_python(spelling) == DATETIMES[spelling]


@pytest.mark.parametrize("spelling", BAD_DATETIMES)
@pytest.mark.parametrize("field", DATETIME_FIELDS)
def test_every_local_date_time_refuses_the_same_spelling(field, spelling):
    with pytest.raises(ValidationError) as err:
        TypeAdapter(DATETIME_FIELDS[field]).validate_python(spelling)
    assert BAD_DATETIMES[spelling] in str(err.value)


# Through the files, as `check` reads them: the old disagreements, each in the file that had it.
FILE_CASES = [
    # drops.yaml read a bare 24 as hours; now it says to write 24h, at the file, line and field
    ("drops.yaml", ("drops", 1, "closes_after"), 48, "write 48h for hours"),
    ("drops.yaml", ("drops", 0, "early", "blossom"), 24, "write 24h for hours"),
    ("schedules.yaml", ("grace",), 2, "write 2h for hours"),
    ("content.yaml", ("content", 0, "at"), "2026-12-05", "has no time of day"),
]


def _edit(tmp_path, file: str, loc: tuple, value: Any):
    folder = config_dir_with(tmp_path)
    path = folder / file
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    node = data
    for part in loc[:-1]:
        node = node[part]
    node[loc[-1]] = value
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return folder, path


@pytest.mark.parametrize("file,loc,value,says", FILE_CASES, ids=[f"{c[0]}:{'.'.join(map(str, c[1]))}" for c in FILE_CASES])
def test_a_duration_without_a_unit_is_refused_at_its_file_line_and_field(tmp_path, file, loc, value, says):
    folder, path = _edit(tmp_path, file, loc, value)
    with pytest.raises(ConfigError) as err:
        load_config(folder)
    line = load_source(path).line_of(loc)
    named = [p for p in err.value.problems if p.startswith(f"{path}:{line}: ")]
    assert named and says in named[0], err.value.problems


@pytest.mark.parametrize("file,loc,value", [
    ("drops.yaml", ("drops", 1, "closes_after"), "1d 12h"),   # drops refused 1h30m-style compounds
    ("drops.yaml", ("drops", 0, "early", "blossom"), "1d 6h30m"),
    ("schedules.yaml", ("grace",), "90m"),
    ("content.yaml", ("content", 0, "at"), "2026-12-05T19:00"),  # content refused nothing here, schedules' T
    ("schedules.yaml", ("schedules", 0, "grace"), "45s"),
])
def test_the_spellings_one_file_used_to_refuse_now_load_everywhere(tmp_path, file, loc, value):
    folder, _ = _edit(tmp_path, file, loc, value)
    load_config(folder)


@pytest.mark.parametrize("delta", [timedelta(days=2), timedelta(hours=1, minutes=30), timedelta(minutes=45),
                                   timedelta(seconds=30), timedelta(hours=30), timedelta(hours=24, minutes=5)])
def test_a_duration_a_message_shows_reads_back_as_the_same_duration(delta):
    assert parse_duration(format_duration(delta)) == delta
import pytest
from bot.config import load_config
from bot.errors import ConfigError
from tests.helpers import config_dir_with
import yaml

def test_public_of_a_bare_number_is_refused_not_read_as_true(tmp_path):
    folder = config_dir_with(tmp_path)
    data = yaml.safe_load((folder / "drops.yaml").read_text(encoding="utf-8"))
    data["drops"][0]["public"] = 1
    (folder / "drops.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_config(folder)
    assert any("drops[0].public" in p and "1h" in p for p in exc.value.problems), exc.value.problems


@pytest.mark.parametrize("text, after", [("90m", timedelta(minutes=90)), ("1h30m", timedelta(hours=1, minutes=30)),
                                         ("2d", timedelta(days=2)), ("45s", timedelta(seconds=45))])
def test_ama_until_reads_durations_with_the_config_grammar(text, after):
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    from bot.services.ama import parse_until

    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    assert parse_until(text, now, ZoneInfo("Asia/Tokyo")) == now + after
    # and a local date and time, as schedules write it
    assert parse_until("2026-12-02 20:00", now, ZoneInfo("Asia/Tokyo")) == datetime(2026, 12, 2, 11, tzinfo=timezone.utc)
