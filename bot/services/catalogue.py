"""The message catalogue: every member-facing text, by key, in the community's language.

Templates live in `bot/locales/<lang>/<area>.yaml` as `key: template`; the full key is `<area>.<key>`.
A template may use its own parameters plus `{community.name}` and `{persona.name}`,
`{persona.greeting}`, `{persona.sign_off}`. Brand teams override any key under `messages:` in
community.yaml; `check` rejects unknown keys and placeholders the message does not provide.
Every key exists in every language with the same placeholders (`consistency_problems`, tested).

Counts: `{count:plural:winner:winners}` writes the number and the form the language's plural rule
picks ("1 winner", "0 winners", "12 winners"); the forms are `one:other` and may not contain ":".
Japanese has no plural forms: write `{count}人` (the rule always picks `other` there).
"""
from __future__ import annotations

import logging
import string
from functools import lru_cache
from importlib import resources
from types import SimpleNamespace
from typing import Any, Iterator, Mapping

import yaml

from bot.config.schedules import format_spec_problem

log = logging.getLogger(__name__)

LANGUAGES = ("en", "ja")
SHARED_PLACEHOLDERS = ("community", "persona")
# the attributes each shared placeholder offers: {persona.name} works, {persona.age} does not
SHARED_ATTRIBUTES = {"community": ("name",), "persona": ("name", "greeting", "sign_off")}


# --- plural forms: one grammar, `{name:plural:one:other}` -------------------------------------------
PLURAL = "plural:"
PLURAL_RULES = {"en": lambda n: n == 1, "ja": lambda n: False}  # language -> "is this count the `one` form?"


def plural_problem(spec: str) -> str | None:
    """Why a `plural:` format spec is malformed (None when fine, or not a plural spec)."""
    if not spec.startswith(PLURAL):
        return None
    forms = spec[len(PLURAL):].split(":")
    if len(forms) != 2 or not all(f.strip() for f in forms):
        return (f"plural needs two forms, one and other, like {{count:plural:winner:winners}}"
                f" (got {spec!r})")
    return None


def spec_problem(spec: str) -> str | None:
    """Why the format spec of a catalogue placeholder is refused: a `plural:one:other`, or a standard
    spec as schedules allow (`>3`, `,`), or None."""
    return plural_problem(spec) if spec.startswith(PLURAL) else format_spec_problem(spec)


class _PluralFormatter(string.Formatter):
    def __init__(self, language: str) -> None:
        self.is_one = PLURAL_RULES[language]

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec.startswith(PLURAL):
            if plural_problem(format_spec):
                raise ValueError(plural_problem(format_spec))
            one, other = format_spec[len(PLURAL):].split(":")
            try:
                is_one = self.is_one(float(value))
            except (TypeError, ValueError):
                is_one = False
            return f"{value} {one if is_one else other}"
        return super().format_field(value, format_spec)


def specs(template: str) -> list[str]:
    """Every format spec in the template: '{count:plural:a:b} {x}' -> ['plural:a:b']."""
    return [spec for _, field, spec, _ in string.Formatter().parse(template) if field is not None and spec]


@lru_cache(maxsize=None)
def builtin(language: str) -> dict[str, str]:
    folder = resources.files("bot") / "locales" / language
    out: dict[str, str] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        area = entry.name[: -len(".yaml")]
        data = yaml.safe_load(entry.read_text(encoding="utf-8")) or {}
        for key, template in data.items():
            out[f"{area}.{key}"] = str(template)
    return out


def fields(template: str) -> set[str]:
    """Every replacement field as written: '{persona.name} {count:>3}' -> {'persona.name', 'count'}.
    Raises ValueError on a broken template (an unmatched brace)."""
    out = set()
    for _, field, _, _ in string.Formatter().parse(template):
        if field is not None:
            out.add(field)
    return out


def placeholders(template: str) -> set[str]:
    """Top-level names a template uses: '{persona.name} {count}' -> {'persona', 'count'}."""
    return {f.split(".")[0].split("[")[0] for f in fields(template)}


def _field_problem(field: str, allowed: set[str]) -> str | None:
    name = field.split(".")[0].split("[")[0]
    if name == "" or name.isdigit():
        return "positional placeholders like {} or {0} are not allowed: use a name from the list"
    if name not in allowed:
        return f"placeholder {{{name}}} is not available in this message"
    if name in SHARED_ATTRIBUTES:
        rest = field[len(name):]
        attrs = SHARED_ATTRIBUTES[name]
        if not rest.startswith(".") or rest[1:] not in attrs:
            return (f"placeholder {{{field}}} does not exist; use "
                    + ", ".join("{" + f"{name}.{a}" + "}" for a in attrs))
    elif field != name:
        return f"placeholder {{{field}}}: only plain names work here, like {{{name}}}"
    return None


def override_problems(overrides: Mapping[str, str]) -> Iterator[tuple[str, str]]:
    """(key, problem) for every override that names no message or uses a placeholder it may not."""
    known = builtin("en")
    for key, template in overrides.items():
        if key not in known:
            near = sorted(k for k in known if k.split(".")[0] == key.split(".")[0])
            hint = f" (keys in {key.split('.')[0]!r}: {', '.join(near[:8])}{', ...' if len(near) > 8 else ''})" \
                if near else ""
            yield key, f"unknown message key {key!r}{hint}"
            continue
        allowed = placeholders(known[key]) | set(SHARED_PLACEHOLDERS)
        try:
            used = fields(template)
        except ValueError as exc:
            yield key, f"broken template: {exc} (write {{{{ and }}}} for literal braces)"
            continue
        for field in sorted(used):
            problem = _field_problem(field, allowed)
            if problem:
                yield key, (f"{problem} (available: {', '.join('{' + a + '}' for a in sorted(allowed))})")
                break
        else:
            for _, field, spec, _ in string.Formatter().parse(template):
                if field is None or not spec:
                    continue
                problem = spec_problem(spec)
                if problem:
                    yield key, f"placeholder {{{field}}}: {problem}"
                    break


def consistency_problems() -> list[str]:
    """Every key must exist in every language, with the same placeholders, and format cleanly."""
    problems = []
    catalogues = {lang: builtin(lang) for lang in LANGUAGES}
    all_keys = sorted(set().union(*catalogues.values()))
    for key in all_keys:
        missing = [lang for lang, c in catalogues.items() if key not in c]
        if missing:
            problems.append(f"{key}: missing in {', '.join(missing)}")
            continue
        used = {}
        for lang, c in catalogues.items():
            try:
                used[lang] = fields(c[key])
            except ValueError as exc:
                problems.append(f"{key} ({lang}): broken template: {exc}")
                continue
            bad = [p for f in used[lang] if (p := _field_problem(f, placeholders(c[key])))]
            bad += [p for s in specs(c[key]) if (p := plural_problem(s))]
            if bad:
                problems.append(f"{key} ({lang}): {bad[0]}")
        if len(used) == len(LANGUAGES) and len({frozenset(u) for u in used.values()}) > 1:
            shown = "; ".join(f"{lang}: {', '.join(sorted(u)) or 'none'}" for lang, u in used.items())
            problems.append(f"{key}: placeholders differ between languages ({shown})")
    return problems


class Catalogue:
    def __init__(self, language: str, *, community_name: str, persona: Any,
                 overrides: Mapping[str, str] | None = None) -> None:
        if language not in LANGUAGES:
            raise ValueError(f"no catalogue for language {language!r}")
        self.language = language
        self.templates = dict(builtin(language)) | dict(overrides or {})
        self._plural = _PluralFormatter(language)
        self.shared = {
            "community": SimpleNamespace(name=community_name),
            "persona": SimpleNamespace(
                name=persona.name, greeting=persona.greeting, sign_off=persona.sign_off,
            ),
        }

    @classmethod
    def for_config(cls, config) -> "Catalogue":
        c = config.community
        return cls(c.community.language, community_name=c.community.name, persona=c.persona,
                   overrides=c.messages)

    def t(self, key: str, /, **params: Any) -> str:
        template = self.templates.get(key)
        if template is None:
            # a key missing in this language (the catalogue test fails on it) still says something
            template = builtin("en").get(key)
            if template is None:
                raise KeyError(f"message key {key!r} is not in the {self.language} catalogue")
            log.warning("message %s is missing in %s; using en", key, self.language)
        try:
            return self._format(template, params)
        except (KeyError, AttributeError, IndexError, ValueError, TypeError):
            builtin_template = builtin(self.language).get(key) or builtin("en").get(key)
            if builtin_template is None or builtin_template == template:
                raise
            # an override `check` should have refused: the shipped text rather than an error
            log.warning("override of %s does not format; using the shipped text", key)
            return self._format(builtin_template, params)

    def _format(self, template: str, params: Mapping[str, Any]) -> str:
        if PLURAL in template:  # the plural formatter is pure Python: only where a template counts
            return self._plural.vformat(template, (), {**self.shared, **params})
        return template.format(**self.shared, **params)

    def format(self, key: str, /, **params: Any) -> str:
        """Key `key` rendered exactly as written (an override that does not format raises, where `t`
        would fall back to the shipped text): what `check`'s dry run renders."""
        return self._format(self.templates[key], params)

    def has(self, key: str) -> bool:
        return key in self.templates
