"""Feedback: /feedback send|mine|show|export, the "Send as feedback" menu, triage and upvote buttons,
👍/👎 votes on announcements. The rules live in bot/services/feedback.py."""
from __future__ import annotations


async def setup(bot) -> None:
    from ._cog import FeedbackCog

    await bot.add_cog(FeedbackCog(bot))
