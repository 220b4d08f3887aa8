"""AutoMod: the risk-words keyword rule kept on Discord (/setup and every config reload), and the
mod-log notice when it fires. The rules live in bot/services/automod.py."""
from __future__ import annotations


async def setup(bot) -> None:
    from ._cog import AutoModCog

    await bot.add_cog(AutoModCog(bot))
