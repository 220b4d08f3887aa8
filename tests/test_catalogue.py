"""The message catalogue: every key in both languages with the same placeholders; brand overrides are
checked with file:line; the persona's voice fills the shared placeholders."""
from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.config import load_config
from bot.errors import ConfigError
from bot.services import catalogue as cat
from bot.services.catalogue import LANGUAGES, Catalogue, builtin, consistency_problems, override_problems

from tests.helpers import config_dir_with, config_with

ROOT = Path(__file__).resolve().parent.parent
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")  # kana or kanji


def all_keys() -> list[str]:
    return sorted(set().union(*(builtin(lang) for lang in LANGUAGES)))


class Anything:
    """A parameter value that formats as itself whatever attribute or spec the template asks for."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __format__(self, spec: str) -> str:
        return f"<{self.name}>"

    def __getattr__(self, attr: str) -> "Anything":
        return Anything(f"{self.name}.{attr}")


# Differences that are deliberate, each with the reason; the caller passes the union of both sets.
# An entry that no longer differs fails the test too, so the list cannot go stale.
ALLOWED_DIFFERENCES = {
    # bot/services/schedules.py passes year, month, month_name, day, weekday: Japanese dates use the
    # month's number (12月), English its name (December)
    "schedules.date": "placeholders differ between languages",
}


def test_the_catalogue_walk_finds_no_missing_key_and_no_placeholder_mismatch():
    """Walks every key of every area in en and ja. Names the problems so the owner can fix them."""
    problems = consistency_problems()
    unexpected = [p for p in problems if not any(p.startswith(f"{key}: {what}")
                                                 for key, what in ALLOWED_DIFFERENCES.items())]
    assert unexpected == [], "catalogue problems:\n" + "\n".join(unexpected)
    stale = [key for key, what in ALLOWED_DIFFERENCES.items()
             if not any(p.startswith(f"{key}: {what}") for p in problems)]
    assert stale == [], f"no longer different, remove from ALLOWED_DIFFERENCES: {stale}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_key_formats_in_each_language(language):
    persona = load_config(ROOT / "config").community.persona
    c = Catalogue(language, community_name="Sakura Tea House", persona=persona)
    failures = []
    for key in all_keys():
        if not c.has(key):
            failures.append(f"{key}: missing")
            continue
        params = {name: Anything(name) for name in cat.placeholders(c.templates[key])
                  if name not in cat.SHARED_PLACEHOLDERS}
        try:
            text = c.t(key, **params)
        except Exception as exc:  # noqa: BLE001 - report every key, not the first
            failures.append(f"{key}: {type(exc).__name__}: {exc}")
            continue
        if not text.strip() and key not in _MAY_BE_EMPTY:
            failures.append(f"{key}: empty")
    assert failures == [], "\n".join(failures)


_MAY_BE_EMPTY = {"ama.summary_thanks"}  # the persona's sign-off, which may be empty


def test_japanese_templates_are_japanese():
    """A ja template that is only Latin letters is almost always an untranslated copy of the en one."""
    untranslated = []
    ja, en = builtin("ja"), builtin("en")
    for key, template in ja.items():
        literal = "".join(text for text, *_ in string.Formatter().parse(template))
        if re.search(r"[A-Za-z]{4,}", literal) and not JAPANESE.search(literal) and template == en.get(key):
            untranslated.append(key)
    assert untranslated == [], untranslated


# --- the walk can fail ------------------------------------------------------------------------

def test_the_walk_reports_a_key_missing_in_one_language(monkeypatch):
    fake = {"en": {"x.only_en": "hi", "x.both": "{n} items"}, "ja": {"x.both": "{n}件"}}
    monkeypatch.setattr(cat, "builtin", lambda lang: fake[lang])
    assert consistency_problems() == ["x.only_en: missing in ja"]


def test_the_walk_reports_different_placeholders(monkeypatch):
    fake = {"en": {"x.a": "{count} members joined"}, "ja": {"x.a": "{number}人が参加"}}
    monkeypatch.setattr(cat, "builtin", lambda lang: fake[lang])
    assert consistency_problems() == ["x.a: placeholders differ between languages (en: count; ja: number)"]


def test_the_walk_reports_a_broken_template(monkeypatch):
    fake = {"en": {"x.a": "{count members"}, "ja": {"x.a": "{count}人"}}
    monkeypatch.setattr(cat, "builtin", lambda lang: fake[lang])
    assert [p.split(":")[0] for p in consistency_problems()] == ["x.a (en)"]


# --- overrides in community.yaml --------------------------------------------------------------

def _line_of(path: Path, needle: str) -> int:
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in {path}")


def _problems(folder: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(folder)
    return info.value.problems


def _override(tmp_path: Path, key: str, template: str) -> Path:
    return config_dir_with(tmp_path, {"community.yaml": {"messages": {key: template}}})


def test_an_override_with_a_bad_placeholder_fails_check_with_file_and_line(tmp_path, capsys):
    folder = _override(tmp_path, "core.cooldown", "Easy, {persona.name} needs {secs} seconds")
    path = folder / "community.yaml"
    line = _line_of(path, "core.cooldown")
    problems = _problems(folder)
    assert problems == [
        f"{path}:{line}: messages.core.cooldown: placeholder {{secs}} is not available in this message"
        " (available: {community}, {persona}, {seconds})"
    ]
    assert main(["check", "--config", str(folder)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:{line}: messages.core.cooldown: placeholder {{secs}}" in err


@pytest.mark.parametrize("key,template,words", [
    ("core.not_moderatr", "Mods only", "unknown message key 'core.not_moderatr' (keys in 'core': "),
    ("nope.key", "x", "unknown message key 'nope.key'"),
    ("core.not_moderator", "Ask {persona.nickname}", "placeholder {persona.nickname} does not exist; use"
                                                     " {persona.name}, {persona.greeting}, {persona.sign_off}"),
    ("core.not_moderator", "Only {} can", "positional placeholders"),
    ("core.cooldown", "wait {seconds.real}", "only plain names work here, like {seconds}"),
    ("core.cooldown", "wait {seconds", "broken template"),
])
def test_override_problems_name_the_mistake(tmp_path, key, template, words):
    folder = _override(tmp_path, key, template)
    problems = _problems(folder)
    line = _line_of(folder / "community.yaml", key)
    assert len(problems) == 1 and problems[0].startswith(f"{folder / 'community.yaml'}:{line}: messages.{key}: ")
    assert words in problems[0], problems[0]


def test_a_good_override_speaks_in_the_persona_voice(tmp_path):
    config = config_with(tmp_path, {"community.yaml": {"messages": {
        "core.not_moderator": "{persona.greeting} Only mods may, says {persona.name}."}}})
    c = Catalogue.for_config(config)
    assert c.t("core.not_moderator") == "Irasshaimase! Only mods may, says Sakura-chan."
    assert list(override_problems({"core.cooldown": "{community.name}: {seconds}s"})) == []


def test_an_override_that_cannot_format_falls_back_to_the_shipped_text():
    # `check` refuses such a file; a Catalogue built by hand must still never crash a reply
    persona = load_config(ROOT / "config").community.persona
    c = Catalogue("en", community_name="S", persona=persona, overrides={"core.cooldown": "wait {secs}"})
    assert c.t("core.cooldown", seconds=3) == "Slow down a little: try again in 3 seconds."


def test_a_key_missing_in_japanese_falls_back_to_english(monkeypatch):
    persona = load_config(ROOT / "config").community.persona
    c = Catalogue("ja", community_name="S", persona=persona)
    del c.templates["core.cooldown"]
    assert c.t("core.cooldown", seconds=3) == "Slow down a little: try again in 3 seconds."
    with pytest.raises(KeyError):
        c.t("core.no_such_key")


# --- the persona ------------------------------------------------------------------------------

@pytest.mark.parametrize("patch,field,words", [
    ({"name": "Discord Helper"}, "persona.name", "does not allow 'discord' in a webhook name"),
    ({"name": "clyde"}, "persona.name", "does not allow 'clyde'"),
    ({"avatar_url": "http://example.com/a.png"}, "persona.avatar_url", "https://"),
    ({"name": "x" * 81}, "persona.name", "at most 80 characters"),
])
def test_a_persona_discord_would_refuse_fails_check(tmp_path, patch, field, words):
    folder = config_dir_with(tmp_path, {"community.yaml": {"persona": patch}})
    problems = _problems(folder)
    assert len(problems) == 1 and f": {field}: " in problems[0] and words in problems[0], problems
    assert re.match(rf"^{re.escape(str(folder / 'community.yaml'))}:\d+: ", problems[0])


def test_japanese_community_speaks_japanese(tmp_path):
    c = Catalogue.for_config(config_with(tmp_path, {"community.yaml": {"community": {"language": "ja"}}}))
    for key in ("core.not_moderator", "ama.no_session", "stats.bad_period"):
        params = {n: "x" for n in cat.placeholders(c.templates[key]) if n not in cat.SHARED_PLACEHOLDERS}
        assert JAPANESE.search(c.t(key, **params)), key
