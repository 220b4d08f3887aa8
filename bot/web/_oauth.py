"""Discord's OAuth2 authorization-code flow, as the dashboard's sign-in.

Scopes: `identify` (who), `guilds` (their permissions in the community's server: Manage Server gets in)
and `guilds.members.read` (their roles there: the moderator role gets in). The token is used once, at
sign-in, then forgotten; the session keeps only the id, name and avatar. Offline, `api_base` and
`authorize_url` point at the harness's fake Discord (bot/offline/oauth.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

import aiohttp

from ._access import way_in

DISCORD_API = "https://discord.com/api/v10"
DISCORD_AUTHORIZE = "https://discord.com/oauth2/authorize"
SCOPES = "identify guilds guilds.members.read"
ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5


class OAuthError(Exception):
    """Discord refused the code or a look-up (the person sees "sign-in failed")."""


@dataclass(frozen=True)
class Identity:
    user_id: int
    name: str
    avatar_url: str | None
    in_guild: bool
    owner: bool
    permissions: int  # in the community's server, as Discord computed them
    role_ids: tuple[int, ...]

    def way_in(self, moderator_role_id: int | None) -> str | None:
        """How they get in (bot/web/_access.py, the rule every request asks again): Manage Server (or the
        owner, or Administrator), else the configured moderator role; None: not at all."""
        if not self.in_guild:
            return None
        return way_in(manages_server=self.owner or bool(self.permissions & (ADMINISTRATOR | MANAGE_GUILD)),
                      moderator=moderator_role_id is not None and moderator_role_id in self.role_ids)

    def may_enter(self, moderator_role_id: int | None) -> bool:
        """Only moderators (the configured role) and members with Manage Server (or the owner)."""
        return self.way_in(moderator_role_id) is not None


class DiscordOAuth:
    def __init__(self, *, client_id: int | str, client_secret: str, api_base: str = DISCORD_API,
                 authorize_url: str = DISCORD_AUTHORIZE) -> None:
        self.client_id = str(client_id)
        self.client_secret = client_secret
        self.api_base = api_base.rstrip("/")
        self.authorize_base = authorize_url

    def authorize_url(self, redirect_uri: str, state: str) -> str:
        return self.authorize_base + "?" + urlencode({
            "client_id": self.client_id, "response_type": "code", "redirect_uri": redirect_uri,
            "scope": SCOPES, "state": state, "prompt": "none"})

    async def identify(self, code: str, redirect_uri: str, guild_id: int) -> Identity:
        timeout = aiohttp.ClientTimeout(total=15)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            token = await self._json(http.post(f"{self.api_base}/oauth2/token", data={
                "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                "client_id": self.client_id, "client_secret": self.client_secret}))
            if not isinstance(token, dict) or "access_token" not in token:
                raise OAuthError("no access token")
            auth = {"Authorization": f"Bearer {token['access_token']}"}
            me = await self._json(http.get(f"{self.api_base}/users/@me", headers=auth))
            guilds = await self._json(http.get(f"{self.api_base}/users/@me/guilds", headers=auth))
            guild = next((g for g in guilds if str(g.get("id")) == str(guild_id)), None)
            roles: tuple[int, ...] = ()
            if guild is not None:
                member = await self._json(http.get(f"{self.api_base}/users/@me/guilds/{guild_id}/member",
                                                   headers=auth))
                roles = tuple(int(r) for r in member.get("roles", ()))
        user_id = int(me["id"])
        avatar = (f"https://cdn.discordapp.com/avatars/{user_id}/{me['avatar']}.png?size=64"
                  if me.get("avatar") else None)
        return Identity(user_id, me.get("global_name") or me.get("username") or str(user_id), avatar,
                        guild is not None, bool(guild and guild.get("owner")),
                        int(guild.get("permissions", 0)) if guild else 0, roles)

    @staticmethod
    async def _json(request):
        try:
            async with request as resp:
                if resp.status >= 400:
                    raise OAuthError(f"Discord answered {resp.status}")
                return await resp.json()
        except aiohttp.ClientError as exc:
            raise OAuthError(str(exc)) from exc
