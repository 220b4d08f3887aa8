"""`check` renders every message the config can make, with the widest values, and validates it against
Discord's spec: what it approves, Discord accepts. Each reported case is a test named after it."""
from __future__ import annotations

from datetime import datetime, timezone

import time
from pathlib import Path

import pytest

from bot.config import load_config
from bot.errors import ConfigError
from bot.dryrun import SLOT_KINDS, DryRun, dry_run, slot_of
from bot.offline.spec import Spec
from bot.services.catalogue import LANGUAGES, builtin

from tests.helpers import CONFIG, config_dir_with

SPEC = Spec.load()
pytestmark = pytest.mark.skipif(not SPEC.available, reason="Discord's OpenAPI spec is not laid out")


def check(tmp_path: Path, patches: dict, languages=None) -> list[str]:
    """What `python -m bot check` reports for the shipped config with `patches`: load errors, or the
    dry run's problems."""
    folder = config_dir_with(tmp_path, patches)
    try:
        config = load_config(folder)
    except ConfigError as exc:
        return exc.problems
    return [str(p) for p in dry_run(config, languages=languages, spec=SPEC)]


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def only(problems: list[str], *words: str) -> str:
    hits = [p for p in problems if all(w in p for w in words)]
    assert hits, f"no problem mentions {words}: {problems}"
    return hits[0]


# --- the shipped config and every catalogue key ---------------------------------------------------------
def test_the_shipped_config_passes_the_dry_run_in_every_language():
    config = load_config(CONFIG)
    run = DryRun(config, SPEC)
    run.check_catalogue(LANGUAGES)
    import asyncio

    for language in LANGUAGES:
        asyncio.run(run.check_features(language))
    assert [str(p) for p in run.problems] == []
    # every key of every language went through the spec, plus the features' own messages
    keys = sum(len([k for k in builtin(lang) if not k.startswith("commands.")]) for lang in LANGUAGES)
    assert run.validated >= keys + 10


def test_every_catalogue_key_and_override_renders_with_the_widest_values_and_passes_the_spec(tmp_path):
    overrides = {"participation.prompt_title": "{community.name} — {date}",
                 "feedback.modal_title": "{persona.name}",
                 "ama.answer_post": "{persona.greeting} #{id} {author}\n{question}\n{answer}"}
    problems = check(tmp_path, {"community.yaml": {"messages": overrides}}, languages=LANGUAGES)
    assert problems == []


def test_a_broken_builtin_key_names_its_locale_file_and_line(monkeypatch):
    config = load_config(CONFIG)
    run = DryRun(config, SPEC)
    catalogue = run.catalogue("ja")
    catalogue.templates["feedback.modal_title"] = "あ" * 46
    run.check_key(catalogue, "feedback.modal_title")
    [problem] = run.problems
    locale = Path(problem.path)
    assert locale.parts[-2:] == ("ja", "feedback.yaml")
    assert problem.line == line_of(locale, "modal_title:")
    assert "45" in problem.message


# --- the reported cases -------------------------------------------------------------------------------
def test_a_schedule_embed_over_the_6000_total_is_refused(tmp_path):
    embed = {"title": "T" * 256, "description": "D" * 4096, "footer": "F" * 2048}
    patches = {"schedules.yaml": {"schedules": [{"id": "huge", "channel": "announcements", "daily": "09:00",
                                                 "embed": embed}]}}
    problem = only(check(tmp_path, patches), "6000")
    path = tmp_path / "config" / "schedules.yaml"
    assert problem.startswith(f"{path}:{line_of(path, 'id: huge')}:")


def test_25_embed_fields_of_256_and_1024_are_refused(tmp_path):
    fields = [{"name": "N" * 256, "value": "V" * 1024} for _ in range(25)]
    patches = {"schedules.yaml": {"schedules": [{"id": "fields", "channel": "announcements", "daily": "09:00",
                                                 "embed": {"title": "x", "fields": fields}}]}}
    only(check(tmp_path, patches), "schedules.yaml", "6000")


def test_a_240_character_title_with_the_community_name_expanded_is_refused(tmp_path):
    title = "{community.name}" + "t" * (240 - len("{community.name}"))
    patches = {"community.yaml": {"community": {"name": "N" * 100}},
               "schedules.yaml": {"schedules": [{"id": "title", "channel": "announcements", "daily": "09:00",
                                                 "embed": {"title": title}}]}}
    only(check(tmp_path, patches), "schedules.yaml", "embeds[0].title")


def test_a_1990_character_text_plus_the_greeting_is_refused(tmp_path):
    text = "x" * (1990 - len("{persona.greeting}")) + "{persona.greeting}"
    patches = {"community.yaml": {"persona": {"greeting": "G" * 200}},
               "schedules.yaml": {"schedules": [{"id": "text", "channel": "announcements", "daily": "09:00",
                                                 "text": text}]}}
    only(check(tmp_path, patches), "schedules.yaml", "2000")


def test_a_pool_item_over_the_limit_names_the_item(tmp_path):
    patches = {"community.yaml": {"persona": {"greeting": "G" * 200}},
               "schedules.yaml": {"pools": {"monday-news": {"items": ["{persona.greeting}" + "x" * 1990]}}}}
    problem = only(check(tmp_path, patches), "pools.monday-news.items[0]", "2000")
    assert "schedules.yaml:" in problem


def test_a_300_character_prompt_title_override_is_refused(tmp_path):
    problems = check(tmp_path, {"community.yaml": {"messages": {"participation.prompt_title": "P" * 300}}})
    problem = only(problems, "messages.participation.prompt_title", "256")
    path = tmp_path / "config" / "community.yaml"
    assert problem.startswith(f"{path}:{line_of(path, 'participation.prompt_title')}:")


def test_a_60_character_feedback_modal_title_is_refused(tmp_path):
    problems = check(tmp_path, {"community.yaml": {"messages": {"feedback.modal_title": "M" * 60}}})
    only(problems, "messages.feedback.modal_title", "45")
    only(problems, "/feedback send modal", "title")  # the cog's own modal, rendered the same way


def test_a_120_character_feedback_category_key_is_refused(tmp_path):
    problems = check(tmp_path, {"community.yaml": {"feedback": {"categories": ["c" * 120, "bug"]}}})
    only(problems, "community.yaml", "feedback.categories[0]", "100")


def test_a_100_character_feedback_category_key_fits_the_select(tmp_path):
    assert check(tmp_path, {"community.yaml": {"feedback": {"categories": ["c" * 100, "bug"]}}}) == []


@pytest.mark.parametrize("template", ["{time:d}", "{date:>300000000}", "{weekday:{time}}", "{date:>101}",
                                      "{schedule.id:.500}"])
def test_a_schedule_format_spec_that_cannot_work_is_refused_quickly(tmp_path, template):
    patches = {"schedules.yaml": {"schedules": [{"id": "spec", "channel": "announcements", "daily": "09:00",
                                                 "text": f"Today {template}"}]}}
    started = time.perf_counter()
    problem = only(check(tmp_path, patches), "schedules.yaml", "schedules[0].text")
    assert time.perf_counter() - started < 5
    assert "format spec" in problem


def test_a_harmless_format_spec_is_accepted(tmp_path):
    patches = {"schedules.yaml": {"schedules": [{"id": "spec", "channel": "announcements", "daily": "09:00",
                                                 "text": "Today {date:>12} {time:^7}"}]}}
    assert check(tmp_path, patches) == []


@pytest.mark.parametrize("override, words", [
    ({"membership.joined": "{community.name:>300000000}"}, ("messages.membership.joined", "over 100")),
    ({"ama.asked": "#{id:q}"}, ("messages.ama.asked", "not a format spec")),
    ({"ama.asked": "#{id:s}"}, ("messages.ama.asked", "cannot be rendered")),
])
def test_an_override_with_a_bad_format_spec_is_refused(tmp_path, override, words):
    only(check(tmp_path, {"community.yaml": {"messages": override}}), *words)


def test_a_command_text_over_100_characters_is_refused(tmp_path):
    problems = check(tmp_path, {"community.yaml": {"messages": {"commands.quiz start": "q" * 101}}})
    only(problems, "messages.commands.quiz start", "100")


def test_a_context_menu_name_over_32_characters_is_refused(tmp_path):
    problems = check(tmp_path, {"community.yaml": {"messages": {"commands.menu:send_as_feedback": "m" * 33}}})
    only(problems, "menu:send_as_feedback", "32")


# --- one character under a limit passes, one over fails ---------------------------------------------------
PERSONA = "P" * 80  # placeholders render longer than they are written: the raw text stays under the limit


def _schedule(**content) -> dict:
    return {"community.yaml": {"persona": {"name": PERSONA}},
            "schedules.yaml": {"schedules": [{"id": "edge", "channel": "announcements", "daily": "09:00", **content}]}}


def _fill(length: int) -> str:
    """A template that renders to exactly `length` characters (the persona name expanded)."""
    if length < len(PERSONA):
        return "x" * length
    return "{persona.name}" + "x" * (length - len(PERSONA))


def _override(key: str, length: int) -> dict:
    return {"community.yaml": {"persona": {"name": PERSONA}, "messages": {key: _fill(length)}}}


LIMITS = {
    "content 2000": (2000, lambda n: _schedule(text=_fill(n))),
    "override content 2000": (2000, lambda n: _override("ama.asked", n)),
    "embed title 256": (256, lambda n: _override("participation.prompt_title", n)),
    "embed description 4096": (4096, lambda n: _schedule(embed={"description": _fill(n)})),
    "embed footer 2048": (2048, lambda n: _schedule(embed={"title": "x", "footer": _fill(n)})),
    "embed total 6000": (6000, lambda n: _schedule(embed={"title": "T" * 256, "description": "D" * 4096,
                                                            "footer": _fill(n - 256 - 4096)})),
    "modal title 45": (45, lambda n: _override("feedback.modal_title", n)),
    "select option 100": (100, lambda n: _override("feedback.anonymous_yes", n)),
    "select value 100": (100, lambda n: {"community.yaml": {"feedback": {"categories": ["c" * n]}}}),
    "button label 80": (80, lambda n: _override("participation.approve", n)),
    "command description 100": (100, lambda n: _override("commands.quiz start", n)),
}


@pytest.mark.parametrize("name", LIMITS)
def test_one_character_under_a_limit_passes_and_one_over_fails(tmp_path, name):
    limit, patches = LIMITS[name]
    assert check(tmp_path, patches(limit - 1)) == []
    assert check(tmp_path, patches(limit)) == []
    over = check(tmp_path, patches(limit + 1))
    assert over, f"{name}: {limit + 1} characters passed"
    assert any(str(limit) in p for p in over), over


# --- the slot table matches what the code does -----------------------------------------------------------
def test_every_slot_kind_builds_a_payload_the_spec_accepts():
    for kind, slot in SLOT_KINDS.items():
        route, body = slot.build("x" * slot.limit)
        assert SPEC.problems(*route, body) == [], kind
        route, body = slot.build("x" * (slot.limit + 1))
        assert SPEC.problems(*route, body), f"{kind}: {slot.limit + 1} characters accepted"


@pytest.mark.parametrize("key, kind", [
    ("feedback.modal_title", "modal.title"), ("participation.prompt_title", "embed.title"),
    ("ama.ask_modal_label", "input.label"), ("feedback.category_bug", "option.label"),
    ("participation.approve", "button"), ("membership.join_button", "button"),
    ("participation.prompt_thread", "thread.name"), ("ama.answer_post", "content"),
    ("feedback.status_done", "field.value"), ("feedback.status_changed", "content"), ("ama.summary_title", "content"),
    ("commands.quiz start", "command"), ("commands.menu:send_as_feedback", "menu"),
])
def test_catalogue_keys_go_where_the_code_puts_them(key, kind):
    assert slot_of(key) == kind


def test_check_runs_the_dry_run(tmp_path, capsys):
    from argparse import Namespace

    from bot.cli import check as check_cli

    folder = config_dir_with(tmp_path, {"community.yaml": {"messages": {"feedback.modal_title": "M" * 60}}})
    now = datetime(2026, 12, 1, tzinfo=timezone.utc)  # the example's dated entries are still ahead
    assert check_cli.run(Namespace(config=str(folder), now=now)) == 1
    out = capsys.readouterr()
    assert "feedback.modal_title" in out.out + out.err and "45" in out.out + out.err
    assert check_cli.run(Namespace(config=str(CONFIG), now=now)) == 0


def test_long_rules_with_a_long_greeting_make_a_welcome_dm_discord_refuses(tmp_path):
    patches = {"community.yaml": {"membership": {"rules": "r" * 1800}, "persona": {"greeting": "g" * 200}}}
    only(check(tmp_path, patches), "membership.welcome_dm (en)", "2000")


def test_a_long_tier_description_makes_the_promotion_dm_too_long(tmp_path):
    tiers = yaml_of("community.yaml")["tiers"]
    tiers[0]["description"] = "d" * 2000
    only(check(tmp_path, {"community.yaml": {"tiers": tiers}}), "membership.tier_up_dm (en)", "2000")


def test_an_answer_post_override_that_leaves_no_room_is_refused(tmp_path):
    problems = check(tmp_path, {"community.yaml": {"messages": {"ama.answer_post": "x" * 1700 + "{question}{answer}"}}})
    only(problems, "messages.ama.answer_post", "no room")


def yaml_of(name: str):
    import yaml
    return yaml.safe_load((CONFIG / name).read_text(encoding="utf-8"))


def test_every_key_overridden_with_its_shipped_text_passes_in_en_and_ja(tmp_path):
    """Every override goes through the same rendering and spec check as the shipped text."""
    overrides = dict(builtin("en"))
    folder = config_dir_with(tmp_path, {"community.yaml": {"messages": overrides}})
    config = load_config(folder)
    run = DryRun(config, SPEC)
    run.check_catalogue(LANGUAGES)
    assert [str(p) for p in run.problems] == []
    through_the_spec = [k for k in overrides if slot_of(k) in SLOT_KINDS]  # command texts: length rules only
    assert run.validated == len(through_the_spec) * len(LANGUAGES)


def test_every_catalogue_key_the_code_puts_in_a_limited_place_has_its_slot():
    """A new modal title, button label or embed title must not be measured as message content (2000):
    the code's call sites that put a catalogue text somewhere smaller name a slot in SLOTS."""
    import re

    root = CONFIG.parent
    place = re.compile(r"""(?:\b(?:title|label|placeholder|name|description|thread_name|text)=|"(?:title|name|value|text)":\s*|Button\()"""
                       r"""\s*(?:self\.)?(?:app\.)?t\(\s*"([a-z_]+\.[a-z_]+)\"""")
    found = {}
    for folder in ("cogs", "bot/services"):
        for path in (root / folder).rglob("*.py"):
            for key in place.findall(path.read_text(encoding="utf-8")):
                found[key] = path.relative_to(root)
    assert len(found) > 50
    content = sorted(f"{key} ({path})" for key, path in found.items() if slot_of(key) == "content")
    assert content == [], "add these to bot/dryrun.py SLOTS"


def test_without_the_spec_document_the_limits_are_still_checked(tmp_path):
    schedule = {"id": "long", "channel": "announcements", "daily": "09:00", "text": "{persona.greeting}" + "x" * 1975}
    folder = config_dir_with(tmp_path, {"community.yaml": {"messages": {"feedback.modal_title": "M" * 46},
                                                           "persona": {"greeting": "g" * 200}},
                                        "schedules.yaml": {"schedules": [schedule]}})
    problems = [str(p) for p in dry_run(load_config(folder), spec=Spec(None))]
    only(problems, "messages.feedback.modal_title", "45")
    only(problems, "schedules.yaml", "2000")


@pytest.mark.parametrize("spec, ok", [
    ("", True), (">3", True), ("05", True), (",", True), ("^7", True), (".2f", True), ("0>5", True),
    ("*<10", True), ("+d", True), ("_", True), (">100", True),
    ("q", False), (">101", False), (">300000000", False), (".500", False), ("{x}", False), ("<<<", False),
])
def test_format_specs_are_the_standard_mini_language_with_a_sane_width(spec, ok):
    from bot.config.schedules import format_spec_problem

    assert (format_spec_problem(spec) is None) == ok


async def test_a_reload_can_dry_run_without_stalling_the_event_loop(tmp_path):
    import asyncio

    from bot.dryrun import problems_off_loop

    folder = config_dir_with(tmp_path, {"community.yaml": {"messages": {"feedback.modal_title": "M" * 46}}})
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    problems = await problems_off_loop(load_config(folder))
    task.cancel()
    only(problems, "messages.feedback.modal_title", "45")
    assert ticks > 10  # the loop kept running meanwhile
