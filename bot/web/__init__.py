"""The moderators' web dashboard, served by the bot process in its own event loop.

    _server.py   Dashboard: the aiohttp app, sign-in (Discord OAuth2), sessions, CSRF, language
    _pages.py    the pages: calendar, drops, feedback, members, health, config, audit — each calls the
                 services the slash commands call (bot/services); no SQL and no rules here
    _oauth.py    Discord's OAuth2 code flow: who the person is, and their way in at sign-in
    _access.py   who may enter (the moderator role, or Manage Server), asked again at every request
                 from the bot's view of the server (GuildPort.member_standing): access follows Discord
    _session.py  signed HttpOnly SameSite cookies and CSRF tokens
    _render.py   a message as members will see it (from the dry run's payload)
    _charts.py   server-drawn SVG charts
    templates/   Jinja2; static/ htmx (vendored) and the stylesheet

Stack: aiohttp.web (already here with discord.py), Jinja2 and htmx: pages are rendered on the server,
htmx swaps the parts a click changes, nothing is fetched from the internet.
"""
from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Callable

from ._oauth import DiscordOAuth, Identity, OAuthError
from ._server import Dashboard
from ._session import load_secret

if TYPE_CHECKING:
    from bot.app import App

OAUTH_SECRET_ENV = "KIZUNA_OAUTH_SECRET"
log = logging.getLogger(__name__)

__all__ = ["Dashboard", "DiscordOAuth", "Identity", "OAuthError", "load_secret", "start_dashboard"]


async def start_dashboard(app: "App", *, client_id: int, moderator_role_id: Callable[[], int | None],
                          oauth: DiscordOAuth | None = None, host: str | None = None,
                          port: int | None = None, after_write=None, warm: bool = True) -> Dashboard:
    """Serve the dashboard (community.yaml `web:`); `oauth` defaults to Discord itself with the client
    secret from KIZUNA_OAUTH_SECRET. `warm`: compute the health figures in the background now (the
    bot does it once connected instead: the member count comes from the server)."""
    settings = app.config.community.web
    if oauth is None:
        secret = os.environ.get(OAUTH_SECRET_ENV, "")
        if not secret:
            log.warning("the dashboard is on but %s is not set: signing in with Discord will fail"
                        " (the client secret is on the application's OAuth2 page)", OAUTH_SECRET_ENV)
        oauth = DiscordOAuth(client_id=settings.client_id or client_id, client_secret=secret)
    dashboard = Dashboard(app, oauth=oauth, moderator_role_id=moderator_role_id, secret=load_secret(app.db.path),
                          after_write=after_write)
    await dashboard.start(host, port)
    if warm and app.guild_id:  # the health figures take seconds to compute at scale: have them ready for the first visit
        app.stats.warm_health(app.guild_id)
    return dashboard
