"""prompts.yaml: the pool of daily prompts (question of the day).

Each prompt has a stable `key` (written by the brand team, or derived from its text) so the bot can
remember which prompts it already posted this cycle even when the file is reordered.
"""
from __future__ import annotations

import hashlib

from pydantic import Field, HttpUrl, field_validator, model_validator

from .base import Key, Model


def text_key(text: str) -> str:
    """A stable key for a prompt without one: 'p-' + the first 10 hex digits of sha1(text)."""
    return "p-" + hashlib.sha1(text.strip().encode("utf-8")).hexdigest()[:10]


class Prompt(Model):
    key: Key | None = None  # stable id; defaults to a hash of the text (editing the text makes it "new")
    text: str = Field(min_length=5, max_length=1000)
    image_url: HttpUrl | None = None
    tags: tuple[Key, ...] = ()

    @property
    def id(self) -> str:
        return self.key or text_key(self.text)


class PromptsFile(Model):
    prompts: tuple[Prompt, ...] = ()

    @field_validator("prompts")
    @classmethod
    def _unique(cls, prompts: tuple[Prompt, ...]) -> tuple[Prompt, ...]:
        seen: dict[str, int] = {}
        for i, prompt in enumerate(prompts):
            if prompt.id in seen:
                what = f"key {prompt.key!r}" if prompt.key else "text"
                raise ValueError(f"prompts[{i}] repeats the {what} of prompts[{seen[prompt.id]}];"
                                 " every prompt must be different")
            seen[prompt.id] = i
        return prompts

    @model_validator(mode="after")
    def _no_suggestion_keys(self) -> "PromptsFile":
        for prompt in self.prompts:
            if prompt.key and prompt.key.startswith("s-"):
                raise ValueError(f"prompt key {prompt.key!r}: keys starting with 's-' are kept for approved suggestions")
        return self
