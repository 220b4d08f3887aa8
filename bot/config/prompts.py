"""prompts.yaml: the pool of daily prompts (question of the day).

Each prompt has a stable `key` (written by the brand team, or derived from its text) so the bot can
remember which prompts it already posted this cycle even when the file is reordered.
"""
from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Iterator, Literal

from pydantic import Field, HttpUrl, model_validator

from .base import Duration, Key, Model

# Discord's limits for a native poll (docs: Poll object; the OpenAPI spec states 300 for the question
# and at most 10 answers; the answers' 55 is in Discord's documentation and enforced by the API).
POLL_QUESTION_MAX = 300
POLL_ANSWER_MAX = 55
POLL_MIN_ANSWERS, POLL_MAX_ANSWERS = 2, 10
POLL_MAX_DURATION = timedelta(hours=768)  # 32 days, in whole hours
POLL_DEFAULT_DURATION = timedelta(hours=24)


def poll_problems(question: str, answers: tuple[str, ...] | list[str], duration: timedelta | None) -> list[str]:
    """What Discord would refuse in a poll (empty: it is fine). One rule for prompts.yaml, `poll.post`
    and /poll post."""
    problems = []
    if not question.strip():
        problems.append("a poll needs a question")
    if len(question) > POLL_QUESTION_MAX:
        problems.append(f"a poll question is at most {POLL_QUESTION_MAX} characters (this one has {len(question)})")
    if not POLL_MIN_ANSWERS <= len(answers) <= POLL_MAX_ANSWERS:
        problems.append(f"a poll has {POLL_MIN_ANSWERS} to {POLL_MAX_ANSWERS} answers (this one has {len(answers)})")
    for i, answer in enumerate(answers, start=1):
        if not answer.strip():
            problems.append(f"answer {i} is empty")
        elif len(answer) > POLL_ANSWER_MAX:
            problems.append(f"answer {i} is {len(answer)} characters; Discord takes at most {POLL_ANSWER_MAX}")
    seen = [a.strip().casefold() for a in answers]
    if len(set(seen)) != len(seen):
        problems.append("two answers are the same")
    if duration is not None:
        if duration < timedelta(hours=1) or duration > POLL_MAX_DURATION:
            problems.append("a poll stays open between 1 hour and 32 days (768h)")
        elif duration % timedelta(hours=1):
            problems.append("a poll's duration is in whole hours (like 24h or 2d)")
    return problems


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
    kind: Literal["text", "poll"] = "text"
    """text: a question answered in a thread; poll: a Discord poll members vote in."""
    answers: tuple[str, ...] = ()
    """For a poll: 2 to 10 answers (each at most 55 characters)."""
    duration: Duration | None = None
    """For a poll: how long it stays open, in whole hours (default 24h, at most 32 days)."""
    multiselect: bool = False
    """For a poll: members may choose more than one answer."""

    @model_validator(mode="after")
    def _poll_fields(self) -> "Prompt":
        if self.kind == "text":
            if self.answers or self.duration is not None or self.multiselect:
                raise ValueError("answers, duration and multiselect are for `kind: poll`")
            return self
        problems = poll_problems(self.text, self.answers, self.duration)
        if problems:
            raise ValueError("; ".join(problems))
        if self.image_url is not None:
            raise ValueError("a poll cannot show an image: remove image_url")
        return self

    @property
    def poll_duration(self) -> timedelta:
        return self.duration or POLL_DEFAULT_DURATION

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
