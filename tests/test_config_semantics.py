"""`check` tells the truth: a generated suite of broken configs, each one edit away from the shipped example.

Every mutation below copies ./config, makes one YAML edit and loads the folder as `python -m bot check`
does (with a fixed "now"). A broken one must raise ConfigError in which every problem reads
`file:line: field: message`, and one of them names the exact file, line and field of the edit. A
valid edge value must still load (the checks are not over-eager).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.__main__ import main
from bot.config import load_config
from bot.config.yamlsrc import load_source
from bot.errors import ConfigError
from tests.helpers import config_dir_with

NOW = datetime(2026, 12, 1, 0, 0, tzinfo=ZoneInfo("Asia/Tokyo")).astimezone(timezone.utc)  # a Tuesday
PROBLEM = re.compile(r"^\S+:\d+: \S")

Edit = Callable[[dict], Any]


@dataclass(frozen=True)
class Mutation:
    name: str
    file: str  # the file edited, relative to the config folder
    edit: Edit  # changes the file's parsed YAML in place
    field: str | None = None  # the dotted field the problem must name (None: the edit must load)
    says: str = ""  # a phrase the problem must contain
    setup: Callable[[Path], None] | None = None  # extra files (symlinks...) in the config folder


def _set(path: str, value: Any) -> Edit:
    """An edit that sets the dotted `path` (`schedules[2].params.bank`) to `value`."""
    parts = _loc(path)

    def edit(data: dict) -> None:
        node = data
        for part in parts[:-1]:
            if isinstance(part, str) and part not in node:
                node[part] = {}
            node = node[part]
        node[parts[-1]] = value

    return edit


def _drop(path: str) -> Edit:
    parts = _loc(path)

    def edit(data: dict) -> None:
        node = data
        for part in parts[:-1]:
            node = node[part]
        del node[parts[-1]]

    return edit


def _add_schedule(**schedule: Any) -> Edit:
    def edit(data: dict) -> None:
        data["schedules"].append({"id": "added", "weekly": {"days": ["wed"], "at": "12:00"}, **schedule})

    return edit


def _both(*edits: Edit) -> Edit:
    def edit(data: dict) -> None:
        for one in edits:
            one(data)

    return edit


def _loc(path: str) -> tuple:
    out: list = []
    for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path):
        out.append(int(index) if index else name)
    return tuple(out)


S, C, P, D, T = "schedules.yaml", "community.yaml", "participation.yaml", "drops.yaml", "content.yaml"
SHIPPED = Path(__file__).resolve().parents[1] / "config"
SHIPPED_SCHEDULES = [s["id"] for s in yaml.safe_load((SHIPPED / S).read_text(encoding="utf-8"))["schedules"]]


def _schedule(schedule_id: str) -> str:
    """The dotted path of a shipped schedule, found by its id (the example may gain schedules anywhere)."""
    return f"schedules[{SHIPPED_SCHEDULES.index(schedule_id)}]"


ADDED = f"schedules[{len(SHIPPED_SCHEDULES)}]"  # the schedule _add_schedule appends
QUIZ, PROMPT, FEEDBACK, STATS, CAMPAIGN, ONCE, CRON = map(_schedule, (
    "weekly-quiz", "daily-prompt", "feedback-digest", "stats-digest", "winter-campaign", "christmas-eve",
    "morning-greeting"))
POLL = _schedule("winter-cup-poll")


def _symlink_out_of_the_folder(folder: Path) -> None:
    outside = folder.parent / "secret.csv"
    outside.write_text("code\nSECRET-1\n", encoding="utf-8")
    (folder / "codes" / "evil.csv").symlink_to(outside)


def _codes_folder_elsewhere(folder: Path) -> None:
    outside = folder.parent / "elsewhere"
    (folder / "codes").rename(outside)
    (folder / "codes").symlink_to(outside, target_is_directory=True)


BROKEN = [
    # -- every action checks its own params -----------------------------------------------------------
    Mutation("quiz bank that does not exist", S, _set(f"{QUIZ}.params.bank", "nope"), f"{QUIZ}.params.bank",
             "unknown quiz bank 'nope'"),
    Mutation("quiz with questions: -3", S, _set(f"{QUIZ}.params.questions", -3), f"{QUIZ}.params.questions"),
    Mutation("quiz with questions: 0", S, _set(f"{QUIZ}.params.questions", 0), f"{QUIZ}.params.questions"),
    Mutation("quiz with questions: 26", S, _set(f"{QUIZ}.params.questions", 26), f"{QUIZ}.params.questions"),
    Mutation("quiz with questions: five", S, _set(f"{QUIZ}.params.questions", "five"), f"{QUIZ}.params.questions"),
    Mutation("quiz with seconds: 2", S, _set(f"{QUIZ}.params.seconds", 2), f"{QUIZ}.params.seconds"),
    Mutation("quiz with seconds: 601", S, _set(f"{QUIZ}.params.seconds", 601), f"{QUIZ}.params.seconds"),
    Mutation("quiz params key misspelt", S, _set(f"{QUIZ}.params.questoins", 5), f"{QUIZ}.params.questoins",
             "unknown key 'questoins' (allowed: bank, questions, seconds, channel)"),
    Mutation("quiz in an unknown channel", S, _set(f"{QUIZ}.params.channel", "nowhere"), f"{QUIZ}.params.channel",
             "unknown channel key 'nowhere'"),
    Mutation("quiz bank that is not a key", S, _set(f"{QUIZ}.params.bank", "Tea!"), f"{QUIZ}.params.bank"),
    Mutation("prompt in an unknown channel", S, _set(f"{PROMPT}.params", {"channel": "nowhere"}),
             f"{PROMPT}.params.channel", "unknown channel key"),
    Mutation("prompt params key misspelt", S, _set(f"{PROMPT}.params", {"chanel": "lounge"}),
             f"{PROMPT}.params.chanel", "unknown key 'chanel'"),
    Mutation("stats digest with period: year", S, _set(f"{STATS}.params.period", "year"), f"{STATS}.params.period",
             "'year' is not one of week, month"),
    Mutation("stats digest with an empty period", S, _set(f"{STATS}.params.period", ""), f"{STATS}.params.period"),
    Mutation("stats digest to an unknown channel", S, _set(f"{STATS}.params.channel", "nowhere"),
             f"{STATS}.params.channel"),
    Mutation("stats params key misspelt", S, _set(f"{STATS}.params.perod", "month"), f"{STATS}.params.perod"),
    Mutation("feedback digest to an unknown channel", S, _set(f"{FEEDBACK}.params.channel", "nowhere"),
             f"{FEEDBACK}.params.channel", "unknown channel key 'nowhere'"),
    Mutation("feedback digest of 0 days", S, _set(f"{FEEDBACK}.params.days", 0), f"{FEEDBACK}.params.days"),
    Mutation("feedback digest of 400 days", S, _set(f"{FEEDBACK}.params.days", 400), f"{FEEDBACK}.params.days"),
    Mutation("feedback digest of 'week' days", S, _set(f"{FEEDBACK}.params.days", "week"), f"{FEEDBACK}.params.days"),
    Mutation("feedback params key misspelt", S, _set(f"{FEEDBACK}.params.dayz", 7), f"{FEEDBACK}.params.dayz"),
    Mutation("content reveal of an unknown id", S, _add_schedule(action="content.reveal", params={"id": "nope"}),
             f"{ADDED}.params.id", "unknown content id 'nope'"),
    Mutation("content reveal of an item that has its own at", S,
             _add_schedule(action="content.reveal", params={"id": "winter-yuzu-first-look"}),
             f"{ADDED}.params.id", "has its own `at:`"),
    Mutation("content reveal with nothing left to reveal", S, _add_schedule(action="content.reveal", params={}),
             f"{ADDED}.params", "nothing to reveal"),
    Mutation("content reveal params key misspelt", S,
             _add_schedule(action="content.reveal", params={"ids": "winter-yuzu-first-look"}), f"{ADDED}.params.ids"),
    Mutation("drop open of an unknown id", S, _add_schedule(action="drop.open", params={"id": "nope"}),
             f"{ADDED}.params.id", "unknown drop id 'nope'"),
    Mutation("drop open without an id", S, _add_schedule(action="drop.open", params={}), f"{ADDED}.params.id",
             "required field is missing"),
    Mutation("drop open of a drop that has its own opens", S,
             _add_schedule(action="drop.open", params={"id": "hanami-tin"}), f"{ADDED}.params.id", "own `opens:`"),
    Mutation("stats digest with period: Week", S, _set(f"{STATS}.params.period", "Week"), f"{STATS}.params.period"),
    Mutation("quiz with 2.5 questions", S, _set(f"{QUIZ}.params.questions", 2.5), f"{QUIZ}.params.questions"),
    Mutation("drop open with an empty id", S, _add_schedule(action="drop.open", params={"id": ""}),
             f"{ADDED}.params.id"),
    Mutation("ama announce to an unknown channel", S,
             _add_schedule(action="ama.announce", params={"channel": "nowhere"}), f"{ADDED}.params.channel"),
    Mutation("ama announce params key misspelt", S,
             _add_schedule(action="ama.announce", params={"topik": "Tea"}), f"{ADDED}.params.topik"),
    Mutation("ama announce with an empty topic", S,
             _add_schedule(action="ama.announce", params={"topic": ""}), f"{ADDED}.params.topic"),
    Mutation("poll of an unknown prompt", S, _set(f"{POLL}.params.prompt", "nope"), f"{POLL}.params.prompt",
             "unknown prompt key 'nope' (polls: winter-cup)"),
    Mutation("poll of a prompt that is not a poll", S, _set(f"{POLL}.params.prompt", "cold-brew"),
             f"{POLL}.params.prompt", "is not a poll"),
    Mutation("poll of a prompt and its own question", S, _set(f"{POLL}.params.question", "Tea?"),
             f"{POLL}.params.prompt", "not both"),
    Mutation("an unknown action", S, _set(f"{QUIZ}.action", "quiz.begin"), f"{QUIZ}.action", "unknown action"),
    Mutation("params without an action", S, _set(f"{CRON}.params", {"bank": "tea"}), f"{CRON}.params",
             "this schedule has none"),
    Mutation("params that are a list", S, _set(f"{QUIZ}.params", ["tea", 5]), f"{QUIZ}.params"),
    # -- every place that names a participation action ----------------------------------------------------
    Mutation("streak action misspelt", P, _set("streaks.actions", ["prompt_answr"]), "streaks.actions[0]",
             "unknown participation action 'prompt_answr'"),
    Mutation("second streak action unknown", P, _set("streaks.actions", ["prompt_answer", "chat"]),
             "streaks.actions[1]"),
    Mutation("campaign drop entries from an unknown action", D, _set("drops[2].entries.action", "prompt_answr"),
             "drops[2].entries.action", "unknown participation action"),
    Mutation("points for an action that is never awarded", P, _set("points.promt_answer", 10),
             "points.promt_answer", "never be given"),
    # -- time rules that never fire ------------------------------------------------------------------------
    Mutation("a one-off in the past", S, _set(f"{ONCE}.at", "2026-11-01T20:00"), f"{ONCE}.at", "is in the past"),
    Mutation("a one-off an hour ago", S, _set(f"{ONCE}.at", "2026-11-30T23:00"), f"{ONCE}.at", "is in the past"),
    Mutation("a one-off in the past with an offset", S, _set(f"{ONCE}.at", "2026-11-30T14:00:00+00:00"),
             f"{ONCE}.at", "is in the past"),
    Mutation("cron weekday range without an end", S, _set(f"{CRON}.cron", "0 9 * * mon-"),
             f"{CRON}.cron", "'mon-' is not a weekday"),
    Mutation("cron weekday range without a start", S, _set(f"{CRON}.cron", "0 9 * * -fri"), f"{CRON}.cron"),
    Mutation("cron on 31 February", S, _set(f"{CRON}.cron", "0 9 31 2 *"), f"{CRON}.cron", "never fires"),
    Mutation("cron on 30 February", S, _set(f"{CRON}.cron", "0 9 30 2 *"), f"{CRON}.cron", "never fires"),
    Mutation("cron on the 31st of 30-day months", S, _set(f"{CRON}.cron", "0 9 31 4,6,9,11 *"),
             f"{CRON}.cron", "never fires"),
    Mutation("cron weekday 8", S, _set(f"{CRON}.cron", "0 9 * * 8"), f"{CRON}.cron"),
    Mutation("cron day 'last' (not crontab)", S, _set(f"{CRON}.cron", "0 9 last * *"), f"{CRON}.cron"),
    Mutation("cron minute 60", S, _set(f"{CRON}.cron", "60 9 * * *"), f"{CRON}.cron"),
    Mutation("cron with 4 fields", S, _set(f"{CRON}.cron", "0 9 * *"), f"{CRON}.cron", "5 fields"),
    Mutation("cron hour range without an end", S, _set(f"{CRON}.cron", "0 9- * * *"), f"{CRON}.cron"),
    Mutation("cron weekday step 0", S, _set(f"{CRON}.cron", "0 9 * * */0"), f"{CRON}.cron", "step"),
    Mutation("cron minute step 0", S, _set(f"{CRON}.cron", "*/0 9 * * *"), f"{CRON}.cron"),
    Mutation("a one-off without a time of day", S, _set(f"{ONCE}.at", "2026-12-24"), f"{ONCE}.at"),
    Mutation("a campaign window with no matching day", S,
             _both(_drop(f"{CAMPAIGN}.daily"), _set(f"{CAMPAIGN}.weekly", {"days": ["mon"], "at": "18:00"}),
                   _set(f"{CAMPAIGN}.start", "2026-12-10"), _set(f"{CAMPAIGN}.end", "2026-12-12")),
             f"{CAMPAIGN}.end", "never fires"),
    Mutation("a campaign that has ended", S,
             _both(_set(f"{CAMPAIGN}.start", "2026-11-10"), _set(f"{CAMPAIGN}.end", "2026-11-20")),
             f"{CAMPAIGN}.end", "ended on 2026-11-20"),
    # -- snowflakes are positive ------------------------------------------------------------------------
    Mutation("guild_id -1", C, _set("community.guild_id", -1), "community.guild_id"),
    Mutation("guild_id 0", C, _set("community.guild_id", 0), "community.guild_id"),
    Mutation("guild_id beyond 64 bits", C, _set("community.guild_id", 2**64), "community.guild_id"),
    Mutation("a role id of -5", C, _set("roles.member.id", -5), "roles.member.id"),
    Mutation("a channel id of 0", C, _set("channels.lounge.id", 0), "channels.lounge.id"),
    # -- paths stay inside the config folder ------------------------------------------------------------
    Mutation("codes path climbing out", D, _set("drops[0].codes", "../../../../etc/passwd"), "drops[0].codes",
             "inside the config folder"),
    Mutation("codes path climbing out from a subfolder", D, _set("drops[0].codes", "codes/../../outside.csv"),
             "drops[0].codes"),
    Mutation("codes path absolute", D, _set("drops[0].codes", "/etc/passwd"), "drops[0].codes"),
    Mutation("codes file a symlink out of the folder", D, _set("drops[0].codes", "codes/evil.csv"), "drops[0].codes",
             "leads outside the config folder", setup=_symlink_out_of_the_folder),
    Mutation("codes path empty", D, _set("drops[0].codes", ""), "drops[0].codes"),
    Mutation("codes folder a symlink out of the folder", D, _set("drops[0].codes", "codes/hanami-tin.csv"),
             "drops[0].codes", "leads outside", setup=_codes_folder_elsewhere),
    Mutation("codes path a folder", D, _set("drops[0].codes", "codes"), "drops[0].codes", "cannot read"),
    Mutation("a drop announced in a moderators-only channel", D, _set("drops[1].channel", "mod-log"),
             "drops[1].channel", "moderators-only"),
    Mutation("visitors let in after the drop closes", D, _set("drops[1].public", "48h"), "drops[1].public",
             "never could"),
    # -- Discord names that clash -------------------------------------------------------------------------
    Mutation("two roles with the same name", C, _set("roles.leaf.name", "Member"), "roles.leaf.name",
             "same name 'Member'"),
    Mutation("a tier role named like another tier's", C, _set("roles.blossom.name", "Green Leaf"),
             "roles.blossom.name"),
    Mutation("two roles with the same id", C, _both(_set("roles.member.id", 123), _set("roles.holder.id", 123)),
             "roles.holder.id"),
    Mutation("a tier role that is the moderator role", C, _set("tiers[1].role", "moderator"), "tiers[1].role",
             "the moderator role"),
    Mutation("a tier role that is the member role", C, _set("tiers[0].role", "member"), "tiers[0].role",
             "the member role"),
    Mutation("two tiers with one role", C, _set("tiers[1].role", "leaf"), "tiers[1].role", "already the role"),
    Mutation("the moderator role named like the member role", C, _set("roles.moderator.name", "Member"),
             "roles.moderator.name"),
    Mutation("the mod-log named like the lounge", C, _set("channels.mod-log.name", "lounge"),
             "channels.mod-log.name"),
    Mutation("two channels with the same name", C, _set("channels.quiz.name", "lounge"), "channels.quiz.name",
             "same name 'lounge'"),
    Mutation("a channel name that Discord lowercases onto another", C, _set("channels.feedback.name", "Lounge"),
             "channels.feedback.name"),
    Mutation("a channel name that Discord dashes onto another", C, _set("channels.quiz.name", "Daily Prompt"),
             "channels.quiz.name"),
    # -- a live event's venue is a voice or stage channel ----------------------------------------------
    Mutation("an AMA event held in a text channel", C, _set("ama.event.location", "lounge"), "ama.event.location",
             "must be a voice or stage channel"),
    Mutation("a schedule's event held in a text channel", S, _set(f"{QUIZ}.event.location", "quiz"),
             f"{QUIZ}.event.location", "must be a voice or stage channel"),
    Mutation("a voice channel with a topic", C, _set("channels.tea-stage", {"type": "voice", "topic": "Tea"}),
             "channels.tea-stage", "not voice or stage"),
    Mutation("forum: true on a stage", C, _set("channels.tea-stage", {"type": "stage", "forum": True}),
             "channels.tea-stage", "`forum: true` is `type: forum`"),
    Mutation("two channels with the same id", C,
             _both(_set("channels.lounge.id", 42), _set("channels.quiz.id", 42)), "channels.quiz.id"),
]

VALID = [
    Mutation("quiz with the most questions", S, _set(f"{QUIZ}.params.questions", 25)),
    Mutation("quiz with one question and the shortest and longest time", S,
             _both(_set(f"{QUIZ}.params.questions", 1), _set(f"{QUIZ}.params.seconds", 5))),
    Mutation("quiz with the longest time in a named channel", S,
             _both(_set(f"{QUIZ}.params.seconds", 600), _set(f"{QUIZ}.params.channel", "lounge"))),
    Mutation("quiz with no params (participation defaults)", S, _drop(f"{QUIZ}.params")),
    Mutation("quiz with params left empty", S, _set(f"{QUIZ}.params", None)),
    Mutation("stats digest per month to the lounge", S,
             _set(f"{STATS}.params", {"period": "month", "channel": "lounge"})),
    Mutation("feedback digest over a year", S, _set(f"{FEEDBACK}.params.days", 365)),
    Mutation("prompt in a named channel", S, _set(f"{PROMPT}.params", {"channel": "lounge"})),
    Mutation("drop open of a drop without opens", S, _add_schedule(action="drop.open", params={"id": "prompt-champions"})),
    Mutation("ama announce of an upcoming session", S,
             _add_schedule(action="ama.announce", params={"topic": "Tea", "guest": "Master Aoki", "when": "Fri"})),
    Mutation("poll written in the schedule itself", S,
             _set(f"{POLL}.params", {"question": "Milk first?", "answers": ["Yes", "No"], "duration": "2h"})),
    Mutation("cron on 29 February (leap years)", S, _set(f"{CRON}.cron", "0 9 29 2 *")),
    Mutation("cron on the 31st", S, _set(f"{CRON}.cron", "0 9 31 * *")),
    Mutation("cron with 0-7 weekdays and steps", S, _set(f"{CRON}.cron", "*/15 9-17 * * 0-7")),
    Mutation("cron with month names and lists", S, _set(f"{CRON}.cron", "0 9 1,15 jan-mar *")),
    Mutation("cron with upper-case names", S, _set(f"{CRON}.cron", "0 9 * * MON-FRI")),
    Mutation("a one-off tomorrow", S, _set(f"{ONCE}.at", "2026-12-02T09:00")),
    Mutation("a one-off in the past that is disabled", S,
             _both(_set(f"{ONCE}.at", "2026-11-01T20:00"), _set(f"{ONCE}.enabled", False))),
    Mutation("a campaign that ends today", S,
             _both(_set(f"{CAMPAIGN}.start", "2026-11-20"), _set(f"{CAMPAIGN}.end", "2026-12-01"))),
    Mutation("the smallest and the largest snowflake", C,
             _both(_set("community.guild_id", 1), _set("roles.member.id", 2**63 - 1))),
    Mutation("an AMA held on a stage", C,
             _both(_set("channels.tea-stage", {"type": "stage"}), _set("ama.event.location", "tea-stage"))),
    Mutation("a members' voice lounge", C, _set("channels.tea-voice", {"type": "voice", "kind": "exclusive",
                                                                        "tier": "leaf"})),
    Mutation("a forum written the old way", C, _set("channels.help", {"forum": True})),
    Mutation("codes path with ./", D, _set("drops[0].codes", "./codes/hanami-tin.csv")),
    Mutation("codes file a symlink inside the folder", D, _set("drops[0].codes", "codes/alias.csv"),
             setup=lambda folder: (folder / "codes" / "alias.csv").symlink_to(folder / "codes" / "hanami-tin.csv")),
    Mutation("cron every other weekday", S, _set(f"{CRON}.cron", "0 9 * * */2")),
    Mutation("roles whose names differ only in case", C, _set("roles.guest.name", "member")),
    Mutation("a role and a channel with the same name", C, _set("roles.guest.name", "lounge")),
    Mutation("several streak actions", P, _set("streaks.actions", ["prompt_answer", "quiz_correct"])),
    Mutation("visitors let in just before the drop closes", D, _set("drops[1].public", "47h")),
    Mutation("campaign drop entries from quiz answers", D, _set("drops[2].entries.action", "quiz_answer")),
]


def _apply(tmp_path: Path, mutation: Mutation) -> Path:
    folder = config_dir_with(tmp_path)
    path = folder / mutation.file
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    mutation.edit(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    if mutation.setup:
        mutation.setup(folder)
    return folder


@pytest.mark.parametrize("mutation", BROKEN, ids=[m.name for m in BROKEN])
def test_a_broken_config_is_refused_with_the_file_line_and_field(tmp_path, mutation):
    folder = _apply(tmp_path, mutation)
    with pytest.raises(ConfigError) as err:
        load_config(folder, now=NOW)
    problems = err.value.problems
    assert problems and all(PROBLEM.match(p) for p in problems), problems
    line = load_source(folder / mutation.file).line_of(_loc(mutation.field))
    expected = f"{folder / mutation.file}:{line}: {mutation.field}: "
    named = [p for p in problems if p.startswith(expected)]
    assert named, f"no problem starts with {expected!r}: {problems}"
    assert any(mutation.says in p for p in named), (mutation.says, named)


@pytest.mark.parametrize("mutation", VALID, ids=[m.name for m in VALID])
def test_a_valid_edge_value_still_loads(tmp_path, mutation):
    load_config(_apply(tmp_path, mutation), now=NOW)


def test_the_suite_is_as_wide_as_promised():
    assert len(BROKEN) >= 60 and len({m.name for m in BROKEN + VALID}) == len(BROKEN + VALID)
    assert {m.file for m in BROKEN} == {S, C, P, D}


def test_the_shipped_config_passes_check_on_its_own_date(capsys):
    assert main(["check", "--config", str(SHIPPED), "--now", "2026-12-01T00:00+09:00"]) == 0
    assert "config OK" in capsys.readouterr().out


def test_the_example_posts_a_poll_prompt_on_a_schedule():
    config = load_config(SHIPPED, now=NOW)
    schedule = config.schedules.by_id("winter-cup-poll")
    assert schedule.action == "poll.post" and schedule.params["prompt"] == "winter-cup"
    assert next(p for p in config.prompts.prompts if p.key == "winter-cup").kind == "poll"


def test_check_reports_the_past_one_off_while_the_bot_still_loads_it(tmp_path, capsys):
    """A one-off whose time passed is a `check` problem (the brand team is told); the bot itself
    loads the same folder (a restart after the date must not stop it) and simply never posts it."""
    folder = _apply(tmp_path, Mutation("past", S, _set(f"{ONCE}.at", "2026-11-01T20:00")))
    assert main(["check", "--config", str(folder), "--now", "2026-12-01T00:00+09:00"]) == 1
    err = capsys.readouterr().err
    assert re.search(rf"schedules\.yaml:\d+: {re.escape(ONCE)}\.at: 2026-11-01 20:00 \(Asia/Tokyo\) is in the past", err)
    config = load_config(folder)  # as `run` and /admin reload load it: no clock, no time judgement
    assert config.schedules.by_id("christmas-eve").at == datetime(2026, 11, 1, 20, 0)


def test_cron_weekday_steps_count_from_sunday_as_crontab_does():
    """APScheduler would read `*/2` from Monday (mon, wed, fri, sun); crontab means sun, tue, thu, sat."""
    from bot.triggers import cron_fields

    assert cron_fields("0 9 * * */2")["day_of_week"] == "sun,tue,thu,sat"
    assert cron_fields("0 9 * * 1-5/2")["day_of_week"] == "mon,wed,fri"


async def test_the_running_bot_skips_a_past_one_off(harness, tmp_path):
    from bot.clock import FakeClock

    folder = _apply(tmp_path, Mutation("past", S, _set(f"{ONCE}.at", "2026-11-30T20:00")))
    g = await harness(config=load_config(folder), clock=FakeClock(NOW))
    await g.advance(hours=2)
    assert not any("Merry Christmas" in json_text(m) for m in g.channel("announcements").messages)
    assert not await g.app.db.fetchall("SELECT 1 FROM schedule_ledger WHERE schedule_id = 'christmas-eve'")


def json_text(message) -> str:
    import json

    return (message.content or "") + json.dumps(message.embeds, ensure_ascii=False)
