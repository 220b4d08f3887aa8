"""The message catalogue: every member-facing text, by key, in the community's language.

Templates live in `bot/locales/<lang>/<area>.yaml` as `key: template`; the full key is `<area>.<key>`.
A template may use its own parameters plus `{community.name}` and `{persona.name}`,
`{persona.greeting}`, `{persona.sign_off}`. Brand teams override any key under `messages:` in
community.yaml; `check` rejects unknown keys and placeholders the message does not provide.
"""
from __future__ import annotations

import string
from functools import lru_cache
from importlib import resources
from types import SimpleNamespace
from typing import Any, Iterator, Mapping

import yaml

LANGUAGES = ("en", "ja")
SHARED_PLACEHOLDERS = ("community", "persona")


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


def placeholders(template: str) -> set[str]:
    """Top-level names a template uses: '{persona.name} {count}' -> {'persona', 'count'}."""
    names = set()
    for _, field, _, _ in string.Formatter().parse(template):
        if field:
            names.add(field.split(".")[0].split("[")[0])
    return names


def override_problems(overrides: Mapping[str, str]) -> Iterator[tuple[str, str]]:
    """(key, problem) for every override that names no message or uses a placeholder it may not."""
    known = builtin("en")
    for key, template in overrides.items():
        if key not in known:
            yield key, f"unknown message key {key!r}"
            continue
        allowed = placeholders(known[key]) | set(SHARED_PLACEHOLDERS)
        try:
            used = placeholders(template)
        except ValueError as exc:
            yield key, f"broken template: {exc}"
            continue
        extra = sorted(used - allowed)
        if extra:
            yield key, (f"placeholder {{{extra[0]}}} is not available in this message"
                        f" (available: {', '.join('{' + a + '}' for a in sorted(allowed))})")


class Catalogue:
    def __init__(self, language: str, *, community_name: str, persona: Any,
                 overrides: Mapping[str, str] | None = None) -> None:
        if language not in LANGUAGES:
            raise ValueError(f"no catalogue for language {language!r}")
        self.language = language
        self.templates = dict(builtin(language)) | dict(overrides or {})
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

    def t(self, key: str, **params: Any) -> str:
        try:
            template = self.templates[key]
        except KeyError:
            raise KeyError(f"message key {key!r} is not in the {self.language} catalogue") from None
        return template.format(**self.shared, **params)

    def has(self, key: str) -> bool:
        return key in self.templates
