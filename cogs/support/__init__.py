"""The help forum: /help ask | solved | search | promote | feedback, the Solved button, the "Mark as
solution" message menu. The rules live in bot/services/support.py; forum events reach it through
cogs/forums.py."""
from __future__ import annotations


async def setup(bot) -> None:
    from ._cog import HelpCog

    await bot.add_cog(HelpCog(bot))
