"""The schedule actions and the `params:` each one takes, checked when the config loads.

A schedule's `action:` runs a feature (`app.actions.register(name, handler)` in the service). Its
`params:` are declared here, in the config layer, so `python -m bot check` validates them without
loading any service: each action has a frozen params model that rejects unknown keys (a misspelt
`questoins` is an error, not silently ignored), with its own `references(config)` for what it names
in other files (a quiz bank, a content or drop id, a channel key). The schedules file reports their
problems as `schedules.yaml:<line>: schedules[3].params.bank: ...` like every other field.

The handler receives the validated model (`schedule.action_params()`); `Params.of(value)` also
accepts a plain mapping, for callers (tests, `/quiz start`) that build params themselves.
"""
from __future__ import annotations

from typing import Any, Iterator, Literal, Mapping

from pydantic import Field, ValidationError

from .base import Duration, Key, Model

Problem = tuple[tuple, str]


class ActionParams(Model):
    """The params of one action. Subclasses add fields and their cross-file `references`."""

    @classmethod
    def of(cls, value: "ActionParams | Mapping[str, Any] | None"):
        """`value` as this model: as is when it already is one, else validated from the mapping."""
        if isinstance(value, cls):
            return value
        return cls.model_validate(dict(value or {}))

    def references(self, config) -> Iterator[Problem]:
        return iter(())


def _channel(config, field: str, key: str | None, default: bool = False) -> Iterator[Problem]:
    channels = config.community.channels
    if key is not None and key not in channels:
        yield (field,), (f"unknown channel key {key!r}{' (the default: set `channel:`)' if default else ''}"
                         f" (known: {', '.join(sorted(channels))})")


class PromptPostParams(ActionParams):
    """`prompt.post`: today's daily prompt."""

    channel: Key | None = Field(default=None, description="channel key; default participation prompts.channel")

    def references(self, config) -> Iterator[Problem]:
        yield from _channel(config, "channel", self.channel)


class QuizStartParams(ActionParams):
    """`quiz.start`: a quiz from a bank in quizzes/ (defaults: participation.yaml `quiz:`)."""

    bank: Key | None = Field(default=None, description="a file stem in quizzes/; default participation quiz.bank")
    questions: int | None = Field(default=None, ge=1, le=25, description="questions asked (1-25)")
    seconds: int | None = Field(default=None, ge=5, le=600, description="seconds each question stays open")
    channel: Key | None = Field(default=None, description="channel key; default participation quiz.channel")

    def references(self, config) -> Iterator[Problem]:
        banks = config.quizzes
        if self.bank is not None and self.bank not in banks:
            yield ("bank",), (f"unknown quiz bank {self.bank!r} "
                              f"(files in quizzes/: {', '.join(sorted(banks)) or 'none'})")
        elif self.bank is None and not banks:
            yield (), "there is no quiz bank to start: add a file to quizzes/"
        yield from _channel(config, "channel", self.channel)


class ContentRevealParams(ActionParams):
    """`content.reveal`: the content item `id`; without one, the next item that has no `at:`."""

    id: Key | None = Field(default=None, description="a content id of content.yaml")

    def references(self, config) -> Iterator[Problem]:
        items = config.content.content
        if self.id is None:
            if not any(item.at is None for item in items):
                yield (), ("nothing to reveal: content.reveal without `id:` reveals the next item of "
                           "content.yaml that has no `at:`, and there is none")
            return
        item = next((c for c in items if c.id == self.id), None)
        if item is None:
            yield ("id",), f"unknown content id {self.id!r} (known: {', '.join(c.id for c in items) or 'none'})"
        elif item.at is not None:
            yield ("id",), (f"content {self.id!r} has its own `at:` and is revealed then; remove its `at:` "
                            "to time it from this schedule")


class DropOpenParams(ActionParams):
    """`drop.open`: open the drop `id` (a drop without its own `opens:`)."""

    id: Key = Field(description="a drop id of drops.yaml")

    def references(self, config) -> Iterator[Problem]:
        drops = config.drops.drops
        drop = next((d for d in drops if d.id == self.id), None)
        if drop is None:
            yield ("id",), f"unknown drop id {self.id!r} (known: {', '.join(d.id for d in drops) or 'none'})"
        elif drop.opens is not None:
            yield ("id",), (f"drop {self.id!r} has its own `opens:` and opens then; remove its `opens:` "
                            "to open it from this schedule")


class FeedbackDigestParams(ActionParams):
    """`feedback.digest`: the feedback of the last `days` days."""

    days: int = Field(default=7, ge=1, le=365, description="days covered (1-365)")
    channel: Key | None = Field(default=None, description="channel key; default community feedback.channel")

    def references(self, config) -> Iterator[Problem]:
        yield from _channel(config, "channel", self.channel)


class StatsDigestParams(ActionParams):
    """`stats.digest`: the community's health over the past week or month, with a chart."""

    period: Literal["week", "month"] = "week"
    channel: Key | None = Field(default=None, description="channel key; default the mod-log")

    def references(self, config) -> Iterator[Problem]:
        yield from _channel(config, "channel", self.channel)


class AmaAnnounceParams(ActionParams):
    """`ama.announce`: an upcoming session (`topic`, optional `guest`, `when`) or the open one."""

    channel: Key = Field(default="announcements", description="channel key")
    topic: str | None = Field(default=None, min_length=1, max_length=200)
    guest: str | None = Field(default=None, min_length=1, max_length=100)
    when: str | None = Field(default=None, min_length=1, max_length=100)

    def references(self, config) -> Iterator[Problem]:
        yield from _channel(config, "channel", self.channel, default="channel" not in self.model_fields_set)


class PollPostParams(ActionParams):
    """`poll.post`: a Discord poll, either a `kind: poll` prompt of prompts.yaml (`prompt`) or the one
    written here (`question`, `answers`, `duration`, `multiselect`)."""

    prompt: Key | None = Field(default=None, description="the key of a `kind: poll` prompt in prompts.yaml")
    question: str | None = Field(default=None, min_length=1, description="the poll's question (at most 300)")
    answers: tuple[str, ...] = Field(default=(), description="2 to 10 answers (each at most 55 characters)")
    duration: Duration | None = Field(default=None, description="how long it stays open, whole hours (default 24h)")
    multiselect: bool = False
    channel: Key | None = Field(default=None, description="channel key; default participation prompts.channel")

    def references(self, config) -> Iterator[Problem]:
        from .prompts import poll_problems

        yield from _channel(config, "channel", self.channel)
        if self.prompt is not None:
            if self.question is not None or self.answers:
                yield ("prompt",), "give `prompt:` (a poll of prompts.yaml) or `question:` and `answers:`, not both"
                return
            prompt = next((p for p in config.prompts.prompts if p.key == self.prompt), None)
            if prompt is None:
                known = [p.key for p in config.prompts.prompts if p.kind == "poll" and p.key]
                yield ("prompt",), f"unknown prompt key {self.prompt!r} (polls: {', '.join(known) or 'none'})"
            elif prompt.kind != "poll":
                yield ("prompt",), f"prompt {self.prompt!r} is not a poll (give it `kind: poll` and answers)"
            return
        if self.question is None:
            yield (), "give `prompt:` (a poll of prompts.yaml) or `question:` and `answers:`"
            return
        for problem in poll_problems(self.question, self.answers, self.duration):
            field = ("answers",) if "answer" in problem else ("duration",) if "open" in problem or "hours" in problem \
                else ("question",)
            yield field, problem


ACTIONS: dict[str, type[ActionParams]] = {
    "prompt.post": PromptPostParams,
    "quiz.start": QuizStartParams,
    "content.reveal": ContentRevealParams,
    "drop.open": DropOpenParams,
    "feedback.digest": FeedbackDigestParams,
    "stats.digest": StatsDigestParams,
    "ama.announce": AmaAnnounceParams,
    "poll.post": PollPostParams,
}

KNOWN_ACTIONS: tuple[str, ...] = tuple(ACTIONS)


def params_problems(action: str, params: Mapping[str, Any], config) -> Iterator[Problem]:
    """What is wrong with `params` for `action` (locations relative to `params`)."""
    model = ACTIONS[action]
    try:
        typed = model.of(params)
    except ValidationError as exc:
        from .loader import error_message

        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not _internal(p))
            yield loc, error_message(model, loc, err)
        return
    yield from typed.references(config)


def _internal(part: Any) -> bool:
    return isinstance(part, str) and ("[" in part or part in {"str", "int", "float", "bool", "list", "dict"})
