"""Membership: /join, /leave, /setup, /community info, /applications, /invite, /tier, and the
persistent Join / I accept / Approve / Deny buttons. The rules live in bot/services/membership/."""
from __future__ import annotations


async def setup(bot) -> None:
    from ._cog import ApplicationsCog, CommunityCog, InviteCog, JoinCog, TierCog

    for cog in (JoinCog, CommunityCog, ApplicationsCog, InviteCog, TierCog):
        await bot.add_cog(cog(bot))
