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

Held to Discord's OpenAPI document like every other harness request (bot/offline/spec.py): the scopes
asked for must be scopes of the document's authorizationCode flow; an API call must be an operation of
the document, with a token holding the scopes its `security` names; every answer (errors included) is
validated against the operation's response schema. The token endpoint itself is not an operation of the
document (only its URL under components.securitySchemes): its form and answer follow RFC 6749 (4.1.3,
5.1, 5.2) as Discord's OAuth2 documentation describes them, and the scopes it grants are checked
against the document. Whatever breaks them is a SpecViolation in the harness's list (the test fails,
as with the bot's own requests) and the fake refuses, rather than passing a wrong answer on.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from bot.web import DiscordOAuth

from .spec import SpecViolation

if TYPE_CHECKING:
    from .harness import Harness

USER_COOKIE = "fake_discord_user"
CLIENT_ID = "424242424242424242"
CLIENT_SECRET = "offline-client-secret"
API = "/api"

# RFC 6749 5.1 as Discord's documentation shows it ("Access Token Response"): the document has no schema
TOKEN_ANSWER = {
    "type": "object", "additionalProperties": False,
    "required": ["access_token", "token_type", "expires_in", "refresh_token", "scope"],
    "properties": {"access_token": {"type": "string", "minLength": 1}, "token_type": {"const": "Bearer"},
                   "expires_in": {"type": "integer", "minimum": 1}, "refresh_token": {"type": "string", "minLength": 1},
                   "scope": {"type": "string", "minLength": 1}}}
TOKEN_ERROR = {  # RFC 6749 5.2
    "type": "object", "required": ["error"],
    "properties": {"error": {"enum": ["invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
                                      "unsupported_grant_type", "invalid_scope"]},
                   "error_description": {"type": "string"}}}
FORM = "application/x-www-form-urlencoded"


@dataclass
class _Grant:
    user_id: int
    redirect_uri: str
    scopes: frozenset[str]


@dataclass
class _Token:
    user_id: int
    scopes: frozenset[str]


class FakeDiscordOAuth:
    def __init__(self, harness: "Harness") -> None:
        self.g = harness
        self.spec = harness.spec
        self.tickets: dict[str, int] = {}
        self.browser_sessions: dict[str, int] = {}
        self.codes: dict[str, _Grant] = {}
        self.tokens: dict[str, _Token] = {}
        self.requests: list[str] = []  # "METHOD path" of every call, for tests
        self.checked: set[str] = set()  # "METHOD operation" checked against the spec and found right
        self.checked_answers: set[str] = set()  # ... with the status answered ("GET /users/@me 200")
        self.base_url = ""
        self._runner: web.AppRunner | None = None

    def client(self) -> DiscordOAuth:
        return DiscordOAuth(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, api_base=f"{self.base_url}{API}",
                            authorize_url=f"{self.base_url}/oauth2/authorize")

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/signin/{ticket}", self.signin)
        app.router.add_get("/oauth2/authorize", self.authorize)
        app.router.add_post(API + self._flow_path("tokenUrl"), self.token)
        app.router.add_get(API + "/users/@me", self.me)
        app.router.add_get(API + "/users/@me/guilds", self.guilds)
        app.router.add_get(API + "/users/@me/guilds/{guild_id}/member", self.member)
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

    # --- the spec ---------------------------------------------------------------------------------------
    def _flow_path(self, url: str) -> str:
        """The path of the document's tokenUrl (or authorizationUrl) under Discord's /api."""
        found = self.spec.oauth_flow().get(url) or f"https://discord.com/api/oauth2/{url[:-3].lower()}"
        return urlsplit(found).path.removeprefix(API)

    def _violation(self, method: str, path: str, problems: list[str], body: Any = None) -> None:
        self.g.fake.violations.append(SpecViolation(method, path, problems, body))

    def _scope_problems(self, scopes: list[str], where: str) -> list[str]:
        known = set(self.spec.oauth_flow().get("scopes", {}))
        return [f"{where}: {s!r} is not an OAuth2 scope Discord has" for s in scopes if known and s not in known]

    def _answer(self, method: str, operation: str, status: int, body: Any) -> web.Response:
        """Answer as Discord would, once the answer passed the document's response schema."""
        problems = self.spec.response_problems(method, operation, status, body)
        if problems:
            self._violation(method, operation, [f"the fake's {status} answer: {p}" for p in problems], body)
            return web.Response(status=500, text="the fake Discord's answer breaks the spec:\n" + "\n".join(problems))
        self.checked.add(f"{method} {operation}")
        self.checked_answers.add(f"{method} {operation} {status}")
        return web.json_response(body, status=status)

    def _token_answer(self, status: int, body: dict[str, Any]) -> web.Response:
        from jsonschema import Draft202012Validator

        schema = TOKEN_ANSWER if status == 200 else TOKEN_ERROR
        problems = [f"{e.json_path}: {e.message}" for e in Draft202012Validator(schema).iter_errors(body)]
        if status == 200 and isinstance(body.get("scope"), str):
            problems += self._scope_problems(body["scope"].split(), "$.scope")
        operation = self._flow_path("tokenUrl")
        if problems:
            self._violation("POST", operation, [f"the fake's {status} answer: {p}" for p in problems], body)
            return web.Response(status=500, text="the fake Discord's token answer is wrong:\n" + "\n".join(problems))
        self.checked.add(f"POST {operation}")
        self.checked_answers.add(f"POST {operation} {status}")
        return web.json_response(body, status=status)

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
        scopes = q.get("scope", "").split()
        problems = self._scope_problems(scopes, "scope") or ([] if scopes else ["scope: no scope asked for"])
        if q.get("prompt") not in (None, "none", "consent"):
            problems.append(f"prompt: {q['prompt']!r} is not none or consent")
        if problems:
            self._violation("GET", "/oauth2/authorize", problems, dict(q))
            return web.Response(status=400, text="invalid_scope")
        self.checked.add("GET /oauth2/authorize")
        user_id = self.browser_sessions.get(request.cookies.get(USER_COOKIE, ""))
        if user_id is None:
            return web.Response(status=401, text="Not signed in to the fake Discord: use a sign-in link.")
        code = secrets.token_urlsafe(16)
        self.codes[code] = _Grant(user_id, q["redirect_uri"], frozenset(scopes))
        raise web.HTTPFound(q["redirect_uri"] + "?" + urlencode({"code": code, "state": q.get("state", "")}))

    async def token(self, request: web.Request) -> web.Response:
        self.requests.append("POST /api/oauth2/token")
        operation = self._flow_path("tokenUrl")
        if request.content_type != FORM:  # Discord takes the token request as a form only
            self._violation("POST", operation, [f"Content-Type: {request.content_type!r}, not {FORM}"])
            return self._token_answer(400, {"error": "invalid_request"})
        form = await request.post()
        missing = [f for f in ("grant_type", "code", "redirect_uri") if not form.get(f)]
        if not (form.get("client_id") and form.get("client_secret")) and not request.headers.get(
                "Authorization", "").startswith("Basic "):
            missing.append("client_id and client_secret (or HTTP Basic)")
        if missing:
            self._violation("POST", operation, [f"{f}: required (RFC 6749 4.1.3)" for f in missing], dict(form))
            return self._token_answer(400, {"error": "invalid_request"})
        grant = self.codes.pop(str(form.get("code", "")), None)
        if (grant is None or form.get("grant_type") != "authorization_code" or form.get("client_id") != CLIENT_ID
                or form.get("client_secret") != CLIENT_SECRET or form.get("redirect_uri") != grant.redirect_uri):
            return self._token_answer(400, {"error": "invalid_grant"})
        token = secrets.token_urlsafe(24)
        self.tokens[token] = _Token(grant.user_id, grant.scopes)
        return self._token_answer(200, self._token_body(token, grant))

    def _caller(self, request: web.Request, operation: str) -> tuple[int | None, web.Response | None]:
        """The user behind the bearer token, once the call is one the document lets that token make
        (the call is recorded in `requests` first, as every fake endpoint does)."""
        method = request.method
        self.requests.append(f"{method} /api{operation}")
        needed = self.spec.oauth_scopes_needed(method, operation) if self.spec.available else [set()]
        if needed is None:
            self._violation(method, operation, ["no OAuth2 token may call this operation (its security)"])
            return None, self._answer(method, operation, 401, {"message": "401: Unauthorized", "code": 0})
        unknown = sorted(set(request.query) - self._query_names(method, operation))
        if unknown:
            self._violation(method, operation, [f"?{name}: not a parameter of the operation" for name in unknown])
        auth = request.headers.get("Authorization", "")
        token = self.tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
        if token is None:
            return None, self._answer(method, operation, 401, {"message": "401: Unauthorized", "code": 0})
        if not any(option <= token.scopes for option in needed):
            wanted = " or ".join(" ".join(sorted(o)) for o in needed)
            self._violation(method, operation, [f"the token's scopes ({' '.join(sorted(token.scopes))}) lack"
                                                f" {wanted}, which the operation needs"])
            return None, self._answer(method, operation, 403, {"message": "Missing Access", "code": 50001})
        return token.user_id, None

    def _query_names(self, method: str, operation: str) -> set[str]:
        path = self.spec.operation_path(method, operation) if self.spec.available else None
        if path is None:
            return set()
        item = self.spec.document["paths"][path]
        params = item.get("parameters", []) + item[method.lower()].get("parameters", [])
        return {p["name"] for p in params if p.get("in") == "query"}

    async def me(self, request: web.Request) -> web.Response:
        operation = "/users/@me"
        user_id, refused = self._caller(request, operation)
        if refused is not None:
            return refused
        return self._answer("GET", operation, 200, self._me_body(user_id))

    async def guilds(self, request: web.Request) -> web.Response:
        operation = "/users/@me/guilds"
        user_id, refused = self._caller(request, operation)
        if refused is not None:
            return refused
        body = [self._guild_body(user_id)] if user_id in self.g.world.members else []
        return self._answer("GET", operation, 200, body)

    async def member(self, request: web.Request) -> web.Response:
        operation = "/users/@me/guilds/{guild_id}/member"
        user_id, refused = self._caller(request, operation)
        if refused is not None:
            return refused
        w = self.g.world
        if user_id not in w.members or request.match_info["guild_id"] != str(w.guild_id):
            return self._answer("GET", operation, 404, {"message": "Unknown Guild", "code": 10004})
        return self._answer("GET", operation, 200, self._member_body(user_id))

    # --- the answers' bodies, from the World (tests break them on purpose to see the spec catch it) -------
    def _token_body(self, token: str, grant: _Grant) -> dict[str, Any]:
        return {"access_token": token, "token_type": "Bearer", "expires_in": 604800,
                "refresh_token": secrets.token_urlsafe(24), "scope": " ".join(sorted(grant.scopes))}

    def _user_body(self, user_id: int) -> dict[str, Any]:
        return self.g.world.users[user_id].payload() | {"primary_guild": None}

    def _me_body(self, user_id: int) -> dict[str, Any]:
        """identify: the user, with what only the person themselves sees of it."""
        locale = "ja" if self.g.config.community.info.language == "ja" else "en-US"
        return self._user_body(user_id) | {"mfa_enabled": False, "locale": locale}

    def _guild_body(self, user_id: int) -> dict[str, Any]:
        w = self.g.world
        return {"id": str(w.guild_id), "name": self.g.config.community.info.name, "icon": None, "banner": None,
                "owner": w.owner_id == user_id, "permissions": str(self.g.guild_permissions(user_id).value),
                "features": []}

    def _member_body(self, user_id: int) -> dict[str, Any]:
        return self.g.world.members[user_id].payload() | {"user": self._user_body(user_id)}


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
