"""Participation: daily prompts, quizzes, one points ledger with streaks and leaderboards, and activity
counts. `build(app)` gives `app.participation` (a ParticipationService)."""
from __future__ import annotations

from .service import ParticipationService


def build(app) -> ParticipationService:
    return ParticipationService(app)


__all__ = ["ParticipationService", "build"]
