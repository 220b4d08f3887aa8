"""participation.yaml: points per action, quiz defaults and speed bonus, prompts, streaks, activity."""
from __future__ import annotations

from typing import Iterator

from pydantic import Field, field_validator

from .base import Key, Model

# Actions the bot awards today; other features add theirs (feedback, event_attend, ama_question).
DEFAULT_POINTS: dict[str, int] = {
    "prompt_answer": 10,
    "quiz_answer": 2,
    "quiz_correct": 10,
    "feedback": 5,
    "event_attend": 20,
    "ama_question": 5,
    "poll_vote": 3,
}

# The ledger actions a streak, a campaign drop's `entries.action` or `points:` may name.
LEDGER_ACTIONS: tuple[str, ...] = tuple(DEFAULT_POINTS)


def unknown_ledger_action(action: str) -> str | None:
    """Why `action` names no ledger action (None when it does)."""
    if action in LEDGER_ACTIONS:
        return None
    return f"unknown participation action {action!r} (known: {', '.join(LEDGER_ACTIONS)})"


class SpeedBonus(Model):
    """Extra points for a right answer: `max` for an instant answer, falling linearly to 0 at the close."""

    max: int = Field(default=10, ge=0, le=1000)
    """Points for an instant right answer, falling to 0 when the question closes."""


class QuizSettings(Model):
    channel: Key = "quiz"
    """The channel key quizzes run in."""
    bank: Key | None = None  # default bank for /quiz start and quiz.start; None = the first file
    """The default quiz bank (a file name in quizzes/, without .yaml)."""
    questions: int = Field(default=5, ge=1, le=25)
    """Questions per quiz."""
    seconds: int = Field(default=30, ge=5, le=600)
    """How long each question stays open."""
    pause_seconds: int = Field(default=5, ge=0, le=300)  # between a reveal and the next question
    """Seconds between an answer reveal and the next question."""
    speed_bonus: SpeedBonus = SpeedBonus()
    """Extra points for fast right answers."""
    typed_tries: int = Field(default=3, ge=1, le=10)
    """Tries each member has at a typed (free-text) question: a wrong answer may be typed again until
    the question closes, a right one counts at once. Choice questions are always one click."""


class PromptSettings(Model):
    channel: Key = "daily-prompt"
    """The channel key daily prompts are posted in."""
    low_pool_threshold: int = Field(default=3, ge=0)  # tell moderators when this many unused remain
    """Tell moderators when only this many unused prompts remain."""
    suggestion_max_length: int = Field(default=300, ge=20, le=1000)
    """The longest /prompt suggest text allowed."""
    suggestion_max_pending: int = Field(default=3, ge=1)  # per member
    """How many suggestions one member may have waiting."""


class StreakSettings(Model):
    """A day counts towards the streak when the member earned any ledger entry of these actions that
    day (in the community's time zone). Empty = every action."""

    actions: tuple[Key, ...] = ()
    """Actions that keep a daily streak alive; empty: any participation."""


class ActivitySettings(Model):
    """Message counts per member per day (no content is read). `channels` empty = every public and
    exclusive channel (threads count for their parent)."""

    channels: tuple[Key, ...] = ()
    """Channel keys whose messages are counted; empty: every public and exclusive channel."""
    flush_seconds: int = Field(default=30, ge=1, le=3600)
    """How often counted activity is written to the database."""
    max_buffered: int = Field(default=20000, ge=100)  # distinct (member, day) pairs before an early flush
    """Write earlier once this many messages are waiting."""


class LeaderboardSettings(Model):
    size: int = Field(default=10, ge=3, le=25)
    """How many members the leaderboard shows."""


class ParticipationFile(Model):
    points: dict[Key, int] = Field(default_factory=lambda: dict(DEFAULT_POINTS))
    """Points per action (prompt_answer, quiz_answer, quiz_correct, feedback, ...)."""
    quiz: QuizSettings = QuizSettings()
    """Quiz defaults: channel, bank, questions, timing, speed bonus."""
    prompts: PromptSettings = PromptSettings()
    """Daily prompts: channel, low-pool warning, suggestions."""
    streaks: StreakSettings = StreakSettings()
    """What keeps a daily streak alive."""
    activity: ActivitySettings = ActivitySettings()
    """Which channels' messages count as activity."""
    leaderboard: LeaderboardSettings = LeaderboardSettings()
    """Leaderboard settings."""

    @field_validator("points")
    @classmethod
    def _with_defaults(cls, points: dict[str, int]) -> dict[str, int]:
        for action, value in points.items():
            if not -1000 <= value <= 10000:
                raise ValueError(f"points for {action!r} must be between -1000 and 10000 (got {value})")
        return DEFAULT_POINTS | dict(points)

    def points_for(self, action: str) -> int:
        return self.points.get(action, 0)

    def references(self, config) -> Iterator[tuple[tuple, str]]:
        channels = config.community.channels
        known = ", ".join(sorted(channels))
        for loc, key in ((("quiz", "channel"), self.quiz.channel), (("prompts", "channel"), self.prompts.channel)):
            if key not in channels:
                yield loc, f"unknown channel key {key!r} (known: {known})"
        for i, key in enumerate(self.activity.channels):
            if key not in channels:
                yield ("activity", "channels", i), f"unknown channel key {key!r} (known: {known})"
        for i, action in enumerate(self.streaks.actions):
            if problem := unknown_ledger_action(action):
                yield ("streaks", "actions", i), problem
        for action in self.points:
            if problem := unknown_ledger_action(action):
                yield ("points", action), problem + ": points for it would never be given"
        banks = config.quizzes
        if self.quiz.bank is not None and self.quiz.bank not in banks:
            yield ("quiz", "bank"), f"unknown quiz bank {self.quiz.bank!r} (files in quizzes/: {', '.join(sorted(banks)) or 'none'})"
