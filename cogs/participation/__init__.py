"""Participation: /prompt, /quiz, /poll, /leaderboard and /me, quiz answer and suggestion buttons, and the
message listener (activity counts, prompt answers). The rules live in bot/services/participation/."""
from __future__ import annotations


async def setup(bot) -> None:
    from ._activity import ActivityListener
    from ._leaderboard import LeaderboardCog
    from ._polls import PollCog
    from ._prompts import PromptCog
    from ._quiz import QuizCog

    await bot.add_cog(PromptCog(bot))
    await bot.add_cog(QuizCog(bot))
    await bot.add_cog(LeaderboardCog(bot))
    await bot.add_cog(ActivityListener(bot))
    await bot.add_cog(PollCog(bot))
