"""The hot clicks (drop claim, quiz answer) answered straight from the gateway payload.

A claim burst is 20,000 clicks in a second or two, and discord.py's own path builds for each one an
`Interaction` (the clicked message parsed again, the member, permissions), a `View` rebuilt from that
message, and a `Message` from the reply's response: about half of a click's CPU (bench/bench_clicks.py).
A hot button's whole answer is one ephemeral text that needs only the guild id, the member's id and
the button's custom_id, so for those buttons this module reads the three ids from the payload, calls
the button class's `answer(app, match, guild_id, user_id)` -- the very method its discord.py callback calls -- and
sends the reply the way `InteractionResponse.send_message` does (the same body, built once per text and
kept; but without `?with_response=1`: nothing reads the created message back, so Discord answers 204 and
sends no message payload). A refusal (a UserError: sold
out, already held) is answered the same way with the text `bot.tree.report_error` would send; any other
error (an HTTP failure, a bug) is handed to `report_error` with a real `discord.Interaction` built
then, so the member sees exactly what the slow path would show.

What it skips, on purpose: the `interaction` event (Kizuna has no `on_interaction` listener), the
member-cache update from the payload (the gateway's member events keep the cache), and discord.py's
check that the clicked button is on the message (Discord only sends clicks for buttons it shows).

discord.py has no public way to see a gateway event before it is parsed, nor to answer an interaction
without an `Interaction`; the three internals used (ConnectionState.parsers, the webhook adapter's
`request` and its `Route`, `interaction_message_response_params`) are all in this module, and
tests/test_fast_clicks.py fails if an upgrade moves them (`FastClicks.supported`) or if a fast reply
differs in any byte from discord.py's own.
"""
from __future__ import annotations

import asyncio
import re
from typing import Any, Awaitable, Protocol

import discord
from discord.enums import ComponentType, InteractionResponseType, InteractionType
from discord.webhook import async_ as _webhook_internals

from bot.errors import UserError
from bot.tree import report_error

_COMPONENT = InteractionType.component.value
_BUTTON = ComponentType.button.value
_EPHEMERAL = discord.MessageFlags(ephemeral=True)
_CHANNEL_MESSAGE = InteractionResponseType.channel_message.value
_CALLBACK = "/interactions/{webhook_id}/{webhook_token}/callback"
_KEPT_BODIES = 1024  # distinct reply texts kept (a claim burst has a handful: granted, sold out, held...)
_KEPT_MATCHES = 1024  # distinct custom_ids kept (a burst clicks one; quiz answers a few per question)
_UNSEEN = object()


class HotButton(Protocol):
    """A persistent button whose answer is one ephemeral text (see bot.ui.TextAnswer)."""

    @classmethod
    async def answer(cls, app: Any, match: re.Match[str], guild_id: int, user_id: int) -> str: ...


class FastClicks:
    """One per bot. `add(ClaimButton)` in cog_load, `remove` in cog_unload (beside add_dynamic_items)."""

    def __init__(self, bot: discord.Client) -> None:
        self.bot = bot
        self.enabled = True  # False: every click takes discord.py's path (tests compare both)
        self._items: dict[type, re.Pattern[str]] = {}
        self._matched: dict[str, tuple[type, re.Match[str]] | None] = {}  # custom_id -> its hot item, or None
        self._slow: Any = None
        self._tasks: set[asyncio.Task] = set()
        self._bodies: dict[str, dict[str, Any]] = {}  # reply text -> callback body (never mutated)
        self._bodies_mentions: Any = None  # the allowed_mentions those bodies were built with

    @staticmethod
    def supported() -> bool:
        """Whether this discord.py still has what the fast path uses (else clicks take the slow path)."""
        return (hasattr(_webhook_internals, "interaction_message_response_params")
                and hasattr(_webhook_internals, "async_context")
                and hasattr(_webhook_internals, "Route")
                and hasattr(_webhook_internals.AsyncWebhookAdapter, "request"))

    def add(self, *items: type) -> None:
        for item in items:
            self._items[item] = re.compile(item.__discord_ui_compiled_template__.pattern)
        self._matched = {}
        self._install()

    def remove(self, *items: type) -> None:
        for item in items:
            self._items.pop(item, None)
        self._matched = {}

    def _install(self) -> None:
        parsers = self.bot._connection.parsers
        if self._slow is not None or not self.supported():
            return
        self._slow = parsers["INTERACTION_CREATE"]
        parsers["INTERACTION_CREATE"] = self._parse

    # --- the hot path --------------------------------------------------------------------------------------
    def _parse(self, data: dict[str, Any]) -> None:
        # speed: this runs once per click of a burst (bench/bench_clicks.py), and a burst's clicks share
        # one custom_id: it is matched once (a Match is read-only, so the clicks can share it)
        if self.enabled and data.get("type") == _COMPONENT and "guild_id" in data:
            inner = data["data"]
            if inner.get("component_type") == _BUTTON:
                custom_id = inner["custom_id"]
                hot = self._matched.get(custom_id, _UNSEEN)
                if hot is _UNSEEN:
                    hot = self._match(custom_id)
                if hot is not None:
                    task = asyncio.create_task(self._answer(hot[0], hot[1], data))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                    return
        self._slow(data)

    def _match(self, custom_id: str) -> tuple[type, re.Match[str]] | None:
        """The hot item whose template the custom_id matches, and the match; kept per custom_id."""
        found = None
        for item, pattern in self._items.items():
            match = pattern.fullmatch(custom_id)
            if match is not None:
                found = (item, match)
                break
        if len(self._matched) >= _KEPT_MATCHES:
            self._matched = {}
        self._matched[custom_id] = found
        return found

    async def _answer(self, item: type, match: re.Match[str], data: dict[str, Any]) -> None:
        try:
            app = self.bot.app
            try:
                text = await item.answer(app, match, int(data["guild_id"]), int(data["member"]["user"]["id"]))
            except UserError as refusal:  # sold out, already held...: the text report_error would send
                text = app.t(refusal.key, **refusal.params)
            await self._reply(data, text)
        except Exception as error:  # as bot.ui.guarded: the member is told, the bug is logged
            await report_error(discord.Interaction(data=data, state=self.bot._connection), error)

    def _body(self, text: str) -> dict[str, Any]:
        """The callback body `send_message(text, ephemeral=True)` sends, built by discord.py once per text."""
        mentions = self.bot._connection.allowed_mentions
        if mentions is not self._bodies_mentions or len(self._bodies) >= _KEPT_BODIES:
            self._bodies = {}
            self._bodies_mentions = mentions
        body = self._bodies.get(text)
        if body is None:
            body = _webhook_internals.interaction_message_response_params(
                type=_CHANNEL_MESSAGE, content=text, previous_allowed_mentions=mentions, flags=_EPHEMERAL).payload
            self._bodies[text] = body
        return body

    def _reply(self, data: dict[str, Any], text: str) -> Awaitable[Any]:
        """What `interaction.response.send_message(text, ephemeral=True)` sends, without the objects: the
        request, to await (a plain function returning it: one coroutine less per click)."""
        # speed: once per click of a burst; the body is shared between replies (adapters only serialise it)
        http = self.bot._connection.http
        route = _webhook_internals.Route("POST", _CALLBACK, webhook_id=int(data["id"]), webhook_token=data["token"])
        return _webhook_internals.async_context.get().request(
            route, http._HTTPClient__session, payload=self._body(text), proxy=http.proxy, proxy_auth=http.proxy_auth)
