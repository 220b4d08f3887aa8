"""prompts.yaml: the pool of daily prompts (question of the day).

Each prompt has a stable `key` (written by the brand team, or derived from its text) so the bot can
remember which prompts it already posted this cycle even when the file is reordered.
"""
from __future__ import annotations

import hashlib
from typing import Iterator

from pydantic import Field, HttpUrl

from .base import Key, Model


def text_key(text: str) -> str:
    """A stable key for a prompt without one: 'p-' + the first 10 hex digits of sha1(text)."""
    return "p-" + hashlib.sha1(text.strip().encode("utf-8")).hexdigest()[:10]


class Prompt(Model):
    key: Key | None = None  # stable id; defaults to a hash of the text (editing the text makes it "new")
    """An optional stable id; without it, editing the text makes a new prompt."""
    text: str = Field(min_length=5, max_length=1000)
    """The question of the day."""
    image_url: HttpUrl | None = None
    """A picture shown with the prompt."""
    tags: tuple[Key, ...] = ()
    """Labels for your own planning."""

    @property
    def id(self) -> str:
        return self.key or text_key(self.text)


class PromptsFile(Model):
    prompts: tuple[Prompt, ...] = ()
    """The daily prompts; none repeats until every one has been used."""

    def references(self, config) -> Iterator[tuple[tuple, str]]:
        seen: dict[str, int] = {}
        for i, prompt in enumerate(self.prompts):
            if prompt.key and prompt.key.startswith("s-"):
                yield ("prompts", i, "key"), f"keys starting with 's-' are kept for approved suggestions ({prompt.key!r})"
            if prompt.id in seen:
                if prompt.key:
                    yield ("prompts", i, "key"), (f"the key {prompt.key!r} is already used by prompts[{seen[prompt.id]}];"
                                                  " every prompt must be different")
                else:
                    yield ("prompts", i, "text"), (f"the same text as prompts[{seen[prompt.id]}];"
                                                   " every prompt must be different")
            seen.setdefault(prompt.id, i)
