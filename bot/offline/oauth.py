"""Discord's OAuth2 endpoints, faked for the offline dashboard (tests and `playground --web`).

Served on 127.0.0.1 beside the dashboard, answered from the harness's World:
    GET  /signin/{ticket}          a one-time link: "you are signed in to Discord as NAME" (a cookie
                                   on the fake Discord), then on to the dashboard's /login
    GET  /oauth2/authorize         Discord's consent page: with a signed-in user, straight back to the
                                   redirect_uri with a one-time code (as after "Authorize")
    POST /api/oauth2/token         the code (once, with the right client and redirect) -> access token
    GET  /api/users/@me            identify
    GET  /api/users/@me/guilds     guilds: each with the user's permissions there
    GET  /api/users/@me/guilds/{guild_id}/member   guilds.members.read: their roles
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from aiohttp import web

from bot.web import DiscordOAuth

if TYPE_CHECKING:
    from .harness import Harness

USER_COOKIE = "fake_discord_user"
CLIENT_ID = "424242424242424242"
CLIENT_SECRET = "offline-client-secret"


@dataclass
class _Grant:
    user_id: int
    redirect_uri: str


class FakeDiscordOAuth:
    def __init__(self, harness: "Harness") -> None:
        self.g = harness
        self.tickets: dict[str, int] = {}
        self.browser_sessions: dict[str, int] = {}
        self.codes: dict[str, _Grant] = {}
        self.tokens: dict[str, int] = {}
        self.requests: list[str] = []  # "METHOD path" of every call, for tests
        self.base_url = ""
        self._runner: web.AppRunner | None = None

    def client(self) -> DiscordOAuth:
        return DiscordOAuth(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, api_base=f"{self.base_url}/api",
                            authorize_url=f"{self.base_url}/oauth2/authorize")

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/signin/{ticket}", self.signin)
        app.router.add_get("/oauth2/authorize", self.authorize)
        app.router.add_post("/api/oauth2/token", self.token)
        app.router.add_get("/api/users/@me", self.me)
        app.router.add_get("/api/users/@me/guilds", self.guilds)
        app.router.add_get("/api/users/@me/guilds/{guild_id}/member", self.member)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def sign_in_link(self, who, dashboard_url: str) -> str:
        """A one-time link that signs `who` in to the fake Discord, then opens the dashboard."""
        ticket = secrets.token_urlsafe(16)
        self.tickets[ticket] = self.g.user_id(who)
        return f"{self.base_url}/signin/{ticket}?" + urlencode({"next": f"{dashboard_url}/login"})

    # --- the endpoints --------------------------------------------------------------------------------
    async def signin(self, request: web.Request) -> web.Response:
        self.requests.append("GET /signin")
        user_id = self.tickets.pop(request.match_info["ticket"], None)
        if user_id is None:
            return web.Response(status=410, text="This sign-in link was used already or never existed.")
        session = secrets.token_urlsafe(16)
        self.browser_sessions[session] = user_id
        response = web.HTTPFound(request.query.get("next", "/"))
        response.set_cookie(USER_COOKIE, session, httponly=True, samesite="Lax")
        raise response

    async def authorize(self, request: web.Request) -> web.Response:
        self.requests.append("GET /oauth2/authorize")
        q = request.query
        if q.get("client_id") != CLIENT_ID or q.get("response_type") != "code" or not q.get("redirect_uri"):
            return web.Response(status=400, text="invalid_request")
        user_id = self.browser_sessions.get(request.cookies.get(USER_COOKIE, ""))
        if user_id is None:
            return web.Response(status=401, text="Not signed in to the fake Discord: use a sign-in link.")
        code = secrets.token_urlsafe(16)
        self.codes[code] = _Grant(user_id, q["redirect_uri"])
        raise web.HTTPFound(q["redirect_uri"] + "?" + urlencode({"code": code, "state": q.get("state", "")}))

    async def token(self, request: web.Request) -> web.Response:
        self.requests.append("POST /api/oauth2/token")
        form = await request.post()
        grant = self.codes.pop(str(form.get("code", "")), None)
        if (grant is None or form.get("grant_type") != "authorization_code" or form.get("client_id") != CLIENT_ID
                or form.get("client_secret") != CLIENT_SECRET or form.get("redirect_uri") != grant.redirect_uri):
            return web.json_response({"error": "invalid_grant"}, status=400)
        token = secrets.token_urlsafe(24)
        self.tokens[token] = grant.user_id
        return web.json_response({"access_token": token, "token_type": "Bearer", "expires_in": 604800,
                                  "refresh_token": secrets.token_urlsafe(24),
                                  "scope": "identify guilds guilds.members.read"})

    def _user(self, request: web.Request) -> int:
        auth = request.headers.get("Authorization", "")
        user_id = self.tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
        if user_id is None:
            raise web.HTTPUnauthorized(text='{"message": "401: Unauthorized", "code": 0}', content_type="application/json")
        return user_id

    async def me(self, request: web.Request) -> web.Response:
        self.requests.append("GET /api/users/@me")
        return web.json_response(self.g.world.users[self._user(request)].payload())

    async def guilds(self, request: web.Request) -> web.Response:
        self.requests.append("GET /api/users/@me/guilds")
        user_id = self._user(request)
        w = self.g.world
        if user_id not in w.members:
            return web.json_response([])
        perms = self.g.guild_permissions(user_id)
        return web.json_response([{"id": str(w.guild_id), "name": self.g.config.community.info.name, "icon": None,
                                   "owner": False, "permissions": str(perms.value), "features": []}])

    async def member(self, request: web.Request) -> web.Response:
        self.requests.append("GET /api/users/@me/guilds/{guild_id}/member")
        user_id = self._user(request)
        w = self.g.world
        member = w.members.get(user_id)
        if member is None or request.match_info["guild_id"] != str(w.guild_id):
            return web.json_response({"message": "Unknown Guild", "code": 10004}, status=404)
        return web.json_response({"user": w.users[user_id].payload(), "roles": [str(r) for r in member.role_ids],
                                  "nick": member.nick, "joined_at": member.joined_at.isoformat(), "deaf": False,
                                  "mute": False, "flags": 0})


class OfflineDashboard:
    """The dashboard of a harness's bot, signed in through the fake Discord."""

    def __init__(self, harness: "Harness", dashboard, fake: FakeDiscordOAuth) -> None:
        self.g = harness
        self.dashboard = dashboard
        self.fake = fake

    @property
    def url(self) -> str:
        return self.dashboard.base_url

    def sign_in_link(self, who="mod") -> str:
        return self.fake.sign_in_link(who, self.url)

    async def close(self) -> None:
        await self.dashboard.stop()
        await self.fake.close()


async def serve_dashboard(harness: "Harness", *, port: int = 0) -> OfflineDashboard:
    """Serve the harness bot's dashboard on 127.0.0.1 (`port` 0: any free one) against the fake Discord."""
    from bot.web import start_dashboard

    fake = FakeDiscordOAuth(harness)
    await fake.start()
    bot = harness.bot
    try:
        dashboard = await start_dashboard(harness.app, client_id=int(CLIENT_ID), oauth=fake.client(),
                                          moderator_role_id=bot.moderator_role_id, host="127.0.0.1", port=port,
                                          after_write=harness.app.outbox.drain)  # no outbox worker offline
    except BaseException:
        await fake.close()
        raise
    return OfflineDashboard(harness, dashboard, fake)
