"""Who may open the dashboard: the configured moderator role, or Manage Server (Administrator and the
owner have it). Asked twice, with one rule: at sign-in from Discord's OAuth2 answer (`_oauth.Identity`),
and at every request after that from the bot's own view of the server (GuildPort.member_standing: the
gateway's member cache, in memory, so nothing is cached here: a role taken away, Manage Server
unticked, a member who left or was banned is refused at the very next request)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._session import Session

if TYPE_CHECKING:
    from bot.app import App

MODERATOR_ROLE = "moderator_role"
MANAGE_SERVER = "manage_server"
LEFT = "left"            # not on the server any more: left, kicked or banned
NOT_ALLOWED = "not_allowed"  # neither, and the session does not say how they got in (an older cookie)
UNKNOWN = "unknown"      # the bot cannot read the server now: the door stays shut, nobody is blamed

# the catalogue key (web.*) of the page each refusal shows
EXPLANATION = {MODERATOR_ROLE: "access_ended_moderator_role", MANAGE_SERVER: "access_ended_manage_server",
               LEFT: "access_ended_left", NOT_ALLOWED: "refused", UNKNOWN: "access_unknown"}


def way_in(*, manages_server: bool, moderator: bool) -> str | None:
    """How someone gets in (Manage Server first: it does not depend on the config), or None."""
    if manages_server:
        return MANAGE_SERVER
    if moderator:
        return MODERATOR_ROLE
    return None


@dataclass(frozen=True)
class Verdict:
    via: str | None = None     # how the person is in now; None: refused
    refused: str | None = None  # why: MODERATOR_ROLE / MANAGE_SERVER (the way in they lost), LEFT, ...

    @property
    def status(self) -> int:
        return 503 if self.refused == UNKNOWN else 403


async def standing_verdict(app: "App", session: Session) -> Verdict:
    """Whether the signed-in person may still use the dashboard, as the server has it now."""
    port = app.guild
    standing = await port.member_standing(app.guild_id, session.user_id) if port and app.guild_id else None
    if standing is None:
        return Verdict(refused=UNKNOWN)
    if not standing.present:
        return Verdict(refused=LEFT)
    via = way_in(manages_server=standing.manages_server,
                 moderator=app.config.community.moderation.moderator_role in standing.role_keys)
    if via is not None:
        return Verdict(via=via)
    return Verdict(refused=session.via if session.via in (MODERATOR_ROLE, MANAGE_SERVER) else NOT_ALLOWED)
