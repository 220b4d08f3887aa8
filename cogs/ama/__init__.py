"""Guest sessions (AMA): /ama open|ask|upvote|questions|answer|close, the Ask and Upvote buttons.
The rules live in bot/services/ama.py."""
from __future__ import annotations


async def setup(bot) -> None:
    from ._cog import AmaCog

    await bot.add_cog(AmaCog(bot))
