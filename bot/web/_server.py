"""The dashboard's aiohttp application: sign-in, sessions, CSRF, language, and the pages (`_pages`)."""
from __future__ import annotations

import logging
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Awaitable, Callable
from urllib.parse import quote

import jinja2
from aiohttp import web

from bot.services.catalogue import Catalogue

from ._access import EXPLANATION, NOT_ALLOWED, UNKNOWN, standing_verdict
from ._oauth import DiscordOAuth, OAuthError
from ._session import (LANG_COOKIE, SESSION_COOKIE, STATE_COOKIE, Session, Signer, new_csrf, same_token)

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
PUBLIC = ("/login", "/auth/callback", "/static/", "/signed-out", "/favicon.ico")
ANY_SESSION = ("/logout", "/lang/")  # a signed-in person whose access ended may still sign out, switch language
ACCESS_ENDED = "dashboard.access_ended"  # the audit action of a refusal (bot/web/_access.py)
LANGUAGES = ("en", "ja")
STATE_SECONDS = 600
APP_KEY = web.AppKey("dashboard", object)
LANG = web.RequestKey("lang", str)
SESSION = web.RequestKey("session", Session)


class Dashboard:
    """The web dashboard of one App, served in the bot's event loop. `moderator_role_id()` gives the id
    of the configured moderator role on the server (the bot resolves role keys); `oauth` talks to
    Discord (or to the harness's fake one)."""

    def __init__(self, app: "App", *, oauth: DiscordOAuth, moderator_role_id: Callable[[], int | None],
                 secret: bytes, after_write: Callable[[], Awaitable[Any]] | None = None) -> None:
        self.app = app
        self.after_write = after_write  # offline: deliver what a write queued (the harness's outbox)
        self.oauth = oauth
        self.moderator_role_id = moderator_role_id
        self.signer = Signer(secret)
        self.templates = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                                            autoescape=True, trim_blocks=True, lstrip_blocks=True)
        self._catalogues: dict[tuple[str, int], Catalogue] = {}
        self._refused: dict[int, str] = {}  # user id -> why their access ended (audited once per change)
        self.web_app = self._build()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    @property
    def settings(self):
        return self.app.config.community.web

    # --- life cycle ---------------------------------------------------------------------------------
    async def start(self, host: str | None = None, port: int | None = None) -> str:
        self._runner = web.AppRunner(self.web_app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host or self.settings.host,
                           self.settings.port if port is None else port)
        await site.start()
        bound = self._runner.addresses[0][1]  # the port the system gave (port 0: any free one)
        self.base_url = (str(self.settings.external_url).rstrip("/") if self.settings.external_url
                         else f"http://{host or self.settings.host}:{bound}")
        log.info("dashboard at %s", self.base_url)
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- the aiohttp app ----------------------------------------------------------------------------
    def _build(self) -> web.Application:
        from . import _pages

        app = web.Application(middlewares=[self._errors, self._guard], client_max_size=1024 * 1024)
        app[APP_KEY] = self
        app.router.add_static("/static/", HERE / "static")
        app.router.add_get("/login", self.login)
        app.router.add_get("/auth/callback", self.callback)
        app.router.add_post("/logout", self.logout)
        app.router.add_get("/signed-out", self.signed_out)
        app.router.add_get("/lang/{lang}", self.set_language)
        _pages.add_routes(app, self)
        return app

    @web.middleware
    async def _errors(self, request: web.Request, handler):
        started = time.perf_counter()
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            exc.headers["Server-Timing"] = _timing(started)
            raise
        except Exception:
            error_id = secrets.token_hex(4)
            log.exception("dashboard error %s on %s %s", error_id, request.method, request.path)
            return web.Response(status=500, text=f"Something went wrong (error {error_id}).")
        response.headers["Server-Timing"] = _timing(started)  # what bench/bench_web.py reads
        return response

    @web.middleware
    async def _guard(self, request: web.Request, handler):
        """Every page needs a signed-in moderator; every write also needs the session's CSRF token."""
        request[LANG] = self.language(request)
        if request.path.startswith(PUBLIC):
            return await handler(request)
        session = self.signer.session(request.cookies.get(SESSION_COOKIE), self.app.clock.now().timestamp())
        if session is None:
            if request.method != "GET" or request.headers.get("HX-Request"):
                return web.Response(status=401, text="Sign in first.")
            raise web.HTTPFound("/login?next=" + quote(request.path_qs, safe=""))
        request[SESSION] = session
        writing = request.method not in ("GET", "HEAD")
        if writing:
            sent = request.headers.get("X-CSRF-Token")
            if sent is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
                sent = (await request.post()).get("csrf")
            if not same_token(sent if isinstance(sent, str) else None, session.csrf):
                log.warning("refused a %s %s without the CSRF token (user %s)", request.method, request.path,
                            session.user_id)
                return web.Response(status=403, text=self.catalogue(request).t("web.csrf_refused"))
        if not request.path.startswith(ANY_SESSION):
            refusal = await self._door(request, session)
            if refusal is not None:
                return refusal
        response = await handler(request)
        if writing and self.after_write is not None:
            await self.after_write()
        return response

    async def _door(self, request: web.Request, session: Session) -> web.Response | None:
        """Is the person still a moderator (or still has Manage Server) on the server, as the bot sees
        it now? None: go on; else the page saying why not. Each refusal is audited once (again only after
        access came back and went again), not at every click."""
        verdict = await standing_verdict(self.app, session)
        if verdict.via is not None:
            self._refused.pop(session.user_id, None)
            return None
        reason = verdict.refused or NOT_ALLOWED
        if reason != UNKNOWN and self._refused.get(session.user_id) != reason:
            self._refused[session.user_id] = reason
            log.warning("dashboard access ended for user %s (%s; signed in by %s)", session.user_id, reason,
                        session.via or "?")
            await self.app.audit.record(self.app.guild_id or 0, session.user_id, ACCESS_ENDED, reason,
                                        f"{request.method} {request.path}")
            if self.after_write is not None:
                await self.after_write()  # offline: the mod-log line goes out
        elif reason == UNKNOWN:
            log.warning("dashboard: cannot check user %s against the server (not connected?)", session.user_id)
        catalogue = self.catalogue(request)
        response = self.render(request, "message.html", status=verdict.status, refused=True,
                               title="web.refused_title" if reason == UNKNOWN else "web.access_ended_title",
                               text=catalogue.t(f"web.{EXPLANATION[reason]}"))
        if request.headers.get("HX-Request"):
            response.headers["HX-Refresh"] = "true"  # htmx does not swap a 403 in: reload into this page
        return response

    # --- language -----------------------------------------------------------------------------------
    def language(self, request: web.Request) -> str:
        chosen = request.cookies.get(LANG_COOKIE)
        return chosen if chosen in LANGUAGES else self.app.config.community.info.language

    def catalogue(self, request: web.Request) -> Catalogue:
        lang = request.get(LANG) or self.language(request)
        config = self.app.config
        key = (lang, id(config))
        found = self._catalogues.get(key)
        if found is None:
            c = config.community
            found = Catalogue(lang, community_name=c.info.name, persona=c.persona,
                              overrides=c.messages if lang == c.info.language else None)
            self._catalogues = {key: found, **{k: v for k, v in self._catalogues.items() if k[1] == id(config)}}
        return found

    async def set_language(self, request: web.Request) -> web.Response:
        lang = request.match_info["lang"]
        back = request.query.get("next", "/")
        response = web.HTTPFound(back if back.startswith("/") and not back.startswith("//") else "/")
        if lang in LANGUAGES:
            response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, httponly=True, samesite="Lax",
                                secure=self._secure())
        raise response

    # --- rendering ----------------------------------------------------------------------------------
    def render(self, request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
        catalogue = self.catalogue(request)
        session: Session | None = request.get(SESSION)
        html = self.templates.get_template(template).render(
            t=lambda key, **kw: catalogue.t(f"web.{key}", **kw), lang=request[LANG], session=session,
            csrf=session.csrf if session else "", community=self.app.config.community.info.name,
            path=request.path, path_qs=request.path_qs, static=self._static, **context)
        return web.Response(text=html, status=status, content_type="text/html")

    @staticmethod
    def _static(name: str) -> str:
        return f"/static/{name}"

    # --- sign-in --------------------------------------------------------------------------------------
    def _secure(self) -> bool:
        return bool(self.settings.external_url and str(self.settings.external_url).startswith("https"))

    @property
    def redirect_uri(self) -> str:
        return f"{self.base_url}/auth/callback"

    async def login(self, request: web.Request) -> web.Response:
        nxt = request.query.get("next", "/")
        if not nxt.startswith("/") or nxt.startswith("//"):
            nxt = "/"
        state = secrets.token_urlsafe(24)
        cookie = self.signer.dumps({"k": "state", "state": state, "next": nxt,
                                    "exp": self.app.clock.now().timestamp() + STATE_SECONDS})
        response = web.HTTPFound(self.oauth.authorize_url(self.redirect_uri, state))
        response.set_cookie(STATE_COOKIE, cookie, max_age=STATE_SECONDS, httponly=True, samesite="Lax",
                            secure=self._secure(), path="/auth")
        raise response

    async def callback(self, request: web.Request) -> web.Response:
        data = self.signer.loads(request.cookies.get(STATE_COOKIE)) or {}
        now = self.app.clock.now().timestamp()
        if (data.get("k") != "state" or float(data.get("exp", 0)) < now
                or not same_token(request.query.get("state"), str(data.get("state", "")))):
            return self.render(request, "message.html", status=400, title="web.refused_title",
                               text=self.catalogue(request).t("web.sign_in_failed", reason="state"))
        code = request.query.get("code")
        if not code:
            return self.render(request, "message.html", status=400, title="web.refused_title",
                               text=self.catalogue(request).t("web.sign_in_failed",
                                                              reason=request.query.get("error", "no code")))
        try:
            identity = await self.oauth.identify(code, self.redirect_uri, self.app.guild_id or 0)
        except OAuthError as exc:
            return self.render(request, "message.html", status=502, title="web.refused_title",
                               text=self.catalogue(request).t("web.sign_in_failed", reason=str(exc)))
        via = identity.way_in(self.moderator_role_id())
        if via is None:
            log.warning("dashboard sign-in refused for user %s (not a moderator)", identity.user_id)
            response = self.render(request, "message.html", status=403, title="web.refused_title",
                                   text=self.catalogue(request).t("web.refused"))
            response.del_cookie(STATE_COOKIE, path="/auth")
            return response
        session = Session(identity.user_id, identity.name, identity.avatar_url, new_csrf(),
                          now + self.settings.session_hours * 3600, via)
        self._refused.pop(identity.user_id, None)
        response = web.HTTPFound(str(data.get("next") or "/"))
        response.set_cookie(SESSION_COOKIE, self.signer.session_token(session), httponly=True, samesite="Lax",
                            secure=self._secure(), max_age=self.settings.session_hours * 3600)
        response.del_cookie(STATE_COOKIE, path="/auth")
        raise response

    async def logout(self, request: web.Request) -> web.Response:
        response = web.HTTPFound("/signed-out")
        response.del_cookie(SESSION_COOKIE)
        raise response

    async def signed_out(self, request: web.Request) -> web.Response:
        return self.render(request, "message.html", title="web.signed_out", text="", sign_in=True)


def _timing(started: float) -> str:
    return f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
