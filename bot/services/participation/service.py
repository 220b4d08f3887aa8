"""The participation facade other features and the cogs use: `app.participation`."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from .activity import ActivityCounter
from .ledger import Board, Ledger, Profile, Streak
from .polls import PollService
from .prompts import PromptService
from .quiz import QuizService

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)


class ParticipationService:
    def __init__(self, app: "App") -> None:
        self.app = app
        self.ledger = Ledger(app)
        self.activity = ActivityCounter(app)
        self.prompts = PromptService(app, self.ledger)
        self.quiz = QuizService(app, self.ledger)
        self.polls = PollService(app, self.ledger)
        # the hot path (every guild message): bound straight to the counter, no extra call layer
        self.record_message = self.activity.record_message
        # registered at build time so the schedules feature (built after us) can validate against them
        app.actions.register("prompt.post", self.prompts.action_post)
        app.actions.register("quiz.start", self.quiz.action_start)
        app.actions.register("poll.post", self.polls.action_post, keyed=True)

    async def start(self) -> None:
        self._feed_membership()
        await self.prompts.start()
        await self.quiz.start()
        await self.polls.start()

    async def stop(self) -> None:
        await self.quiz.stop()
        await self.activity.stop()

    async def config_changed(self, config) -> None:
        """A reload: the activity counter keeps what it buffered and follows the new channel list."""
        self.activity.config_changed()

    # --- for other features (feedback, ama, events) --------------------------------------------
    async def award(self, guild_id: int, user_id: int, action: str, ref: str, points: int | None = None) -> int | None:
        """Points for `action` on `ref`, counted once per member. None when already counted."""
        return await self.ledger.award(guild_id, user_id, action, ref, points)

    async def points(self, guild_id: int, user_id: int, window_days: int | None = None) -> int:
        return await self.ledger.points(guild_id, user_id, window_days)

    async def streak(self, guild_id: int, user_id: int) -> Streak:
        return await self.ledger.streak(guild_id, user_id)

    async def current_streak(self, guild_id: int, user_id: int) -> int:
        return (await self.ledger.streak(guild_id, user_id)).current

    async def leaderboard(self, guild_id: int, period: str = "week") -> Board:
        return await self.ledger.leaderboard(guild_id, period)

    async def profile(self, guild_id: int, user_id: int) -> Profile:
        return await self.ledger.profile(guild_id, user_id)

    async def action_counts(self, guild_id: int, action: str, since: datetime, until: datetime) -> dict[int, int]:
        """Ledger rows per member of one action in [since, until] (a drop campaign's entries)."""
        return await self.ledger.action_counts(guild_id, action, since, until)

    # --- activity (from on_message; no content) ------------------------------------------------
    # record_message(guild_id, user_id, channel_id, at) -> None: see ActivityCounter.record_message

    async def flush_activity(self) -> int:
        return await self.activity.flush()

    # --- membership tiers ------------------------------------------------------------------------
    def _feed_membership(self) -> None:
        """Tier rules (points in a window, streak) read our ledger (membership is built first)."""
        self.app.membership.set_points_provider(self.points)
        self.app.membership.set_streak_provider(self.current_streak)
