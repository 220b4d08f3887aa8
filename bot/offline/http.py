"""The fake Discord HTTP API: every REST call of the bot (`HTTPClient.request`) and every interaction
response or webhook call (`AsyncWebhookAdapter.request`) is answered here from the `World`.

Each request is first validated against Discord's OpenAPI spec (spec.py), then checked for the
permissions Discord would check (computed by discord.py on the world's current state), then applied
to the world; the gateway events Discord would send follow (GUILD_MEMBER_UPDATE after a role change,
MESSAGE_CREATE after a post, ...), delivered after the response like on Discord.
"""
from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Awaitable, Callable
from urllib.parse import unquote

import discord
from discord.http import Route
from discord.webhook.async_ import AsyncWebhookAdapter

from .spec import SpecViolation, Spec
from .world import (FORUM, LOADING, PRIVATE_THREAD, PUBLIC_THREAD, TEXT, FakeChannel, FakeMessage, World,
                    walk_components)
from .world import (ACTIVE, CANCELED, COMPLETED, EXTERNAL_EVENT, SCHEDULED, STAGE, STAGE_EVENT, VOICE,
                    FakePoll, FakeScheduledEvent)
from .world import COMPONENTS_V2  # issue 20
from .world import iso  # thread members

if TYPE_CHECKING:
    from .harness import Harness

log = logging.getLogger(__name__)

INTERACTION_TOKEN_LIFETIME = timedelta(minutes=15)
IRT, IT = discord.InteractionResponseType, discord.InteractionType  # payloads carry their .value
FROM_A_MESSAGE = (IT.component.value, IT.modal_submit.value)  # interactions that come from a message
CHAT_INPUT = discord.AppCommandType.chat_input.value
# enforce_nonce: "checked for uniqueness in the past few minutes" (Discord); the outbox trusts it for
# less (bot.services.outbox.NONCE_TRUST) and looks in the channel after that
NONCE_WINDOW = timedelta(minutes=3)


class HarnessGap(NotImplementedError):
    """The bot used a Discord route the offline harness does not implement yet."""


class _Response:
    """Just enough of aiohttp's response for discord.HTTPException."""

    def __init__(self, status: int, reason: str, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.reason = reason
        self.headers: dict[str, str] = dict(headers or {})


def error(status: int, code: int, message: str) -> discord.HTTPException:
    body = {"code": code, "message": message}
    if status == 403:
        return discord.Forbidden(_Response(403, "Forbidden"), body)
    if status == 404:
        return discord.NotFound(_Response(404, "Not Found"), body)
    return discord.HTTPException(_Response(status, "Bad Request"), body)


def invalid_form_body(errors: dict[str, Any]) -> discord.HTTPException:
    """400 50035 as Discord answers it: `errors` like {"embeds": {"0": {"description": {"_errors":
    [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 4096 or fewer in length."}]}}}}."""
    return discord.HTTPException(_Response(400, "Bad Request"),
                                 {"code": 50035, "message": "Invalid Form Body", "errors": errors})


class SimulatedCrash(BaseException):
    """The "crash" fault: the bot process dies at this request (before or, with `after`, just after
    Discord handled it). A BaseException, so nothing in the bot catches it; restart the harness next."""


@dataclass
class Fault:
    """An answer the fake Discord gives instead of (or after) handling a request; see `inject`."""

    kind: str  # "429" | "429-global" | "500" | "502" | "timeout" | "400" | "crash" (see FAULT_KINDS)
    route: str | None = None  # "POST /channels/{channel_id}/messages"; None: any request
    times: int = 1
    retry_after: float = 1.0
    after: bool = False  # Discord did the work, then the answer was lost (a 502 or timeout after)
    errors: dict[str, Any] | None = None  # for "400"
    hits: int = 0

    def matches(self, req: "Request") -> bool:
        return self.hits < self.times and (
            self.route is None or normalized(self.route) == f"{req.method} {normalized(req.path)}")

    def exception(self) -> BaseException:
        if self.kind in ("429", "429-global"):
            scope = "global" if self.kind == "429-global" else "user"
            headers = {"Retry-After": f"{self.retry_after}", "X-RateLimit-Scope": scope}
            if scope == "global":
                headers["X-RateLimit-Global"] = "true"
            return discord.HTTPException(_Response(429, "Too Many Requests", headers),
                                         {"code": 0, "message": "You are being rate limited.",
                                          "retry_after": self.retry_after, "global": scope == "global"})
        if self.kind in ("500", "502"):
            return discord.DiscordServerError(_Response(int(self.kind), "Server Error"),
                                              {"code": 0, "message": f"{self.kind}: Server Error"})
        if self.kind == "timeout":
            return asyncio.TimeoutError()
        if self.kind == "400":
            return invalid_form_body(self.errors or {})
        if self.kind == "crash":
            return SimulatedCrash(f"simulated crash at {self.route or 'a request'}")
        raise ValueError(f"unknown fault {self.kind!r}")


FAULT_KINDS = ("429", "429-global", "500", "502", "timeout", "400", "crash")


def missing_permissions() -> discord.HTTPException:
    return error(403, 50013, "Missing Permissions")


def missing_access() -> discord.HTTPException:
    return error(403, 50001, "Missing Access")


@dataclass
class Request:
    method: str
    path: str  # the route template, e.g. /channels/{channel_id}/messages
    url: str
    json: Any = None
    files: list[tuple[str, bytes]] = field(default_factory=list)
    params: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.path}>"


@dataclass(eq=False)
class Reply:
    """What an interaction led to: its response and follow-ups, or the modal it opened."""

    world: World
    id: int
    token: str
    type: int  # 2 command, 3 component, 5 modal submit
    user_id: int
    channel_id: int | None
    name: str  # "/admin audit", "button Approve", "modal ...", "menu ..."
    created_at: datetime
    source_message_id: int | None = None  # the message a component was on
    response_type: int | None = None
    original_id: int | None = None
    message_ids: list[int] = field(default_factory=list)  # original first, then follow-ups, in order
    modal: dict[str, Any] | None = None
    choices: list[dict[str, Any]] | None = None  # an autocomplete answer: [{"name", "value"}]

    # --- reading it ---------------------------------------------------------------------------------
    @property
    def responded(self) -> bool:
        return self.response_type is not None

    @property
    def deferred(self) -> bool:
        return self.response_type in (IRT.deferred_channel_message.value, IRT.deferred_message_update.value)

    @property
    def messages(self) -> list[FakeMessage]:
        return [self.world.messages[m] for m in self.message_ids if m in self.world.messages]

    @property
    def message(self) -> FakeMessage | None:
        msgs = self.messages
        return msgs[-1] if msgs else None

    @property
    def content(self) -> str | None:
        m = self.message
        return m.content if m else None

    @property
    def embeds(self) -> list[dict[str, Any]]:
        m = self.message
        return m.embeds if m else []

    @property
    def ephemeral(self) -> bool:
        m = self.message
        return bool(m and m.ephemeral)

    @property
    def buttons(self) -> list[str]:
        m = self.message
        return m.buttons if m else []

    @property
    def files(self) -> list[tuple[str, bytes]]:
        m = self.message
        return m.files if m else []

    @property
    def text(self) -> str:
        m = self.message
        return m.text if m else ""

    def __repr__(self) -> str:
        return f"<Reply {self.name} ephemeral={self.ephemeral} content={self.content!r:.80}>"


Handler = Callable[..., Awaitable[Any]]
ROUTES: dict[tuple[str, str], Handler] = {}


@functools.lru_cache(maxsize=None)  # a handful of route templates, looked up on every request
def normalized(path: str) -> str:
    """Parameter names differ between discord.py and the spec: compare shapes only."""
    return re.sub(r"\{\w+\}", "{}", path)


def route(method: str, path: str):
    def deco(func: Handler) -> Handler:
        ROUTES[(method, normalized(path))] = func
        return func
    return deco


@functools.lru_cache(maxsize=None)
def _template_regex(template: str) -> re.Pattern:
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    return re.compile("^" + pattern + "$")


@functools.lru_cache(maxsize=None)
def _template_slots(template: str) -> tuple[int, tuple[tuple[int, str], ...]] | None:
    """(segment count, (index, name) of each `{name}` segment), or None if a segment mixes text and a
    parameter (then the regex is used)."""
    segments = template.split("/")
    slots = []
    for i, seg in enumerate(segments):
        if "{" in seg:
            if not (seg.startswith("{") and seg.endswith("}")) or seg.count("{") != 1:
                return None
            slots.append((i, seg[1:-1]))
    return len(segments), tuple(slots)


def path_params(template: str, url: str) -> dict[str, str]:
    # speed: once per request, and a click burst sends 20,000 interaction callbacks (bench_clicks.py)
    path = url[len(Route.BASE):] if url.startswith(Route.BASE) else url
    path = path.split("?", 1)[0]
    shape = _template_slots(template)
    if shape is not None:
        segments = path.split("/")
        if len(segments) == shape[0]:
            return {name: unquote(segments[i]) if "%" in segments[i] else segments[i] for i, name in shape[1]}
    m = _template_regex(template).match(path)
    return {k: unquote(v) for k, v in (m.groupdict() if m else {}).items()}


def _files_from(files, form) -> tuple[Any, list[tuple[str, bytes]]]:
    body = None
    out: list[tuple[str, bytes]] = []
    for part in form or []:
        if part.get("name") == "payload_json":
            body = json.loads(part["value"])
    for f in files or []:
        fp = f.fp
        pos = fp.tell() if hasattr(fp, "tell") else 0
        data = fp.read()
        try:
            fp.seek(pos)
        except Exception:
            pass
        out.append((f.filename, data))
    return body, out


class FakeDiscord:
    """Answers the bot's HTTP requests from the world. One per harness; survives restarts."""

    def __init__(self, world: World, spec: Spec, harness: "Harness") -> None:
        self.world = world
        self.spec = spec
        self.harness = harness
        self.requests: list[Request] = []
        self.violations: list[SpecViolation] = []
        self.interactions: dict[str, Reply] = {}
        self.faults: list[Fault] = []

    def inject(self, kind: str, *, route: str | None = None, times: int = 1, retry_after: float = 1.0,
               after: bool = False, errors: dict[str, Any] | None = None) -> Fault:
        """Answer the next `times` matching requests with a fault instead of handling them (or, with
        `after`, handle them and then fail: the work is done but the bot never hears of it)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r} (one of {', '.join(FAULT_KINDS)})")
        fault = Fault(kind, route, times, retry_after, after, errors)
        self.faults.append(fault)
        return fault

    @property
    def bot(self):
        return self.harness.bot

    # --- plumbing -----------------------------------------------------------------------------------
    def install(self, bot) -> None:
        bot.http.request = self.request  # type: ignore[method-assign]
        bot.http.get_from_cdn = self.get_from_cdn  # type: ignore[method-assign]

    async def get_from_cdn(self, url: str) -> bytes:
        if url not in self.world.cdn:
            raise error(404, 0, "Not Found")
        return self.world.cdn[url]

    async def request(self, route: Route, *, files=None, form=None, **kwargs: Any) -> Any:
        body = kwargs.get("json")
        uploaded: list[tuple[str, bytes]] = []
        if form:
            body, uploaded = _files_from(files, form)
        params = {k: str(v) for k, v in (kwargs.get("params") or {}).items()}
        req = Request(route.method, route.path, route.url, body, uploaded, params)
        return await self.handle(req)

    async def handle(self, req: Request) -> Any:
        self.requests.append(req)
        self.check_spec(req)
        handler = ROUTES.get((req.method, normalized(req.path)))
        if handler is None:
            raise HarnessGap(f"the offline harness does not implement {req.method} {req.path} yet "
                             f"(add it in bot/offline/http.py)")
        args = path_params(req.path, req.url)
        fault = next((f for f in self.faults if f.matches(req)), None) if self.faults else None
        if fault is not None:
            fault.hits += 1
            if not fault.after:
                raise fault.exception()
        result = await handler(self, req, *args.values())
        if fault is not None:
            raise fault.exception()
        return result

    def check_spec(self, req: Request) -> None:
        problems = self.spec.problems(req.method, req.path, req.json)
        if problems:
            exc = SpecViolation(req.method, req.path, problems, req.json)
            self.violations.append(exc)
            raise exc

    def emit(self, event: str, payload: dict[str, Any]) -> None:
        """A gateway event, delivered after the current response like Discord's gateway would."""
        self.harness.emit_later(event, payload)

    def touch(self) -> None:
        self.world.version += 1

    # --- permissions as Discord computes them -----------------------------------------------------------
    def perms(self, user_id: int, channel_id: int) -> discord.Permissions:
        return self.harness.permissions(user_id, channel_id)

    def bot_perms(self, channel_id: int) -> discord.Permissions:
        return self.perms(self.world.bot_user_id, channel_id)

    def bot_guild_perms(self) -> discord.Permissions:
        return self.harness.guild_permissions(self.world.bot_user_id)

    def bot_top_position(self) -> int:
        member = self.world.members[self.world.bot_user_id]
        return max((self.world.roles[r].position for r in member.role_ids), default=0)

    def need(self, ok: bool) -> None:
        if not ok:
            raise missing_permissions()

    def channel_or_404(self, channel_id: str | int) -> FakeChannel:
        c = self.world.channels.get(int(channel_id))
        if c is None or c.deleted:
            raise error(404, 10003, "Unknown Channel")
        return c

    def message_or_404(self, channel: FakeChannel, message_id: str | int) -> FakeMessage:
        m = self.world.messages.get(int(message_id))
        if m is None or m.deleted or m.channel_id != channel.id or m.ephemeral:
            raise error(404, 10008, "Unknown Message")
        return m

    def member_or_404(self, user_id: str | int):
        m = self.world.members.get(int(user_id))
        if m is None:
            raise error(404, 10007, "Unknown Member")
        return m

    def role_or_404(self, role_id: str | int):
        r = self.world.roles.get(int(role_id))
        if r is None:
            raise error(404, 10011, "Unknown Role")
        return r

    def check_can_post(self, channel: FakeChannel, body: dict[str, Any], files: list) -> discord.Permissions | None:
        if channel.is_dm:
            user = self.world.users[channel.recipient_id]
            if not user.dms_open or user.bot or channel.recipient_id not in self.world.members:
                raise error(403, 50007, "Cannot send messages to this user")
            return None
        p = self.bot_perms(channel.id)
        if not p.view_channel:
            raise missing_access()
        if channel.is_forum:  # a forum takes posts (POST /channels/{id}/threads), not messages
            raise error(400, 50008, "Cannot send messages in a non-text channel")
        if channel.is_thread:
            self.need(p.send_messages_in_threads and not channel.locked)
            if channel.archived:  # Discord: a message in an archived (unlocked) thread unarchives it
                self.set_archived(channel, False)
                self.channel_event(channel, "UPDATE")
        else:
            self.need(p.send_messages)
        if body.get("embeds"):
            self.need(p.embed_links)
        if files:
            self.need(p.attach_files)
        return p

    # --- messages -------------------------------------------------------------------------------------
    def new_message(self, channel: FakeChannel, author_id: int, body: dict[str, Any], files: list, *,
                    may_mention_everyone: bool, **extra: Any) -> FakeMessage:
        ref = body.get("message_reference") or {}
        msg = self.world.add_message(
            channel.id, author_id, content=body.get("content") or "", embeds=list(body.get("embeds") or []),
            components=list(body.get("components") or []), allowed_mentions=body.get("allowed_mentions"),
            flags=int(body.get("flags") or 0), files=list(files),
            reference_id=int(ref["message_id"]) if ref.get("message_id") else None, **extra)
        for i, (name, data) in enumerate(files):
            self.world.cdn[f"https://cdn.discordapp.com/attachments/{channel.id}/{msg.id}/{name}"] = data
        self.world.resolve_mentions(msg, may_mention_everyone=may_mention_everyone)
        self.touch()
        return msg

    def edit_message(self, msg: FakeMessage, body: dict[str, Any], files: list | None = None) -> None:
        self.check_layout_edit(msg, body)
        msg.history.append({"content": msg.content, "embeds": msg.embeds, "components": msg.components})
        if "content" in body:
            msg.content = body["content"] or ""
        if "embeds" in body:
            msg.embeds = list(body["embeds"] or [])
        if "components" in body:
            msg.components = list(body["components"] or [])
        if "allowed_mentions" in body:
            msg.allowed_mentions = body["allowed_mentions"]
        if "attachments" in body and body["attachments"] is not None:
            keep = {int(a["id"]) for a in body["attachments"] if "id" in a and str(a["id"]).isdigit()}
            msg.files = [f for i, f in enumerate(msg.files) if self.world.attachment_id(msg.id, i) in keep]
        if files:
            msg.files = msg.files + list(files)
        if msg.flags & LOADING:  # a deferred reply being filled in: Discord shows it as a new reply, not "(edited)"
            msg.flags &= ~LOADING
        else:
            msg.edited_at = self.world.now()
        self.world.resolve_mentions(msg, may_mention_everyone=False)
        self.touch()

    def check_layout_edit(self, msg: FakeMessage, body: dict[str, Any]) -> None:
        """Components v2 (issue 20), as Discord has it: an edit may turn a message into a layout (the
        IS_COMPONENTS_V2 flag; its content and embeds cleared by the same edit) but never back, and a
        layout message takes no content or embeds. Applies the flag."""
        flags = body.get("flags")
        adds = isinstance(flags, int) and bool(flags & COMPONENTS_V2)
        if msg.is_layout and isinstance(flags, int) and not adds:
            raise error(400, 50035, "Invalid Form Body (the IS_COMPONENTS_V2 flag cannot be removed from a message)")
        if not (adds or msg.is_layout):
            return
        content = body["content"] if "content" in body else msg.content
        embeds = body["embeds"] if "embeds" in body else msg.embeds
        if content or embeds:
            raise error(400, 50035, "Invalid Form Body (a message with the IS_COMPONENTS_V2 flag cannot have"
                                    " content or embeds)")
        msg.flags |= COMPONENTS_V2

    def message_event(self, msg: FakeMessage, event: str = "MESSAGE_CREATE") -> None:
        channel = self.world.channels[msg.channel_id]
        if channel.is_dm or msg.ephemeral:
            return  # the bot has no DM-message intent; ephemeral messages have no gateway event
        payload = msg.payload() | {"guild_id": str(self.world.guild_id)}
        if event == "MESSAGE_CREATE" and msg.nonce is not None:
            payload["nonce"] = msg.nonce
        member = self.world.members.get(msg.author_id)
        if member is not None and not msg.webhook_id:
            payload["member"] = member.payload(with_user=False)
        self.emit(event, payload)

    @route("POST", "/channels/{channel_id}/messages")
    async def post_message(self, req: Request, channel_id: str) -> dict:
        channel = self.channel_or_404(channel_id)
        body = req.json or {}
        p = self.check_can_post(channel, body, req.files)
        nonce = body.get("nonce")
        if nonce is not None and body.get("enforce_nonce"):
            # Discord: the same author's message with this nonce in the past few minutes is returned
            # and no new message is created
            earlier = self.world.message_with_nonce(self.world.bot_user_id, str(nonce), NONCE_WINDOW)
            if earlier is not None:
                return earlier.payload() | {"nonce": earlier.nonce}
        msg = self.new_message(channel, self.world.bot_user_id, body, req.files,
                               may_mention_everyone=bool(p and p.mention_everyone))
        self.attach_poll(msg, body.get("poll"))
        if nonce is not None:
            msg.nonce = str(nonce)
            self.world.nonces[(self.world.bot_user_id, str(nonce))] = msg.id
        self.message_event(msg)
        return msg.payload() | ({"nonce": msg.nonce} if msg.nonce is not None else {})

    @route("PATCH", "/channels/{channel_id}/messages/{message_id}")
    async def patch_message(self, req: Request, channel_id: str, message_id: str) -> dict:
        channel = self.channel_or_404(channel_id)
        msg = self.message_or_404(channel, message_id)
        if msg.author_id != self.world.bot_user_id or msg.webhook_id:
            raise error(403, 50005, "Cannot edit a message authored by another user")
        self.edit_message(msg, req.json or {}, req.files)
        self.message_event(msg, "MESSAGE_UPDATE")
        return msg.payload()

    @route("DELETE", "/channels/{channel_id}/messages/{message_id}")
    async def delete_message(self, req: Request, channel_id: str, message_id: str) -> None:
        channel = self.channel_or_404(channel_id)
        msg = self.message_or_404(channel, message_id)
        if msg.author_id != self.world.bot_user_id and not channel.is_dm:
            self.need(self.bot_perms(channel.id).manage_messages)
        msg.deleted = True
        self.touch()
        if not channel.is_dm:
            self.emit("MESSAGE_DELETE", {"id": str(msg.id), "channel_id": str(channel.id),
                                         "guild_id": str(self.world.guild_id)})

    @route("GET", "/channels/{channel_id}/messages/{message_id}")
    async def get_message(self, req: Request, channel_id: str, message_id: str) -> dict:
        channel = self.channel_or_404(channel_id)
        if not channel.is_dm:
            p = self.bot_perms(channel.id)
            if not (p.view_channel and p.read_message_history):
                raise missing_access()
        return self.message_or_404(channel, message_id).payload()

    @route("GET", "/channels/{channel_id}/messages")
    async def history(self, req: Request, channel_id: str) -> list:
        channel = self.channel_or_404(channel_id)
        if not channel.is_dm:
            p = self.bot_perms(channel.id)
            if not (p.view_channel and p.read_message_history):
                raise missing_access()
        msgs = [m for m in self.world.messages_in(channel.id) if not m.ephemeral]
        limit = int(req.params.get("limit", 50))
        if "before" in req.params:
            msgs = [m for m in msgs if m.id < int(req.params["before"])]
        if "after" in req.params:
            msgs = [m for m in msgs if m.id > int(req.params["after"])]
            return [m.payload() for m in msgs[:limit]][::-1]
        return [m.payload() for m in msgs[::-1][:limit]]

    @route("POST", "/users/@me/channels")
    async def open_dm(self, req: Request) -> dict:
        user_id = int((req.json or {})["recipient_id"])
        if user_id not in self.world.users:
            raise error(400, 50035, "Invalid Form Body")
        return self.world.dm_channel(user_id).payload()

    # --- reactions -------------------------------------------------------------------------------------
    @route("PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me")
    async def add_reaction(self, req: Request, channel_id: str, message_id: str, emoji: str) -> None:
        channel = self.channel_or_404(channel_id)
        msg = self.message_or_404(channel, message_id)
        if not channel.is_dm:
            p = self.bot_perms(channel.id)
            if not (p.view_channel and p.read_message_history):
                raise missing_access()
            if emoji not in msg.reactions or not msg.reactions[emoji]:
                self.need(p.add_reactions)
        self.harness.apply_reaction(msg, emoji, self.world.bot_user_id, add=True)

    @route("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me")
    async def remove_own_reaction(self, req: Request, channel_id: str, message_id: str, emoji: str) -> None:
        msg = self.message_or_404(self.channel_or_404(channel_id), message_id)
        self.harness.apply_reaction(msg, emoji, self.world.bot_user_id, add=False)

    @route("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/{member_id}")
    async def remove_reaction(self, req: Request, channel_id: str, message_id: str, emoji: str, member_id: str) -> None:
        channel = self.channel_or_404(channel_id)
        msg = self.message_or_404(channel, message_id)
        self.need(self.bot_perms(channel.id).manage_messages)
        self.harness.apply_reaction(msg, emoji, int(member_id), add=False)

    @route("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions")
    async def clear_reactions(self, req: Request, channel_id: str, message_id: str) -> None:
        channel = self.channel_or_404(channel_id)
        msg = self.message_or_404(channel, message_id)
        self.need(self.bot_perms(channel.id).manage_messages)
        msg.reactions.clear()
        self.touch()
        self.emit("MESSAGE_REACTION_REMOVE_ALL", {"channel_id": str(channel.id), "message_id": str(msg.id),
                                                  "guild_id": str(self.world.guild_id)})

    # --- pins -------------------------------------------------------------------------------------------
    @route("PUT", "/channels/{channel_id}/messages/pins/{message_id}")
    async def pin(self, req: Request, channel_id: str, message_id: str) -> None:
        channel = self.channel_or_404(channel_id)
        msg = self.message_or_404(channel, message_id)
        if not channel.is_dm:
            self.need(self.bot_perms(channel.id).manage_messages or self.bot_perms(channel.id).pin_messages)
        msg.pinned = True
        self.touch()

    @route("DELETE", "/channels/{channel_id}/messages/pins/{message_id}")
    async def unpin(self, req: Request, channel_id: str, message_id: str) -> None:
        channel = self.channel_or_404(channel_id)
        msg = self.message_or_404(channel, message_id)
        if not channel.is_dm:
            self.need(self.bot_perms(channel.id).manage_messages or self.bot_perms(channel.id).pin_messages)
        msg.pinned = False
        self.touch()

    # --- native polls ------------------------------------------------------------------------------------
    def attach_poll(self, msg: FakeMessage, poll: dict[str, Any] | None) -> None:
        """A message created with `poll`: Discord numbers the answers from 1 and ends it `duration` hours on."""
        if not poll:
            return
        hours = int(poll.get("duration") or 24)
        msg.poll = FakePoll(self.world, (poll.get("question") or {}).get("text") or "",
                            [(a.get("poll_media") or {}).get("text") or "" for a in poll.get("answers") or []],
                            self.world.now() + timedelta(hours=hours), bool(poll.get("allow_multiselect")))

    @route("POST", "/channels/{channel_id}/polls/{message_id}/expire")
    async def expire_poll(self, req: Request, channel_id: str, message_id: str) -> dict:
        channel = self.channel_or_404(channel_id)
        msg = self.message_or_404(channel, message_id)
        if msg.poll is None:
            raise error(400, 50035, "Invalid Form Body (this message has no poll)")
        if msg.author_id != self.world.bot_user_id:
            raise error(403, 50005, "Cannot edit a message authored by another user")
        if not msg.poll.open:
            raise error(400, 520001, "Poll expired")
        msg.poll.ended = True
        self.touch()
        self.message_event(msg, "MESSAGE_UPDATE")
        return msg.payload()

    @route("GET", "/channels/{channel_id}/polls/{message_id}/answers/{answer_id}")
    async def poll_voters(self, req: Request, channel_id: str, message_id: str, answer_id: str) -> dict:
        msg = self.message_or_404(self.channel_or_404(channel_id), message_id)
        if msg.poll is None:
            raise error(404, 10008, "Unknown Message")
        users = sorted(msg.poll.votes.get(int(answer_id), []))
        if "after" in req.params:
            users = [u for u in users if u > int(req.params["after"])]
        return {"users": [self.world.users[u].payload() for u in users[:int(req.params.get("limit", 25))]]}

    # --- guild scheduled events -----------------------------------------------------------------------------
    def event_or_404(self, event_id: str | int) -> FakeScheduledEvent:
        event = self.world.scheduled_events.get(int(event_id))
        if event is None:
            raise error(404, 10070, "Unknown Guild Scheduled Event")
        return event

    def _event_where(self, body: dict[str, Any], entity_type: int) -> tuple[int | None, str | None]:
        """(channel id, location) as Discord checks them for the entity type."""
        if entity_type == EXTERNAL_EVENT:
            location = (body.get("entity_metadata") or {}).get("location")
            if not location:
                raise invalid_form_body({"entity_metadata": {"location": {"_errors": [
                    {"code": "BASE_TYPE_REQUIRED", "message": "This field is required"}]}}})
            return None, location
        channel = self.channel_or_404(body.get("channel_id") or 0)
        wanted = STAGE if entity_type == STAGE_EVENT else VOICE
        if channel.type != wanted:
            raise invalid_form_body({"channel_id": {"_errors": [
                {"code": "GUILD_SCHEDULED_EVENT_INVALID_CHANNEL_TYPE", "message": "Invalid channel type"}]}})
        self.need(self.bot_perms(channel.id).view_channel)
        return channel.id, None

    @route("POST", "/guilds/{guild_id}/scheduled-events")
    async def create_scheduled_event(self, req: Request, guild_id: str) -> dict:
        p = self.bot_guild_perms()
        self.need(p.create_events or p.manage_events)
        body = req.json or {}
        entity_type = int(body["entity_type"])
        start = datetime.fromisoformat(body["scheduled_start_time"])
        end = datetime.fromisoformat(body["scheduled_end_time"]) if body.get("scheduled_end_time") else None
        if start <= self.world.now():
            raise invalid_form_body({"scheduled_start_time": {"_errors": [
                {"code": "GUILD_SCHEDULED_EVENT_SCHEDULE_PAST", "message": "Cannot schedule event in the past."}]}})
        if entity_type == EXTERNAL_EVENT and end is None:
            raise invalid_form_body({"scheduled_end_time": {"_errors": [
                {"code": "BASE_TYPE_REQUIRED", "message": "This field is required"}]}})
        if end is not None and end <= start:
            raise invalid_form_body({"scheduled_end_time": {"_errors": [
                {"code": "GUILD_SCHEDULED_EVENT_END_BEFORE_START", "message": "Must end after it starts."}]}})
        channel_id, location = self._event_where(body, entity_type)
        event = FakeScheduledEvent(self.world, self.world.new_id(), body["name"], start, end, entity_type,
                                   self.world.bot_user_id, body.get("description"), channel_id, location)
        self.world.scheduled_events[event.id] = event
        self.touch()
        self.emit("GUILD_SCHEDULED_EVENT_CREATE", event.payload())
        return event.payload()

    @route("GET", "/guilds/{guild_id}/scheduled-events")
    async def list_scheduled_events(self, req: Request, guild_id: str) -> list:
        return [e.payload() for e in self.world.scheduled_events.values()]

    @route("GET", "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}")
    async def get_scheduled_event(self, req: Request, guild_id: str, event_id: str) -> dict:
        return self.event_or_404(event_id).payload()

    # Discord's status moves: scheduled -> active | canceled, active -> completed; nothing else
    EVENT_MOVES = {SCHEDULED: (ACTIVE, CANCELED), ACTIVE: (COMPLETED,)}

    @route("PATCH", "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}")
    async def edit_scheduled_event(self, req: Request, guild_id: str, event_id: str) -> dict:
        event = self.event_or_404(event_id)
        p = self.bot_guild_perms()
        self.need(p.manage_events or (p.create_events and event.creator_id == self.world.bot_user_id))
        body = req.json or {}
        if body.get("status") is not None and int(body["status"]) != event.status:
            status = int(body["status"])
            if status not in self.EVENT_MOVES.get(event.status, ()):
                raise error(400, 180000, f"Cannot move a scheduled event from status {event.status} to {status}")
            event.history.append(event.status)
            event.status = status
        if "entity_metadata" in body and body["entity_metadata"] and event.entity_type == EXTERNAL_EVENT:
            event.location = body["entity_metadata"].get("location") or event.location
        for key, attr in (("name", "name"), ("description", "description")):
            if key in body:
                setattr(event, attr, body[key])
        self.touch()
        self.emit("GUILD_SCHEDULED_EVENT_UPDATE", event.payload())
        return event.payload()

    @route("GET", "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}/users")
    async def scheduled_event_users(self, req: Request, guild_id: str, event_id: str) -> list:
        event = self.event_or_404(event_id)
        users = sorted(event.interested)
        if "before" in req.params:
            users = [u for u in users if u < int(req.params["before"])][::-1]
        if "after" in req.params:
            users = [u for u in users if u > int(req.params["after"])]
        users = users[:int(req.params.get("limit", 100))]
        if "before" in req.params:
            users = users[::-1]
        out = []
        for uid in users:
            entry: dict[str, Any] = {"guild_scheduled_event_id": str(event.id), "user": self.world.users[uid].payload()}
            if req.params.get("with_member") in ("true", "True", "1") and uid in self.world.members:
                entry["member"] = self.world.members[uid].payload(with_user=False)
            out.append(entry)
        return out

    # --- members and roles ------------------------------------------------------------------------------
    def member_event(self, member) -> None:
        self.emit("GUILD_MEMBER_UPDATE", member.payload() | {"guild_id": str(self.world.guild_id)})

    def check_role_manageable(self, role) -> None:
        self.need(self.bot_guild_perms().manage_roles)
        if role.managed or role.id == self.world.guild_id:
            raise error(400, 50028, "Invalid Role")
        self.need(role.position < self.bot_top_position())

    @route("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}")
    async def add_member_role(self, req: Request, guild_id: str, user_id: str, role_id: str) -> None:
        member = self.member_or_404(user_id)
        role = self.role_or_404(role_id)
        self.check_role_manageable(role)
        if role.id not in member.role_ids:
            member.role_ids.append(role.id)
            self.touch()
            self.member_event(member)

    @route("DELETE", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}")
    async def remove_member_role(self, req: Request, guild_id: str, user_id: str, role_id: str) -> None:
        member = self.member_or_404(user_id)
        role = self.role_or_404(role_id)
        self.check_role_manageable(role)
        if role.id in member.role_ids:
            member.role_ids.remove(role.id)
            self.touch()
            self.member_event(member)

    @route("PATCH", "/guilds/{guild_id}/members/{user_id}")
    async def edit_member(self, req: Request, guild_id: str, user_id: str) -> dict:
        member = self.member_or_404(user_id)
        body = req.json or {}
        if "roles" in body and body["roles"] is not None:
            new = [int(r) for r in body["roles"]]
            for rid in set(new) ^ set(member.role_ids):
                self.check_role_manageable(self.role_or_404(rid))
            member.role_ids = list(dict.fromkeys(new))
        if "nick" in body:
            self.need(self.bot_guild_perms().manage_nicknames)
            member.nick = body["nick"]
        if "communication_disabled_until" in body:
            self.need(self.bot_guild_perms().moderate_members)
        self.touch()
        self.member_event(member)
        return member.payload()

    @route("GET", "/guilds/{guild_id}/members/{user_id}")
    async def get_member(self, req: Request, guild_id: str, user_id: str) -> dict:
        return self.member_or_404(user_id).payload()

    @route("DELETE", "/guilds/{guild_id}/members/{user_id}")
    async def kick(self, req: Request, guild_id: str, user_id: str) -> None:
        member = self.member_or_404(user_id)
        self.need(self.bot_guild_perms().kick_members)
        top = max((self.world.roles[r].position for r in member.role_ids), default=0)
        self.need(top < self.bot_top_position())
        self.harness.drop_member(member.id)

    @route("GET", "/users/{user_id}")
    async def get_user(self, req: Request, user_id: str) -> dict:
        user = self.world.users.get(int(user_id))
        if user is None:
            raise error(404, 10013, "Unknown User")
        return user.payload()

    @route("GET", "/users/@me")
    async def me(self, req: Request) -> dict:
        return self.world.users[self.world.bot_user_id].payload()

    @route("GET", "/oauth2/applications/@me")
    async def application(self, req: Request) -> dict:
        w = self.world
        return {"id": str(w.application_id), "name": "Kizuna", "description": "", "icon": None,
                "bot_public": False, "bot_require_code_grant": False, "verify_key": "0" * 64, "flags": 0,
                "owner": w.users[w.bot_user_id].payload() | {"bot": False}, "team": None, "summary": "",
                "rpc_origins": [], "interactions_endpoint_url": None, "bot": w.users[w.bot_user_id].payload()}

    @route("GET", "/guilds/{guild_id}/roles")
    async def roles(self, req: Request, guild_id: str) -> list:
        return [r.payload() for r in self.world.roles.values()]

    @route("POST", "/guilds/{guild_id}/roles")
    async def create_role(self, req: Request, guild_id: str) -> dict:
        self.need(self.bot_guild_perms().manage_roles)
        body = req.json or {}
        permissions = int(body.get("permissions") or 0)
        self.need(permissions & ~self.bot_guild_perms().value == 0)
        for r in self.world.roles.values():  # new roles go in at the bottom, like on Discord
            if r.position >= 1:
                r.position += 1
        role = self.world.add_role(body.get("name") or "new role", permissions=permissions,
                                   color=int(body.get("color") or 0), position=1)
        role.hoist = bool(body.get("hoist"))
        role.mentionable = bool(body.get("mentionable"))
        self.touch()
        self.emit("GUILD_ROLE_CREATE", {"guild_id": str(self.world.guild_id), "role": role.payload()})
        return role.payload()

    @route("PATCH", "/guilds/{guild_id}/roles/{role_id}")
    async def edit_role(self, req: Request, guild_id: str, role_id: str) -> dict:
        role = self.role_or_404(role_id)
        self.check_role_manageable(role)
        body = req.json or {}
        for key in ("name", "hoist", "mentionable"):
            if key in body and body[key] is not None:
                setattr(role, key, body[key])
        if body.get("color") is not None:
            role.color = int(body["color"])
        if body.get("permissions") is not None:
            role.permissions = int(body["permissions"])
        self.touch()
        self.emit("GUILD_ROLE_UPDATE", {"guild_id": str(self.world.guild_id), "role": role.payload()})
        return role.payload()

    @route("DELETE", "/guilds/{guild_id}/roles/{role_id}")
    async def delete_role(self, req: Request, guild_id: str, role_id: str) -> None:
        role = self.role_or_404(role_id)
        self.check_role_manageable(role)
        del self.world.roles[role.id]
        for m in self.world.members.values():
            if role.id in m.role_ids:
                m.role_ids.remove(role.id)
        self.touch()
        self.emit("GUILD_ROLE_DELETE", {"guild_id": str(self.world.guild_id), "role_id": str(role.id)})

    # --- channels and overwrites ----------------------------------------------------------------------
    def channel_event(self, channel: FakeChannel, event: str) -> None:
        prefix = "THREAD" if channel.is_thread else "CHANNEL"
        payload = channel.payload()
        if event == "CREATE" and channel.is_thread:
            payload["newly_created"] = True
        self.emit(f"{prefix}_{event}", payload)

    def check_overwrite_grant(self, allow: int, deny: int, channel: FakeChannel | None) -> None:
        """Without Administrator, a bot may only allow or deny permissions it has itself."""
        have = self.bot_perms(channel.id).value if channel is not None else self.bot_guild_perms().value
        self.need((allow | deny) & ~have == 0)

    @route("GET", "/guilds/{guild_id}/channels")
    async def channels(self, req: Request, guild_id: str) -> list:
        return [c.payload() for c in self.world.guild_channels()]

    @route("POST", "/guilds/{guild_id}/channels")
    async def create_channel(self, req: Request, guild_id: str) -> dict:
        self.need(self.bot_guild_perms().manage_channels)
        body = req.json or {}
        for ow in body.get("permission_overwrites") or []:
            self.check_overwrite_grant(int(ow.get("allow") or 0), int(ow.get("deny") or 0), None)
        channel = self.world.add_channel(body["name"], type=int(body.get("type") or TEXT),
                                         topic=body.get("topic") or "",
                                         parent_id=int(body["parent_id"]) if body.get("parent_id") else None)
        for ow in body.get("permission_overwrites") or []:
            channel.overwrites[int(ow["id"])] = (int(ow.get("type") or 0), int(ow.get("allow") or 0),
                                                 int(ow.get("deny") or 0))
        if channel.is_forum:
            self.set_available_tags(channel, body.get("available_tags") or [])
        self.touch()
        self.channel_event(channel, "CREATE")
        return channel.payload()

    @route("GET", "/channels/{channel_id}")
    async def get_channel(self, req: Request, channel_id: str) -> dict:
        """A channel or thread by id (discord.py's fetch_channel: a post archived out of the cache)."""
        channel = self.channel_or_404(channel_id)
        if not channel.is_dm and not self.bot_perms(channel.id).view_channel:
            raise missing_access()
        return channel.payload()

    @route("PATCH", "/channels/{channel_id}")
    async def edit_channel(self, req: Request, channel_id: str) -> dict:
        channel = self.channel_or_404(channel_id)
        body = req.json or {}
        if channel.is_thread:
            self.need(self.bot_perms(channel.id).manage_threads or channel.owner_id == self.world.bot_user_id)
            if body.get("archived") is not None:
                self.set_archived(channel, bool(body["archived"]))
            if body.get("locked") is not None:
                channel.locked = bool(body["locked"])
            if body.get("applied_tags") is not None:
                self.apply_tags(channel, body["applied_tags"])
        elif channel.is_forum and body.get("available_tags") is not None:
            self.need(self.bot_perms(channel.id).manage_channels)
            self.set_available_tags(channel, body["available_tags"])
        else:
            self.need(self.bot_perms(channel.id).manage_channels)
            if "permission_overwrites" in body and body["permission_overwrites"] is not None:
                self.need(self.bot_perms(channel.id).manage_roles)
                new = {}
                for ow in body["permission_overwrites"]:
                    allow, deny = int(ow.get("allow") or 0), int(ow.get("deny") or 0)
                    old = channel.overwrites.get(int(ow["id"]), (0, 0, 0))
                    self.check_overwrite_grant(allow ^ old[1], deny ^ old[2], channel)
                    new[int(ow["id"])] = (int(ow.get("type") or 0), allow, deny)
                channel.overwrites = new
        if body.get("name"):
            channel.name = body["name"]
        if "topic" in body:
            channel.topic = body["topic"] or ""
        self.touch()
        self.channel_event(channel, "UPDATE")
        return channel.payload()

    @route("DELETE", "/channels/{channel_id}")
    async def delete_channel(self, req: Request, channel_id: str) -> dict:
        channel = self.channel_or_404(channel_id)
        if channel.is_thread:
            self.need(self.bot_perms(channel.id).manage_threads)
        else:
            self.need(self.bot_perms(channel.id).manage_channels)
        channel.deleted = True
        self.touch()
        payload = channel.payload()
        self.emit("THREAD_DELETE" if channel.is_thread else "CHANNEL_DELETE", payload)
        return payload

    @route("PUT", "/channels/{channel_id}/permissions/{target}")
    async def put_overwrite(self, req: Request, channel_id: str, target: str) -> None:
        channel = self.channel_or_404(channel_id)
        p = self.bot_perms(channel.id)
        self.need(p.manage_roles)
        body = req.json or {}
        allow, deny = int(body.get("allow") or 0), int(body.get("deny") or 0)
        old = channel.overwrites.get(int(target), (0, 0, 0))
        self.check_overwrite_grant(allow ^ old[1], deny ^ old[2], channel)
        channel.overwrites[int(target)] = (int(body.get("type") or 0), allow, deny)
        self.touch()
        self.channel_event(channel, "UPDATE")

    @route("DELETE", "/channels/{channel_id}/permissions/{target}")
    async def delete_overwrite(self, req: Request, channel_id: str, target: str) -> None:
        channel = self.channel_or_404(channel_id)
        self.need(self.bot_perms(channel.id).manage_roles)
        channel.overwrites.pop(int(target), None)
        self.touch()
        self.channel_event(channel, "UPDATE")

    # --- threads ----------------------------------------------------------------------------------------
    @route("POST", "/channels/{channel_id}/messages/{message_id}/threads")
    async def thread_from_message(self, req: Request, channel_id: str, message_id: str) -> dict:
        channel = self.channel_or_404(channel_id)
        msg = self.message_or_404(channel, message_id)
        p = self.bot_perms(channel.id)
        if not p.view_channel:
            raise missing_access()
        self.need(p.create_public_threads)
        if msg.thread is not None:
            raise error(400, 160004, "A thread has already been created for this message")
        body = req.json or {}
        thread = self.world.add_channel(body["name"], type=PUBLIC_THREAD, parent_id=channel.id,
                                        owner_id=self.world.bot_user_id)
        thread.starter_message_id = msg.id
        thread.thread_members.add(self.world.bot_user_id)
        self.touch()
        self.channel_event(thread, "CREATE")
        return thread.payload()

    @route("POST", "/channels/{channel_id}/threads")
    async def thread_without_message(self, req: Request, channel_id: str) -> dict:
        channel = self.channel_or_404(channel_id)
        body = req.json or {}
        if channel.is_forum:
            return self.create_forum_post(channel, body, req.files)
        kind = int(body.get("type") or PRIVATE_THREAD)
        p = self.bot_perms(channel.id)
        if not p.view_channel:
            raise missing_access()
        self.need(p.create_private_threads if kind == PRIVATE_THREAD else p.create_public_threads)
        thread = self.world.add_channel(body["name"], type=kind, parent_id=channel.id,
                                        owner_id=self.world.bot_user_id)
        thread.thread_members.add(self.world.bot_user_id)
        self.touch()
        self.channel_event(thread, "CREATE")
        if "message" in body:  # forum posts
            self.new_message(thread, self.world.bot_user_id, body["message"], req.files, may_mention_everyone=False)
        return thread.payload()

    @route("GET", "/guilds/{guild_id}/threads/active")
    async def active_threads(self, req: Request, guild_id: str) -> dict:
        """Every thread not archived that the bot can see, newest first, with the bot's own thread
        memberships (what a start reads to catch up on posts opened while it was away)."""
        if int(guild_id) != self.world.guild_id:
            raise missing_access()
        threads = sorted((c for c in self.world.channels.values()
                          if c.is_thread and not c.deleted and not c.archived and self.bot_perms(c.id).view_channel),
                         key=lambda c: c.id, reverse=True)
        return {"threads": [c.payload() for c in threads], "has_more": False,
                "members": [self.thread_member(c) for c in threads if self.world.bot_user_id in c.thread_members]}

    @route("GET", "/channels/{channel_id}/threads/archived/public")
    async def archived_public_threads(self, req: Request, channel_id: str) -> dict:
        """A channel's (or forum's) archived public threads, the most recently archived first; `before`
        (an ISO time) and `limit` (2-100, default 50) page through them."""
        channel = self.channel_or_404(channel_id)
        p = self.bot_perms(channel.id)
        if not p.view_channel:
            raise missing_access()
        self.need(p.read_message_history)
        limit = int(req.params.get("limit") or 50)
        if not 2 <= limit <= 100:
            raise invalid_form_body({"limit": {"_errors": [{"code": "NUMBER_TYPE_MAX", "message": "2 to 100"}]}})
        before = datetime.fromisoformat(req.params["before"]) if req.params.get("before") else None
        threads = sorted((c for c in channel.threads if c.type == PUBLIC_THREAD and c.archived and not c.deleted
                          and (before is None or (c.archived_at or self.world.now()) < before)),
                         key=lambda c: (c.archived_at or self.world.now(), c.id), reverse=True)
        page = threads[:limit]
        return {"threads": [c.payload() for c in page], "has_more": len(threads) > limit,
                "members": [self.thread_member(c) for c in page if self.world.bot_user_id in c.thread_members]}

    def set_archived(self, thread: FakeChannel, archived: bool) -> None:
        if archived != thread.archived:
            thread.archived, thread.archived_at = archived, (self.world.now() if archived else None)

    def thread_member(self, thread: FakeChannel) -> dict:
        return {"id": str(thread.id), "user_id": str(self.world.bot_user_id), "join_timestamp": iso(self.world.now()),
                "flags": 0}

    # --- forums (type 15): posts are threads whose starter message shares their id ------------------------
    MAX_FORUM_TAGS = 20  # Discord: a forum has at most 20 tags, a post carries at most 5
    MAX_APPLIED_TAGS = 5

    def set_available_tags(self, forum: FakeChannel, tags: list[dict[str, Any]]) -> None:
        """A forum's tag list as sent: tags with an id are kept (renamed), new ones get an id."""
        if len(tags) > self.MAX_FORUM_TAGS:
            raise invalid_form_body({"available_tags": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH",
                                                                     "message": "Must be 20 or fewer in length."}]}})
        names = [t.get("name") for t in tags]
        if len(set(names)) != len(names):
            raise error(400, 40061, "Tag names must be unique")
        known = {t["id"]: t for t in forum.available_tags}
        out = []
        for t in tags:
            tid = str(t["id"]) if t.get("id") else str(self.world.new_id())
            if t.get("id") and tid not in known:
                raise error(400, 50035, "Invalid Form Body (unknown tag id)")
            out.append({"id": tid, "name": t["name"], "moderated": bool(t.get("moderated")),
                        "emoji_id": str(t["emoji_id"]) if t.get("emoji_id") else None,
                        "emoji_name": t.get("emoji_name")})
        forum.available_tags = out
        for post in forum.threads:  # tags removed from the forum fall off its posts
            post.applied_tags = [a for a in post.applied_tags if str(a) in {t["id"] for t in out}]

    def check_tags(self, forum: FakeChannel, tag_ids: list[Any], user_id: int) -> list[int]:
        if not isinstance(tag_ids, list) or not all(str(t).isdigit() for t in tag_ids):
            raise invalid_form_body({"applied_tags": {"_errors": [{"code": "LIST_TYPE_CONVERT",
                                                                   "message": "Only iterables may be used in a ListType"}]}})
        ids = [int(t) for t in tag_ids]
        if len(ids) > self.MAX_APPLIED_TAGS:
            raise invalid_form_body({"applied_tags": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH",
                                                                   "message": "Must be 5 or fewer in length."}]}})
        tags = {int(t["id"]): t for t in forum.available_tags}
        for tid in ids:
            if tid not in tags:
                raise error(400, 50035, f"Invalid Form Body (tag {tid} is not a tag of this forum)")
            if tags[tid]["moderated"] and not self.perms(user_id, forum.id).manage_threads:
                raise missing_permissions()
        return list(dict.fromkeys(ids))

    def apply_tags(self, post: FakeChannel, tag_ids: list[Any]) -> None:
        forum = post.parent
        if forum is None or not forum.is_forum:
            raise error(400, 50024, "Cannot execute action on this channel type")
        post.applied_tags = self.check_tags(forum, tag_ids, self.world.bot_user_id)

    def open_forum_post(self, forum: FakeChannel, author_id: int, name: str, message: dict[str, Any],
                        files: list, tag_ids: list[Any], *, may_mention_everyone: bool) -> tuple[FakeChannel, FakeMessage]:
        """The post (a public thread) and its starter message, whose id is the post's id."""
        if not name or len(name) > 100:
            raise error(400, 50035, "Invalid Form Body (a post's name is 1-100 characters)")
        if not (message.get("content") or message.get("embeds") or files or message.get("components")):
            raise error(400, 50006, "Cannot send an empty message")
        tags = self.check_tags(forum, tag_ids, author_id)
        post = self.world.add_channel(name, type=PUBLIC_THREAD, parent_id=forum.id, owner_id=author_id)
        post.applied_tags = tags
        post.thread_members.add(author_id)
        starter = self.new_message(post, author_id, message, files, may_mention_everyone=may_mention_everyone,
                                   message_id=post.id)
        self.touch()
        return post, starter

    def create_forum_post(self, forum: FakeChannel, body: dict[str, Any], files: list) -> dict:
        p = self.bot_perms(forum.id)
        if not p.view_channel:
            raise missing_access()
        self.need(p.send_messages)
        message = body.get("message") or {}
        if message.get("embeds"):
            self.need(p.embed_links)
        post, starter = self.open_forum_post(forum, self.world.bot_user_id, body.get("name") or "", message, files,
                                             body.get("applied_tags") or [], may_mention_everyone=False)
        self.channel_event(post, "CREATE")
        self.message_event(starter)
        return post.payload() | {"message": starter.payload()}

    @route("PUT", "/channels/{channel_id}/thread-members/@me")
    async def join_thread(self, req: Request, channel_id: str) -> None:
        self.channel_or_404(channel_id).thread_members.add(self.world.bot_user_id)

    @route("PUT", "/channels/{channel_id}/thread-members/{user_id}")
    async def add_thread_member(self, req: Request, channel_id: str, user_id: str) -> None:
        thread = self.channel_or_404(channel_id)
        self.need(self.bot_perms(thread.id).send_messages_in_threads)
        self.member_or_404(user_id)
        thread.thread_members.add(int(user_id))
        self.touch()

    @route("DELETE", "/channels/{channel_id}/thread-members/{user_id}")
    async def remove_thread_member(self, req: Request, channel_id: str, user_id: str) -> None:
        thread = self.channel_or_404(channel_id)
        self.need(self.bot_perms(thread.id).manage_threads or thread.owner_id == self.world.bot_user_id)
        thread.thread_members.discard(int(user_id))
        self.touch()

    # --- webhooks -----------------------------------------------------------------------------------------
    @route("GET", "/channels/{channel_id}/webhooks")
    async def channel_webhooks(self, req: Request, channel_id: str) -> list:
        channel = self.channel_or_404(channel_id)
        self.need(self.bot_perms(channel.id).manage_webhooks)
        return [h for h in self.world.webhooks.values() if h["channel_id"] == str(channel.id)]

    @route("POST", "/channels/{channel_id}/webhooks")
    async def create_webhook(self, req: Request, channel_id: str) -> dict:
        channel = self.channel_or_404(channel_id)
        self.need(self.bot_perms(channel.id).manage_webhooks)
        hook_id = self.world.new_id()
        hook = {"id": str(hook_id), "type": discord.WebhookType.incoming.value, "guild_id": str(self.world.guild_id),
                "channel_id": str(channel.id),
                "name": (req.json or {}).get("name"), "avatar": None, "token": f"webhook-token-{hook_id}",
                "application_id": str(self.world.application_id),
                "user": self.world.users[self.world.bot_user_id].payload()}
        self.world.webhooks[hook_id] = hook
        self.touch()
        return hook

    # --- application commands -------------------------------------------------------------------------
    def _store_commands(self, scope: str, body: list) -> list:
        out = []
        for cmd in body or []:
            cmd = {"description": "", "options": [], "nsfw": False, "dm_permission": True} | cmd
            out.append(cmd | {"id": str(self.world.new_id()), "application_id": str(self.world.application_id),
                              "version": str(self.world.new_id()), "default_member_permissions":
                                  cmd.get("default_member_permissions"), "type": cmd.get("type", CHAT_INPUT)}
                       | ({"guild_id": scope} if scope != "global" else {}))
        self.world.commands[scope] = out
        return out

    @route("PUT", "/applications/{application_id}/commands")
    async def sync_global(self, req: Request, application_id: str) -> list:
        return self._store_commands("global", req.json)

    @route("PUT", "/applications/{application_id}/guilds/{guild_id}/commands")
    async def sync_guild(self, req: Request, application_id: str, guild_id: str) -> list:
        return self._store_commands(guild_id, req.json)

    @route("GET", "/applications/{application_id}/commands")
    async def global_commands(self, req: Request, application_id: str) -> list:
        return self.world.commands.get("global", [])

    @route("GET", "/applications/{application_id}/guilds/{guild_id}/commands")
    async def guild_commands(self, req: Request, application_id: str, guild_id: str) -> list:
        return self.world.commands.get(guild_id, [])

    # --- interactions and webhooks (through the webhook adapter) -------------------------------------------
    def interaction_or_404(self, token: str) -> Reply:
        record = self.interactions.get(token)
        if record is None or self.world.now() - record.created_at > INTERACTION_TOKEN_LIFETIME:
            raise error(404, 10015, "Unknown Webhook")
        return record

    @route("POST", "/interactions/{interaction_id}/{interaction_token}/callback")
    async def interaction_callback(self, req: Request, interaction_id: str, interaction_token: str) -> dict | None:
        record = self.interactions.get(interaction_token)
        if record is None or str(record.id) != interaction_id:
            raise error(404, 10062, "Unknown interaction")
        if record.responded:
            raise error(400, 40060, "Interaction has already been acknowledged.")
        body = req.json or {}
        kind = discord.enums.try_enum(IRT, int(body["type"]))
        data = body.get("data") or {}
        if kind in (IRT.deferred_message_update, IRT.message_update) and record.type not in FROM_A_MESSAGE:
            raise error(400, 50035, "Invalid Form Body (this response type is only for component interactions)")
        if kind is IRT.modal and record.type == IT.modal_submit.value:
            raise error(400, 50035, "Invalid Form Body (a modal cannot answer a modal submission)")
        record.response_type = kind.value
        channel = self.world.channels.get(record.channel_id) if record.channel_id else None
        message: FakeMessage | None = None
        if kind is IRT.channel_message:
            message = self.interaction_message(record, channel, data, req.files)
        elif kind is IRT.deferred_channel_message:
            message = self.interaction_message(record, channel, {"flags": int(data.get("flags") or 0) | LOADING},
                                               [])
        elif kind is IRT.message_update:
            message = self.world.messages.get(record.source_message_id or 0)
            if message is not None:
                record.message_ids.append(message.id)  # the reply *is* the updated message
                self.edit_message(message, data, req.files)
                self.message_event(message, "MESSAGE_UPDATE")
        elif kind is IRT.autocomplete_result:
            if record.type != IT.autocomplete.value:
                raise error(400, 50035, "Invalid Form Body (autocomplete results answer autocomplete only)")
            record.choices = list(data.get("choices") or [])
        elif kind is IRT.modal:
            record.modal = data
            self.harness.modal_shown(record, data)
        self.touch()
        if req.params.get("with_response") not in ("true", "True", "1"):
            return None  # Discord answers 204 No Content unless asked for the response (bot/fast_clicks.py)
        response: dict[str, Any] = {"interaction": {
            "id": str(record.id), "type": record.type, "activity_instance_id": None,
            "response_message_id": str(message.id) if message else None,
            "response_message_loading": kind is IRT.deferred_channel_message,
            "response_message_ephemeral": bool(message and message.ephemeral)}}
        if message is not None:
            response["resource"] = {"type": kind.value, "message": message.payload()}
        else:
            response["resource"] = {"type": kind.value}
        return response

    def interaction_message(self, record: Reply, channel: FakeChannel | None, data: dict[str, Any],
                            files: list) -> FakeMessage:
        target = channel or self.world.dm_channel(record.user_id)
        msg = self.new_message(target, self.world.bot_user_id, data, files, may_mention_everyone=True,
                               interaction_id=record.id, interaction_user_id=record.user_id)
        if record.original_id is None:
            record.original_id = msg.id
        record.message_ids.append(msg.id)
        self.message_event(msg)
        return msg

    def resolve_webhook_message(self, record: Reply, message_id: str) -> FakeMessage:
        if message_id == "@original":
            mid = record.original_id or (record.source_message_id if record.type in FROM_A_MESSAGE else None)
            if mid is None:
                raise error(404, 10008, "Unknown Message")
        else:
            mid = int(message_id)
        msg = self.world.messages.get(mid)
        if msg is None or msg.deleted:
            raise error(404, 10008, "Unknown Message")
        return msg

    @route("POST", "/webhooks/{webhook_id}/{webhook_token}")
    async def execute_webhook(self, req: Request, webhook_id: str, webhook_token: str) -> dict | None:
        body = req.json or {}
        if int(webhook_id) == self.world.application_id:  # an interaction follow-up
            record = self.interaction_or_404(webhook_token)
            if not record.responded:
                raise error(404, 10015, "Unknown Webhook")
            original = self.world.messages.get(record.original_id or 0)
            deferred = record.response_type == IRT.deferred_channel_message.value
            if deferred and original is not None and original.flags & LOADING:
                # the first follow-up after a deferral fills the "thinking..." message
                filled = {k: v for k, v in body.items() if k != "flags"}
                if int(body.get("flags") or 0) & COMPONENTS_V2:  # a layout reply keeps its flag (issue 20)
                    filled["flags"] = COMPONENTS_V2
                self.edit_message(original, filled, req.files)
                self.message_event(original, "MESSAGE_UPDATE")
                return original.payload()
            channel = self.world.channels.get(record.channel_id) if record.channel_id else None
            msg = self.interaction_message(record, channel, body, req.files)
            return msg.payload()
        hook = self.world.webhooks.get(int(webhook_id))
        if hook is None or hook["token"] != webhook_token:
            raise error(404, 10015, "Unknown Webhook")
        channel = self.channel_or_404(hook["channel_id"])
        msg = self.new_message(channel, self.world.bot_user_id, body, req.files, may_mention_everyone=False,
                               webhook_id=int(webhook_id), username=body.get("username") or hook["name"])
        self.message_event(msg)
        return msg.payload() if req.params.get("wait") in ("true", "True", "1") else None

    @route("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}")
    async def edit_webhook_message(self, req: Request, webhook_id: str, webhook_token: str, message_id: str) -> dict:
        msg = self._webhook_message(webhook_id, webhook_token, message_id)
        self.edit_message(msg, req.json or {}, req.files)
        self.message_event(msg, "MESSAGE_UPDATE")
        return msg.payload()

    @route("GET", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}")
    async def get_webhook_message(self, req: Request, webhook_id: str, webhook_token: str, message_id: str) -> dict:
        return self._webhook_message(webhook_id, webhook_token, message_id).payload()

    @route("DELETE", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}")
    async def delete_webhook_message(self, req: Request, webhook_id: str, webhook_token: str, message_id: str) -> None:
        msg = self._webhook_message(webhook_id, webhook_token, message_id)
        msg.deleted = True
        self.touch()
        if not msg.ephemeral and not msg.channel.is_dm:
            self.emit("MESSAGE_DELETE", {"id": str(msg.id), "channel_id": str(msg.channel_id),
                                         "guild_id": str(self.world.guild_id)})

    def _webhook_message(self, webhook_id: str, webhook_token: str, message_id: str) -> FakeMessage:
        if int(webhook_id) == self.world.application_id:
            record = self.interaction_or_404(webhook_token)
            return self.resolve_webhook_message(record, message_id)
        hook = self.world.webhooks.get(int(webhook_id))
        if hook is None or hook["token"] != webhook_token:
            raise error(404, 10015, "Unknown Webhook")
        msg = self.world.messages.get(int(message_id))
        if msg is None or msg.webhook_id != int(webhook_id) or msg.deleted:
            raise error(404, 10008, "Unknown Message")
        return msg

    # --- application emojis (issue 20) ---------------------------------------------------------------------
    def _application_or_404(self, application_id: str) -> None:
        if int(application_id) != self.world.application_id:
            raise error(404, 10002, "Unknown Application")

    def _emoji_payload(self, emoji: dict[str, Any]) -> dict[str, Any]:
        return {"id": str(emoji["id"]), "name": emoji["name"], "roles": [], "require_colons": True,
                "managed": False, "animated": emoji["animated"], "available": True,
                "user": self.world.users[self.world.bot_user_id].payload()}

    @route("GET", "/applications/{application_id}/emojis")
    async def application_emojis(self, req: Request, application_id: str) -> dict:
        self._application_or_404(application_id)
        return {"items": [self._emoji_payload(e) for e in self.world.application_emojis.values()]}

    @route("POST", "/applications/{application_id}/emojis")
    async def create_application_emoji(self, req: Request, application_id: str) -> dict:
        """As Discord: a data URI of a PNG, JPEG or GIF of at most 256 KiB; a name is taken once."""
        import base64
        import binascii

        self._application_or_404(application_id)
        body = req.json or {}
        name, image = body.get("name", ""), body.get("image", "")
        if any(e["name"] == name for e in self.world.application_emojis.values()):
            raise invalid_form_body({"name": {"_errors": [{"code": "APPLICATION_EMOJI_NAME_ALREADY_TAKEN",
                                                           "message": "Emoji name already taken."}]}})
        match = re.fullmatch(r"data:(image/(?:png|jpeg|gif));base64,(.+)", image, re.S)
        try:
            data = base64.b64decode(match.group(2), validate=True) if match else b""
        except binascii.Error:
            data = b""
        if not data or len(data) > 256 * 1024:
            raise invalid_form_body({"image": {"_errors": [{"code": "BINARY_TYPE_MAX_SIZE" if data else "IMAGE_INVALID",
                                                            "message": "Invalid image (a PNG, JPEG or GIF data URI of"
                                                                       " at most 256 KiB)."}]}})
        if len(self.world.application_emojis) >= 2000:
            raise error(400, 30018, "Maximum number of application emojis reached (2000)")
        emoji = {"id": self.world.new_id(), "name": name, "animated": match.group(1) == "image/gif", "image": data}
        self.world.application_emojis[emoji["id"]] = emoji
        self.touch()
        return self._emoji_payload(emoji)


# these routes exist twice in the spec (/messages/@original and /messages/{message_id}); one handler serves both
for _m in ("PATCH", "GET", "DELETE"):
    ROUTES[(_m, "/webhooks/{}/{}/messages/@original")] = (
        lambda self, req, webhook_id, webhook_token, _f=ROUTES[(_m, "/webhooks/{}/{}/messages/{}")]:
        _f(self, req, webhook_id, webhook_token, "@original"))


class FakeWebhookAdapter(AsyncWebhookAdapter):
    """discord.py sends interaction responses, follow-ups and webhook posts through this adapter."""

    def __init__(self, fake: FakeDiscord) -> None:
        super().__init__()
        self.fake = fake

    async def request(self, route: Route, session=None, *, payload=None, multipart=None, proxy=None,
                      proxy_auth=None, files=None, reason=None, auth_token=None, params=None) -> Any:
        body = payload
        uploaded: list[tuple[str, bytes]] = []
        if multipart:
            body, uploaded = _files_from(files, multipart)
        req = Request(route.method, route.path, route.url, body, uploaded,
                      {k: str(v) for k, v in (params or {}).items()})
        return await self.fake.handle(req)


def components_of(payload_components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return list(walk_components(payload_components))
