"""faq.yaml: answers the brand team stands behind. A solved help post can be promoted to an entry
(`/help promote` appends it here); `/help search` and `/help ask` suggest entries before a new post."""
from __future__ import annotations

from typing import Iterator

from pydantic import Field

from .base import Key, Model

QUESTION_MAX = 200
ANSWER_MAX = 1800  # an entry is shown in one message with its question and a line of text


class FaqEntry(Model):
    key: Key
    """The entry's key (unique in the file)."""
    question: str = Field(min_length=1, max_length=QUESTION_MAX)
    """The question as members ask it."""
    answer: str = Field(min_length=1, max_length=ANSWER_MAX)
    """The answer the team stands behind."""
    topic: Key | None = None
    """A topic key of the help forum (help.topics in community.yaml)."""
    keywords: tuple[str, ...] = ()
    """Extra words that should find this entry."""
    source_post: int | None = Field(default=None, gt=0)
    """The help post it was promoted from (written by /help promote)."""


class FaqFile(Model):
    entries: tuple[FaqEntry, ...] = ()
    """The entries, in the order they are shown."""

    def references(self, config) -> Iterator[tuple[tuple, str]]:
        topics = [t.key for t in config.community.help.topics]
        seen: set[str] = set()
        for i, entry in enumerate(self.entries):
            if entry.key in seen:
                yield ("entries", i, "key"), f"FAQ key {entry.key!r} is used twice"
            seen.add(entry.key)
            if entry.topic is not None and entry.topic not in topics:
                yield ("entries", i, "topic"), (f"unknown help topic {entry.topic!r} "
                                                f"(known: {', '.join(topics) or 'none: add help.topics to community.yaml'})")
