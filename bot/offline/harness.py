"""The harness: the real KizunaBot against the fake Discord, driven by a small API (docs/HARNESS.md).

discord.py does everything real: the command tree parses options and runs checks, views and modals
dispatch, dynamic items match custom_ids. Only the two network doors are replaced: the bot's
`HTTPClient.request` and discord.py's webhook adapter (interaction responses), both answered by
`FakeDiscord` from the in-memory `World`. Gateway events are fed through the bot's own parsers.
"""
from __future__ import annotations

import asyncio
import logging
import re
import tempfile
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import discord
from discord import app_commands
from discord.enums import AppCommandOptionType as OT
from discord.enums import AppCommandType, ButtonStyle, ReactionType
from discord.enums import ComponentType as CT
from discord.enums import InteractionType as IT
from discord.app_commands.transformers import IdentityTransformer
from discord.webhook.async_ import async_context

from bot.clock import FakeClock
from bot.config import Config, load_config
from bot.services.layout import desired_layout

from . import automod as fake_automod
from . import modal_inputs
from .http import FakeDiscord, FakeWebhookAdapter, Reply, error
from .settle import LoopWatch
from .spec import Spec
from .world import (BOT_ROLE, FORUM, MODERATOR_ROLE, SELECTS, TEXT, FakeChannel, FakeMember, FakeMessage, World,
                    perms)
from .world import ACTIVE, SCHEDULED, STAGE, VOICE, FakeScheduledEvent

log = logging.getLogger(__name__)

DEFAULT_USERS: dict[str, list[str]] = {
    "mod": ["moderator", "member"],
    "alice": ["member"],
    "bob": ["member"],
    "carol": ["member"],
    "vera": ["visitor"],
}
ATTACHMENT_LIMIT = 10 * 1024 * 1024

# Discord's protocol numbers, named. Payloads carry the plain numbers (`.value` of discord.py's enums);
# the few without a public enum in discord.py are named here.
ROLE_OVERWRITE, MEMBER_OVERWRITE = 0, 1  # a permission overwrite's `type`
IN_GUILD, IN_BOT_DM = 0, 1  # an interaction's `context` (InteractionContextType)
GUILD_INSTALL, USER_INSTALL = "0", "1"  # keys of `authorizing_integration_owners` (ApplicationIntegrationType)
QUIET_ROUNDS = 4  # turns of the loop with no task stepping before the bot counts as quiet: a result
#                   handed over by a thread or a done-callback wakes its task within two turns


class HarnessError(AssertionError):
    """The test drove the harness into something Discord would not allow, or the bot failed."""


class OptionRefused(HarnessError):
    """Discord's client would not send this (missing required option, out of range, not a choice...)."""


class BotError(HarnessError):
    """The bot logged an unexpected exception while handling a step (strict mode)."""


class _ErrorCatcher(logging.Handler):
    """Collects ERROR records with a traceback from the bot, its cogs and discord.py."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.name.split(".")[0] in ("bot", "cogs", "discord"):
            self.records.append(record)


class _ClientSideTransformer(IdentityTransformer):
    """Names the option type in discord.py's TransformerError ("Failed to convert abc to int")."""

    NAMES = {OT.integer: "int", OT.number: "float", OT.boolean: "bool", OT.user: "user", OT.channel: "channel",
             OT.role: "role", OT.mentionable: "mentionable", OT.attachment: "attachment", OT.string: "str"}

    @property
    def _error_display_name(self) -> str:
        return self.NAMES.get(self.type, self.type.name)


@dataclass
class ShownModal:
    data: dict[str, Any]
    reply: Reply


class _Starting:
    """`Harness.start(...)` is both awaitable and an async context manager."""

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.harness: Harness | None = None

    def __await__(self):
        return self._go().__await__()

    async def _go(self) -> "Harness":
        self.harness = Harness(**self.kwargs)
        try:
            await self.harness._boot()
        except BaseException:
            await self.harness.close(check=False)
            raise
        return self.harness

    async def __aenter__(self) -> "Harness":
        return await self._go()

    async def __aexit__(self, exc_type, exc, tb) -> None:
        if self.harness is not None:
            await self.harness.close(check=exc_type is None)


class Harness:
    def __init__(self, *, config: str | Path | Config = "config", db_path: str | Path | None = None,
                 clock: FakeClock | None = None, users: Mapping[str, Iterable[str]] | None = None,
                 spec: Spec | None = None, strict: bool = True, language: str | None = None) -> None:
        self.config: Config = config if isinstance(config, Config) else load_config(config)
        self._tmp: tempfile.TemporaryDirectory | None = None
        if db_path is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="kizuna-harness-")
            db_path = Path(self._tmp.name) / "kizuna.db"
        # a SQLite file, or a postgresql:// URL (kept as text: a Path would fold its //)
        self.db_path = db_path if str(db_path).startswith(("postgresql://", "postgres://")) else Path(db_path)
        self.clock = clock or FakeClock()
        self.spec = spec or Spec.load()
        self.strict = strict
        self.locale = {"ja": "ja", "en": "en-US"}[language or self.config.community.info.language]
        self.world = World(self.clock, guild_id=self.config.community.info.guild_id)
        self.fake = FakeDiscord(self.world, self.spec, self)
        self.adapter = FakeWebhookAdapter(self.fake)
        self.bot: Any = None
        self.modals: dict[int, ShownModal] = {}
        self.replies: list[Reply] = []
        self._pending_events = 0
        self._watch: LoopWatch | None = None
        self._errors: list[BaseException] = []
        self._catcher = _ErrorCatcher()
        self._perm_cache: tuple[int, discord.Guild] | None = None
        self._closed = False
        self._settle_lock: asyncio.Lock | None = None
        self._gateway_held: list[tuple[str, dict[str, Any]]] | None = None  # events held while disconnected
        self._stopped = False  # the bot is down (stop_bot): members still act, no event reaches anyone
        self._seed(users if users is not None else DEFAULT_USERS)

    @classmethod
    def start(cls, **kwargs: Any) -> _Starting:
        return _Starting(**kwargs)

    # --- the seeded guild ---------------------------------------------------------------------------
    def _seed(self, users: Mapping[str, Iterable[str]]) -> None:
        w = self.world
        community = self.config.community
        layout = desired_layout(self.config)
        mod_key = community.moderation.moderator_role
        for position, rl in enumerate(layout.roles, start=1):
            spec = community.roles[rl.key]
            w.add_role(rl.name, key=rl.key, color=rl.color or 0, position=position, role_id=spec.id,
                       permissions=MODERATOR_ROLE if rl.key == mod_key else 0)
        w.bot_role = w.add_role("Kizuna", permissions=BOT_ROLE)
        w.bot_role.managed = True  # the bot's integration role, like on Discord
        w.add_member(w.users[w.bot_user_id], [w.bot_role.id])
        for cl in layout.channels:
            spec = community.channels[cl.key]
            channel = w.add_channel(cl.name, key=cl.key, topic=cl.topic, channel_id=spec.id,
                                    type={"forum": FORUM, "voice": VOICE, "stage": STAGE}.get(cl.type, TEXT))
            for tag in cl.tags:  # a forum's tags, as /setup makes them
                w.add_forum_tag(channel, tag)
            for target, ow in cl.overwrites.items():
                if target == "@everyone":
                    tid, kind = w.guild_id, ROLE_OVERWRITE
                elif target == "@bot":
                    tid, kind = w.bot_user_id, MEMBER_OVERWRITE
                else:
                    tid, kind = w.role(target).id, ROLE_OVERWRITE
                channel.overwrites[tid] = (kind, perms(*ow.allow), perms(*ow.deny))
        for name, role_keys in users.items():
            self.add_member(name, roles=list(role_keys), announce=False)

    # --- life cycle ---------------------------------------------------------------------------------------
    async def _boot(self) -> None:
        self._watch = LoopWatch.of(asyncio.get_running_loop())
        for name in ("bot", "cogs", "discord"):
            logging.getLogger(name).addHandler(self._catcher)
        await self._start_bot()

    async def _start_bot(self) -> None:
        from bot.client import KizunaBot

        async_context.set(self.adapter)
        bot = KizunaBot(self.config, clock=self.clock, db_path=self.db_path, real_scheduler=False,
                        guild_id=self.world.guild_id, chunk_guilds_at_startup=False, guild_ready_timeout=0)
        self.bot = bot
        self._perm_cache = None
        self.fake.install(bot)
        await bot.login("offline-harness-token")  # GET /users/@me, application info, then setup_hook
        self.deliver("READY", self._gateway_ready())
        await self.settle()

    def _gateway_ready(self) -> dict[str, Any]:
        return {
            "v": 10, "user": self.world.users[self.world.bot_user_id].payload(), "guilds": [self.world.guild_payload()],
            "session_id": "offline", "resume_gateway_url": "wss://offline.invalid", "shard": [0, 1],
            "application": {"id": str(self.world.application_id), "flags": 0}, "private_channels": [],
            "relationships": [], "presences": [], "guild_join_requests": [], "geo_ordered_rtc_regions": [],
        }

    async def restart(self) -> None:
        """Close the bot (app, DB, scheduler) and start a new KizunaBot on the same DB, world and clock."""
        await self.stop_bot()
        await self.start_bot()

    async def stop_bot(self) -> None:
        """The bot goes down (a deploy, a crash handled cleanly). Until `start_bot`, members may still post,
        say and react in the world; no gateway event reaches anyone and Discord never replays them to the
        next session, which sees only the world as it then is (READY, REST). `advance` only moves the clock."""
        await self.settle()
        await self.bot.close()
        self.modals.clear()
        self._stopped = True

    async def start_bot(self) -> None:
        """A new KizunaBot on the same DB, world and clock (after `stop_bot`)."""
        self._stopped = False
        await self._start_bot()

    @asynccontextmanager
    async def bot_stopped(self):
        """`async with g.bot_stopped(): ...`: what the block does happens while the bot is down; it starts
        again at the end."""
        await self.stop_bot()
        try:
            yield self
        finally:
            await self.start_bot()

    async def close(self, *, check: bool = True) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self.bot is not None and not self.bot.is_closed():
                if check:
                    await self.settle()
                await self.bot.close()
        finally:
            for name in ("bot", "cogs", "discord"):
                logging.getLogger(name).removeHandler(self._catcher)
            if self._tmp is not None:
                self._tmp.cleanup()
        if check:
            self._raise_pending()

    async def __aenter__(self) -> "Harness":
        return self

    async def __aexit__(self, exc_type, exc, tb) -> None:
        await self.close(check=exc_type is None)

    # --- shortcuts ------------------------------------------------------------------------------------
    @property
    def app(self):
        return self.bot.app

    @property
    def requests(self):
        return self.fake.requests

    @property
    def guild(self) -> discord.Guild:
        return self.bot.get_guild(self.world.guild_id)

    def user_id(self, who) -> int:
        return self.world.user_id(who)

    def channel(self, key) -> FakeChannel:
        return self.world.channel(key)

    def member(self, who) -> FakeMember:
        return self.world.member(who)

    def dms(self, who) -> list[FakeMessage]:
        channel = self.world.dm_channel(self.user_id(who), create=False)
        return channel.messages if channel is not None else []

    def replies_to(self, who) -> list[Reply]:
        uid = self.user_id(who)
        return [r for r in self.replies if r.user_id == uid]

    def last_reply(self, who) -> Reply | None:
        replies = [r for r in self.replies_to(who) if r.responded]
        return replies[-1] if replies else None

    def message(self, message_id: int) -> FakeMessage:
        return self.world.messages[message_id]

    # --- permissions, computed by discord.py on the world's current state --------------------------------
    def _perm_guild(self) -> discord.Guild:
        """The guild's roles and channels as discord.py sees them, without members (see _perm_member)."""
        if self._perm_cache is None or self._perm_cache[0] != self.world.version:
            guild = discord.Guild(data=self.world.guild_payload(members=False),
                                  state=self.bot._connection)  # type: ignore[arg-type]
            self._perm_cache = (self.world.version, guild)
        return self._perm_cache[1]

    def _perm_member(self, guild: discord.Guild, uid: int) -> discord.Member | None:
        """The one member asked about, built on the member-less guild: O(1) in the guild's size."""
        member = self.world.members.get(uid)
        if member is None:
            return None
        return discord.Member(data=member.payload(), guild=guild, state=self.bot._connection)  # type: ignore[arg-type]

    def permissions(self, who, channel) -> discord.Permissions:
        uid = self.user_id(who)
        ch = self.world.channel(channel)
        if ch.is_dm:
            return discord.Permissions._dm_permissions()
        guild = self._perm_guild()
        member = self._perm_member(guild, uid)
        dch = guild.get_channel_or_thread(ch.id)
        if member is None or dch is None:
            return discord.Permissions.none()
        return dch.permissions_for(member)

    def guild_permissions(self, who) -> discord.Permissions:
        member = self._perm_member(self._perm_guild(), self.user_id(who))
        return member.guild_permissions if member is not None else discord.Permissions.none()

    def can(self, who, permission: str, channel) -> bool:
        return bool(getattr(self.permissions(who, channel), permission))

    # --- changing the world as a test ----------------------------------------------------------------
    def add_member(self, name: str, roles: Iterable[str] = ("member",), *, announce: bool = True) -> "_Added":
        """A new member with these role keys. Usable plain or awaited: `await g.add_member(...)` also
        lets the bot handle the GUILD_MEMBER_ADD before returning (otherwise it does at the next step)."""
        user = self.world.add_user(name)
        member = self.world.add_member(user, [self.world.role(k).id for k in roles])
        self.world.version += 1
        if announce and self.bot is not None:
            self.emit_later("GUILD_MEMBER_ADD", member.payload() | {"guild_id": str(self.world.guild_id)})
        return _Added(self, member)

    async def join(self, name: str, roles: Iterable[str] = ()) -> FakeMember:
        """A member joins the server (no roles by default) and the bot handles the join."""
        added = self.add_member(name, roles)
        await self.settle()
        return added._member

    def add_user(self, name: str) -> None:
        """A Discord user who is not in the server."""
        self.world.add_user(name)

    async def remove_member(self, who) -> None:
        self.drop_member(self.user_id(who))
        await self.settle()

    def drop_member(self, user_id: int) -> None:
        member = self.world.members.pop(user_id, None)
        if member is None:
            return
        self.world.version += 1
        self.emit_later("GUILD_MEMBER_REMOVE", {"guild_id": str(self.world.guild_id), "user": member.user.payload()})

    async def give_role(self, who, role_key: str) -> None:
        """A moderator (not the bot) gives a role by hand."""
        member = self.member(who)
        role = self.world.role(role_key)
        if role.id not in member.role_ids:
            member.role_ids.append(role.id)
            self.world.version += 1
            self.emit_later("GUILD_MEMBER_UPDATE", member.payload() | {"guild_id": str(self.world.guild_id)})
        await self.settle()

    async def take_role(self, who, role_key: str) -> None:
        member = self.member(who)
        role = self.world.role(role_key)
        if role.id in member.role_ids:
            member.role_ids.remove(role.id)
            self.world.version += 1
            self.emit_later("GUILD_MEMBER_UPDATE", member.payload() | {"guild_id": str(self.world.guild_id)})
        await self.settle()

    def close_dms(self, who) -> None:
        self.world.user(who).dms_open = False

    def open_dms(self, who) -> None:
        self.world.user(who).dms_open = True

    def deny_bot(self, channel, *permissions: str) -> None:
        """The bot loses permissions in a channel (a member overwrite for the bot)."""
        self._overwrite(channel, self.world.bot_user_id, MEMBER_OVERWRITE, deny=permissions)

    def allow_bot(self, channel, *permissions: str) -> None:
        self._overwrite(channel, self.world.bot_user_id, MEMBER_OVERWRITE, allow=permissions)

    def _overwrite(self, channel, target: int, kind: int, *, allow: Iterable[str] = (), deny: Iterable[str] = ()) -> None:
        ch = self.world.channel(channel)
        _, a, d = ch.overwrites.get(target, (kind, 0, 0))
        add_allow, add_deny = perms(*allow), perms(*deny)
        ch.overwrites[target] = (kind, (a | add_allow) & ~add_deny, (d | add_deny) & ~add_allow)
        self.world.version += 1
        self.emit_later("CHANNEL_UPDATE", ch.payload())

    # --- gateway ---------------------------------------------------------------------------------------
    def deliver(self, event: str, payload: dict[str, Any]) -> None:
        if self._stopped:  # no session: the event is gone for good
            return
        if self._gateway_held is not None:  # disconnected: Discord keeps the session's events
            self._gateway_held.append((event, payload))
            return
        try:
            self.bot._connection.parsers[event](payload)
        except Exception as exc:  # a payload discord.py cannot parse is a harness bug: say so loudly
            self._errors.append(HarnessError(f"discord.py could not parse the fake {event}: {exc!r}"))
            self._errors[-1].__cause__ = exc

    def disconnect(self) -> None:
        """The gateway connection drops (discord.py dispatches `on_disconnect`). Until `resume`,
        gateway events (a member's click, a message, a role change) are held, not delivered; REST
        still works, so the bot keeps answering what it already had and the outbox keeps sending."""
        if self._gateway_held is not None:
            raise HarnessError("the gateway is already disconnected")
        self._gateway_held = []
        self.bot.dispatch("disconnect")

    async def resume(self, *, replay: bool = True) -> int:
        """The gateway comes back. `replay`: the session resumes (RESUMED, `on_resumed`) and Discord
        replays the held events in order; otherwise the session was invalidated: the held events are
        lost (a member saw "This interaction failed") and the bot identifies anew (READY).
        Returns how many held events were replayed."""
        held, self._gateway_held = self._gateway_held, None
        if held is None:
            raise HarnessError("the gateway is not disconnected")
        if not replay:
            self.deliver("READY", self._gateway_ready())
            await self.settle()
            return 0
        async_context.set(self.adapter)
        self.deliver("RESUMED", {"__shard_id__": 0})
        for event, payload in held:
            self.deliver(event, payload)
        await self.settle()
        return len(held)

    def emit_later(self, event: str, payload: dict[str, Any]) -> None:
        """Deliver after the current HTTP response, as Discord's gateway does."""
        bot = self.bot
        self._pending_events += 1

        def go() -> None:
            self._pending_events -= 1
            if bot is self.bot and not bot.is_closed():
                self.deliver(event, payload)

        asyncio.get_running_loop().call_soon(go)

    # --- settling ----------------------------------------------------------------------------------------
    async def settle(self) -> None:
        """Wait until everything the last step started is done, and the outbox is drained."""
        async_context.set(self.adapter)
        if self._stopped:
            return
        if self._settle_lock is None:
            self._settle_lock = asyncio.Lock()
        # steps may run concurrently (asyncio.gather of two clicks): one settles at a time, or each
        # would see the other's spinning as work still to do
        async with self._settle_lock:
            await self._settle()

    async def _settle(self) -> None:
        for _ in range(1000):
            await self._quiesce()
            self._raise_pending()
            sent = await self.bot.app.outbox.drain()
            if sent == 0:
                await self._quiesce()
                self._raise_pending()
                return
        raise HarnessError("the outbox kept sending for 1000 rounds: is something re-posting itself?")

    async def _quiesce(self) -> None:
        """Return once no task but this one has anything to do: nothing stepped for QUIET_ROUNDS
        turns of the loop, no gateway event is queued, no job is in a worker thread, and a barrier
        sent down the database connection came back with nothing woken by it (bot/offline/settle.py)."""
        watch = self._watch
        assert watch is not None
        loop = asyncio.get_running_loop()
        start = loop.time()
        mine = watch.own_steps_per_wait()
        while True:
            quiet = 0
            while quiet < QUIET_ROUNDS:
                before = watch.steps
                await asyncio.sleep(0)
                if watch.steps - before > mine or self._pending_events:
                    quiet = 0
                    if loop.time() - start > 60:
                        raise HarnessError("the bot has been busy for 60 s without finishing: is a task spinning?")
                elif watch.threads_busy:  # asyncio.to_thread work: wait for the thread to hand back
                    try:
                        await asyncio.wait_for(watch.executor.idle(), timeout=60)
                    except asyncio.TimeoutError:
                        raise HarnessError("a worker thread has been busy for 60 s: is it stuck?") from None
                    quiet = 0
                else:
                    quiet += 1
            before = watch.steps
            await watch.uncounted(self._database_barrier())
            if watch.steps - before <= mine and not self._pending_events and not watch.threads_busy:
                return

    async def _database_barrier(self) -> None:
        """Wait until every statement sent before has returned (and woken its task): `db.barrier()`
        (SQLite: a statement down the writer's thread, which runs them in order; PostgreSQL: none in flight)."""
        bot = self.bot
        if bot is None or bot.is_closed() or getattr(bot, "app", None) is None:
            return
        await bot.app.db.barrier()

    def _raise_pending(self) -> None:
        if self.fake.violations:
            violation = self.fake.violations[0]
            self.fake.violations.clear()
            raise violation
        if self._errors:
            exc = self._errors.pop(0)
            self._errors.clear()
            raise exc
        if self._catcher.records:
            records = list(self._catcher.records)
            self._catcher.records.clear()
            if self.strict:
                first = records[0]
                err = BotError(f"the bot logged an error: {first.getMessage()}"
                               + (f" (and {len(records) - 1} more)" if len(records) > 1 else ""))
                raise err from first.exc_info[1]

    @contextmanager
    def unwatched(self) -> Iterator[None]:
        """Tasks started inside are plain tasks whose steps the harness does not count, so settling
        cannot wait for them: await them all before the block ends. For benches that fire thousands
        of calls straight at a service, so the figure measures the bot, not the harness's counting."""
        watch = self._watch
        assert watch is not None, "the harness is not started"
        watch.counting = False
        try:
            yield
        finally:
            watch.counting = True

    @contextmanager
    def allow_errors(self) -> Iterator[None]:
        """For tests that expect the bot to log an unexpected error (e.g. the error-id reply)."""
        strict, self.strict = self.strict, False
        try:
            yield
        finally:
            self._catcher.records.clear()
            self.strict = strict

    # --- raw requests (for tests of the fake itself) ---------------------------------------------------
    async def raw_request(self, method: str, path: str, *, json: Any = None, **params: Any) -> Any:
        """Send a raw body through the bot's own HTTP client (spec check, permissions, world)."""
        from discord.http import Route

        try:
            return await self.bot.http.request(Route(method, path, **params), json=json)
        except Exception as exc:
            if exc in self.fake.violations:
                self.fake.violations.remove(exc)
            raise

    async def raw_interaction_callback(self, reply: Reply, body: dict[str, Any]) -> Any:
        """Answer an interaction with a raw body through discord.py's webhook adapter path."""
        from discord.http import Route

        route = Route("POST", "/interactions/{webhook_id}/{webhook_token}/callback", webhook_id=reply.id,
                      webhook_token=reply.token)
        try:
            return await self.adapter.request(route, None, payload=body)
        except Exception as exc:
            if exc in self.fake.violations:
                self.fake.violations.remove(exc)
            raise

    async def pending_interaction(self, user, where=None) -> Reply:
        """An interaction that nothing has answered yet (to test raw responses)."""
        uid = self.user_id(user)
        channel = self.world.channel(where or self.default_channel(uid))
        payload, reply = self._interaction(IT.application_command, uid, channel,
                                           {"id": str(self.world.new_id()), "name": "raw",
                                            "type": AppCommandType.chat_input.value})
        return reply

    # --- members acting -------------------------------------------------------------------------------
    def default_channel(self, uid: int) -> FakeChannel:
        for key in ("lounge", "general"):
            try:
                ch = self.world.channel(key)
            except KeyError:
                continue
            if self.can(uid, "view_channel", ch):
                return ch
        for ch in self.world.guild_channels():
            if self.can(uid, "view_channel", ch):
                return ch
        raise HarnessError(f"user {uid} can see no channel")

    async def say(self, channel, text: str, *, user, reply_to: FakeMessage | None = None,
                  files: Iterable[tuple[str, bytes]] = ()) -> FakeMessage:
        """A member posts in a channel (or thread). Raises Forbidden where Discord would refuse."""
        uid = self.user_id(user)
        ch = self.world.channel(channel)
        files = list(files)
        if ch.is_dm:
            p = discord.Permissions._dm_permissions()
        else:
            if uid not in self.world.members:
                raise error(403, 50001, "Missing Access")
            p = self.permissions(uid, ch)
            if not p.view_channel:
                raise error(403, 50001, "Missing Access")
            allowed = p.send_messages_in_threads if ch.is_thread else p.send_messages
            if not allowed or (files and not p.attach_files) or (ch.is_thread and ch.locked):
                raise error(403, 50013, "Missing Permissions")
        screened = None if ch.is_dm else fake_automod.screen(self, ch, uid, text)  # AutoMod keyword rules
        if screened is not None and screened.blocked:  # never posted; the alert and executions still happen
            async_context.set(self.adapter)
            screened.deliver(None)
            await self.settle()
            raise error(400, fake_automod.BLOCKED, "Message was blocked by AutoMod")
        body = {"content": text}
        if reply_to is not None:
            body["message_reference"] = {"message_id": str(reply_to.id)}
        msg = self.fake.new_message(ch, uid, body, files, may_mention_everyone=p.mention_everyone)
        if ch.is_thread:
            ch.thread_members.add(uid)
        if not ch.is_dm:
            payload = msg.payload() | {"guild_id": str(self.world.guild_id),
                                       "member": self.world.members[uid].payload(with_user=False)}
            if self.world.bot_user_id not in msg.mentions:  # no message-content intent
                payload.update(content="", embeds=[], attachments=[], components=[])
            async_context.set(self.adapter)
            self.deliver("MESSAGE_CREATE", payload)
        if screened is not None:
            screened.deliver(msg.id)
        await self.settle()
        return msg

    # forums ---------------------------------------------------------------------------------------------
    async def forum_post(self, forum, title: str, text: str, *, user, tags: Iterable[str] = (),
                         files: Iterable[tuple[str, bytes]] = ()) -> FakeChannel:
        """A member opens a post in a forum (tags by name): THREAD_CREATE, then the starter message's
        MESSAGE_CREATE, through discord.py's parsers. Returns the post (a thread; `.starter`, `.tags`)."""
        uid = self.user_id(user)
        ch = self.world.channel(forum)
        if not ch.is_forum:
            raise HarnessError(f"#{ch.key or ch.name} is not a forum")
        if uid not in self.world.members:
            raise error(403, 50001, "Missing Access")
        p = self.permissions(uid, ch)
        if not p.view_channel:
            raise error(403, 50001, "Missing Access")
        files = list(files)
        if not p.send_messages or (files and not p.attach_files):
            raise error(403, 50013, "Missing Permissions")
        try:
            tag_ids = [ch.tag_id(name) for name in tags]
        except KeyError as exc:
            raise HarnessError(str(exc)) from None
        post, starter = self.fake.open_forum_post(ch, uid, title, {"content": text}, files, tag_ids,
                                                  may_mention_everyone=p.mention_everyone)
        async_context.set(self.adapter)
        self.deliver("THREAD_CREATE", post.payload() | {"newly_created": True})
        payload = starter.payload() | {"guild_id": str(self.world.guild_id),
                                       "member": self.world.members[uid].payload(with_user=False)}
        if self.world.bot_user_id not in starter.mentions:  # no message-content intent
            payload.update(content="", embeds=[], attachments=[], components=[])
        self.deliver("MESSAGE_CREATE", payload)
        await self.settle()
        return post

    async def archive_post(self, post) -> None:
        """Discord archives a post (nothing happened in it for its auto-archive time): THREAD_UPDATE
        (lost if the bot is down). It leaves the active threads for the archived ones."""
        ch = self.world.channel(post)
        if not ch.is_thread:
            raise HarnessError(f"#{ch.name} is not a thread")
        self.fake.set_archived(ch, True)
        self.world.version += 1
        self.emit_later("THREAD_UPDATE", ch.payload())
        await self.settle()

    async def set_post_tags(self, post, tags: Iterable[str], *, user) -> None:
        """A member (the post's owner, or one with Manage Threads) changes a post's tags by hand."""
        uid = self.user_id(user)
        ch = self.world.channel(post)
        if not ch.is_forum_post:
            raise HarnessError(f"#{ch.name} is not a forum post")
        if ch.owner_id != uid and not self.permissions(uid, ch).manage_threads:
            raise error(403, 50013, "Missing Permissions")
        forum = ch.parent
        assert forum is not None
        try:
            ch.applied_tags = self.fake.check_tags(forum, [forum.tag_id(n) for n in tags], uid)
        except KeyError as exc:
            raise HarnessError(str(exc)) from None
        self.world.version += 1
        self.emit_later("THREAD_UPDATE", ch.payload())
        await self.settle()

    async def react(self, message: FakeMessage | Reply, emoji: str, *, user) -> None:
        msg = _message_of(message)
        uid = self.user_id(user)
        if not msg.channel.is_dm:
            p = self.permissions(uid, msg.channel)
            if not (p.view_channel and p.read_message_history):
                raise error(403, 50001, "Missing Access")
            if not msg.reactions.get(emoji) and not p.add_reactions:
                raise error(403, 50013, "Missing Permissions")
        self.apply_reaction(msg, emoji, uid, add=True)
        await self.settle()

    async def unreact(self, message: FakeMessage | Reply, emoji: str, *, user) -> None:
        self.apply_reaction(_message_of(message), emoji, self.user_id(user), add=False)
        await self.settle()

    def apply_reaction(self, msg: FakeMessage, emoji: str, user_id: int, *, add: bool) -> None:
        users = msg.reactions.setdefault(emoji, [])
        if add == (user_id in users):
            return
        users.append(user_id) if add else users.remove(user_id)
        self.world.version += 1
        if msg.channel.is_dm:
            return
        payload = {"user_id": str(user_id), "channel_id": str(msg.channel_id), "message_id": str(msg.id),
                   "guild_id": str(self.world.guild_id), "emoji": {"id": None, "name": emoji}, "burst": False,
                   "type": ReactionType.normal.value}
        if add:
            payload["message_author_id"] = str(msg.author_id)
            payload["burst_colors"] = []
            if user_id in self.world.members:
                payload["member"] = self.world.members[user_id].payload()
        self.emit_later("MESSAGE_REACTION_ADD" if add else "MESSAGE_REACTION_REMOVE", payload)

    # --- scheduled events and polls: members using Discord's own UI --------------------------------------
    @property
    def scheduled_events(self) -> list[FakeScheduledEvent]:
        """The guild's scheduled events, oldest first."""
        return sorted(self.world.scheduled_events.values(), key=lambda e: e.id)

    async def interested(self, event: FakeScheduledEvent | int, *, user, add: bool = True) -> None:
        """A member presses Interested on a scheduled event (or, `add=False`, takes it back):
        GUILD_SCHEDULED_EVENT_USER_ADD / _REMOVE through discord.py's parsers."""
        ev = event if isinstance(event, FakeScheduledEvent) else self.world.scheduled_events[int(event)]
        uid = self.user_id(user)
        if uid not in self.world.members:
            raise error(403, 50001, "Missing Access")
        if ev.status not in (SCHEDULED, ACTIVE):
            raise HarnessError(f"the event {ev.name!r} is {ev.status_name}: Discord shows no Interested button")
        if add == (uid in ev.interested):
            await self.settle()
            return
        ev.interested.append(uid) if add else ev.interested.remove(uid)
        self.world.version += 1
        self.emit_later("GUILD_SCHEDULED_EVENT_USER_ADD" if add else "GUILD_SCHEDULED_EVENT_USER_REMOVE",
                        {"guild_scheduled_event_id": str(ev.id), "user_id": str(uid),
                         "guild_id": str(self.world.guild_id)})
        await self.settle()

    async def vote(self, message: FakeMessage | Reply, answer: str | int, *, user, add: bool = True) -> None:
        """A member votes in a poll (by answer text or answer id), or with `add=False` takes the vote
        back: MESSAGE_POLL_VOTE_ADD / _REMOVE. Voting for another answer in a single-choice poll moves
        the vote (Discord's client sends the removal first)."""
        msg = _message_of(message)
        poll = msg.poll
        if poll is None:
            raise HarnessError(f"message #{msg.id} has no poll")
        uid = self.user_id(user)
        if not msg.channel.is_dm:
            p = self.permissions(uid, msg.channel)
            if not (p.view_channel and p.read_message_history):
                raise error(403, 50001, "Missing Access")
        if not poll.open:
            raise HarnessError("the poll has ended: Discord shows its results, no more votes")
        if isinstance(answer, int):
            answer_id = answer
        else:
            matches = [i for i, text in enumerate(poll.answers, 1) if text.lower() == str(answer).lower()]
            if not matches:
                raise HarnessError(f"no answer {answer!r} in the poll (answers: {', '.join(poll.answers)})")
            answer_id = matches[0]
        if not 1 <= answer_id <= len(poll.answers):
            raise HarnessError(f"the poll has answers 1-{len(poll.answers)}")
        if add and not poll.multiselect:
            for other, voters in poll.votes.items():
                if other != answer_id and uid in voters:
                    self._poll_vote(msg, other, uid, add=False)
        self._poll_vote(msg, answer_id, uid, add=add)
        await self.settle()

    def _poll_vote(self, msg: FakeMessage, answer_id: int, uid: int, *, add: bool) -> None:
        voters = msg.poll.votes.setdefault(answer_id, [])
        if add == (uid in voters):
            return
        voters.append(uid) if add else voters.remove(uid)
        self.world.version += 1
        payload = {"user_id": str(uid), "channel_id": str(msg.channel_id), "message_id": str(msg.id),
                   "answer_id": answer_id}
        if not msg.channel.is_dm:
            payload["guild_id"] = str(self.world.guild_id)
        self.emit_later("MESSAGE_POLL_VOTE_ADD" if add else "MESSAGE_POLL_VOTE_REMOVE", payload)

    # --- interactions ------------------------------------------------------------------------------------
    def _interaction(self, kind: IT, uid: int, channel: FakeChannel, data: dict[str, Any], *,
                     message: FakeMessage | None = None, name: str = "") -> tuple[dict[str, Any], Reply]:
        w = self.world
        iid = w.new_id()
        token = f"offline-interaction-{iid}"
        payload: dict[str, Any] = {
            "id": str(iid), "application_id": str(w.application_id), "type": kind.value, "token": token, "version": 1,
            "data": data, "locale": self.locale, "entitlements": [], "attachment_size_limit": ATTACHMENT_LIMIT,
            "authorizing_integration_owners": ({GUILD_INSTALL: str(w.guild_id)} if not channel.is_dm
                                               else {USER_INSTALL: str(uid)}),
        }
        if channel.is_dm:
            payload.update(channel_id=str(channel.id), channel=channel.payload(), user=w.users[uid].payload(),
                           context=IN_BOT_DM, app_permissions=str(discord.Permissions._dm_permissions().value))
        else:
            member = w.members.get(uid)
            if member is None:
                raise HarnessError(f"{w.users[uid].name} is not in the server")
            payload.update(
                guild_id=str(w.guild_id), guild={"id": str(w.guild_id), "locale": self.locale, "features": []},
                guild_locale=self.locale, channel_id=str(channel.id),
                channel=channel.payload() | {"permissions": str(self.permissions(uid, channel).value)},
                member=member.payload() | {"permissions": str(self.permissions(uid, channel).value)},
                app_permissions=str(self.permissions(w.bot_user_id, channel).value), context=IN_GUILD)
        if message is not None:
            payload["message"] = message.payload()
        reply = Reply(w, iid, token, kind.value, uid, channel.id, name, self.clock.now(),
                      source_message_id=message.id if message is not None else None)
        self.fake.interactions[token] = reply
        self.replies.append(reply)
        return payload, reply

    async def _run(self, payload: dict[str, Any]) -> None:
        async_context.set(self.adapter)
        self.deliver("INTERACTION_CREATE", payload)
        await self.settle()

    # slash commands ----------------------------------------------------------------------------------------
    def find_command(self, path: str):
        """'/admin audit' -> (root, [names], command object)."""
        names = path.strip().lstrip("/").split()
        if not names:
            raise HarnessError("empty command")
        guild = discord.Object(self.world.guild_id)
        root = self.bot.tree.get_command(names[0], guild=guild)
        guild_cmd = root is not None
        if root is None:
            root = self.bot.tree.get_command(names[0])
        if root is None:
            raise HarnessError(f"no slash command /{names[0]} (known: {', '.join(self.command_names())})")
        cmd = root
        for name in names[1:]:
            if not isinstance(cmd, app_commands.Group):
                raise HarnessError(f"/{' '.join(names)}: {cmd.qualified_name} has no subcommands")
            sub = cmd.get_command(name)
            if sub is None:
                known = ", ".join(c.name for c in cmd.commands)
                raise HarnessError(f"/{' '.join(names)}: no subcommand {name!r} (known: {known})")
            cmd = sub
        if isinstance(cmd, app_commands.Group):
            known = ", ".join(c.name for c in cmd.commands)
            raise HarnessError(f"/{' '.join(names)} needs a subcommand ({known})")
        return root, names, cmd, guild_cmd

    def command_names(self) -> list[str]:
        """Every slash command path, e.g. ['/admin audit', ...]."""
        out: list[str] = []

        def walk(cmd, prefix: str) -> None:
            if isinstance(cmd, app_commands.Group):
                for sub in cmd.commands:
                    walk(sub, f"{prefix} {sub.name}")
            else:
                out.append(prefix)

        guild = discord.Object(self.world.guild_id)
        seen = set()
        for cmd in list(self.bot.tree.get_commands(guild=guild)) + list(self.bot.tree.get_commands()):
            if isinstance(cmd, app_commands.ContextMenu) or cmd.name in seen:
                continue
            seen.add(cmd.name)
            walk(cmd, "/" + cmd.name)
        return sorted(out)

    async def slash(self, command: str, *, user, where=None, options: Mapping[str, Any] | None = None,
                    **kwargs: Any) -> Reply:
        """Run a slash command as `user` in channel `where` (default: the lounge). Options by name;
        `options={...}` for option names that clash with `user`/`where`."""
        uid = self.user_id(user)
        channel = self.world.channel(where) if where is not None else self.default_channel(uid)
        root, names, cmd, guild_cmd = self.find_command(command)
        if not channel.is_dm and not self.can(uid, "view_channel", channel):
            raise HarnessError(f"{self.world.users[uid].name} cannot see #{channel.key or channel.name}")
        self._check_visible(root, uid, channel)
        given = dict(options or {}) | kwargs
        opts, resolved, bad = self._options(cmd, given)
        leaf: dict[str, Any] = {}
        data: dict[str, Any] = {"id": str(self._command_id(root.name)), "name": root.name,
                                "type": AppCommandType.chat_input.value}
        if guild_cmd:
            data["guild_id"] = str(self.world.guild_id)
        if len(names) == 1:
            data["options"] = opts
        else:
            node = data
            for i, name in enumerate(names[1:], start=1):
                kind = OT.subcommand if i == len(names) - 1 else OT.subcommand_group
                leaf = {"type": kind.value, "name": name, "options": []}
                node["options"] = [leaf]
                node = leaf
            leaf["options"] = opts
        if resolved:
            data["resolved"] = resolved
        payload, reply = self._interaction(IT.application_command, uid, channel, data, name="/" + " ".join(names))
        if bad is not None:
            # Discord's client would not send this value; show what the bot says for discord.py's
            # TransformerError, through the bot's own error handler and a real Interaction.
            async_context.set(self.adapter)
            interaction = discord.Interaction(data=payload, state=self.bot._connection)  # type: ignore[arg-type]
            asyncio.get_running_loop().create_task(self.bot.tree.on_error(interaction, bad))
            await self.settle()
            return reply
        await self._run(payload)
        return reply

    async def autocomplete(self, command: str, option: str, typed: str = "", *, user, where=None,
                           options: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """What the bot suggests while `user` types `typed` into `option` (the other options as given
        so far). Returns the choices [{"name", "value"}] Discord would show."""
        uid = self.user_id(user)
        channel = self.world.channel(where) if where is not None else self.default_channel(uid)
        root, names, cmd, guild_cmd = self.find_command(command)
        params = {p.display_name: p for p in cmd._params.values()} | {p.name: p for p in cmd._params.values()}
        if option not in params:
            raise OptionRefused(f"{cmd.qualified_name} has no option {option!r}")
        focused = params[option]
        opts, resolved, _ = self._options_partial(cmd, dict(options or {}))
        opts = [o for o in opts if o["name"] != focused.display_name]
        opts.append({"name": focused.display_name, "type": focused.type.value, "value": typed, "focused": True})
        data: dict[str, Any] = {"id": str(self._command_id(root.name)), "name": root.name,
                                "type": AppCommandType.chat_input.value}
        if guild_cmd:
            data["guild_id"] = str(self.world.guild_id)
        node = data
        for i, name in enumerate(names[1:], start=1):
            kind = OT.subcommand if i == len(names) - 1 else OT.subcommand_group
            leaf = {"type": kind.value, "name": name, "options": []}
            node["options"] = [leaf]
            node = leaf
        node["options"] = opts
        if resolved:
            data["resolved"] = resolved
        payload, reply = self._interaction(IT.autocomplete, uid, channel, data, name=f"autocomplete {command} {option}")
        await self._run(payload)
        return reply.choices or []

    def _options_partial(self, cmd, given: dict[str, Any]):
        """Options typed so far (no required check): what an autocomplete interaction carries."""
        opts, resolved = [], {}
        for p in cmd._params.values():
            key = p.display_name if p.display_name in given else p.name
            if key in given and given[key] is not None:
                try:
                    opts.append({"name": p.display_name, "type": p.type.value,
                                 "value": self._wire_value(p, given[key], resolved)})
                except _Unconvertible:
                    continue
        return opts, resolved, None

    def _command_id(self, name: str) -> int:
        for scope in self.world.commands.values():
            for c in scope:
                if c["name"] == name:
                    return int(c["id"])
        return self.world.guild_id + sum(map(ord, name))

    def _check_visible(self, root, uid: int, channel: FakeChannel) -> None:
        perms_needed = getattr(root, "default_permissions", None)
        if perms_needed is not None and not channel.is_dm:
            have = self.permissions(uid, channel)
            if not have.administrator and perms_needed.value & ~have.value:
                raise HarnessError(f"Discord hides /{root.name} from {self.world.users[uid].name}: it needs "
                                   f"{', '.join(n for n, v in perms_needed if v)} (default_permissions)")

    def _options(self, cmd, given: dict[str, Any]):
        params = list(cmd._params.values())
        by_name = {}
        for p in params:
            by_name[p.display_name] = p
            by_name[p.name] = p
        unknown = [k for k in given if k not in by_name]
        if unknown:
            raise OptionRefused(f"{cmd.qualified_name} has no option {unknown[0]!r} "
                                f"(options: {', '.join(p.display_name for p in params) or 'none'})")
        opts: list[dict[str, Any]] = []
        resolved: dict[str, dict] = {}
        bad = None
        for p in params:
            key = p.display_name if p.display_name in given else p.name
            if key not in given or given[key] is None:
                if p.required:
                    raise OptionRefused(f"Discord requires the option {p.display_name!r} of /{cmd.qualified_name}")
                continue
            value = given[key]
            try:
                wire = self._wire_value(p, value, resolved)
            except _Unconvertible:
                bad = app_commands.TransformerError(value, p.type, _ClientSideTransformer(p.type))
                continue
            opts.append({"name": p.display_name, "type": p.type.value, "value": wire})
        return opts, resolved, bad

    def _wire_value(self, p, value: Any, resolved: dict[str, dict]) -> Any:
        t = p.type
        if p.choices:
            for c in p.choices:
                if value == c.value or (isinstance(value, str) and value.lower() == str(c.name).lower()) \
                        or str(value) == str(c.value):
                    return c.value
            raise OptionRefused(f"{value!r} is not a choice of {p.display_name!r} "
                                f"({', '.join(repr(c.name) for c in p.choices)})")
        if t is OT.string:
            if not isinstance(value, str):
                value = str(value)
            if p.min_value is not None and len(value) < p.min_value or p.max_value is not None and len(value) > p.max_value:
                raise OptionRefused(f"{p.display_name!r} must be {p.min_value or 0}-{p.max_value or 6000} characters")
            return value
        if t in (OT.integer, OT.number):
            number = _number(value, integer=t is OT.integer)
            if p.min_value is not None and number < p.min_value or p.max_value is not None and number > p.max_value:
                raise OptionRefused(f"{p.display_name!r} must be between {p.min_value} and {p.max_value}")
            return number
        if t is OT.boolean:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "yes", "on", "false", "no", "off"):
                return value.lower() in ("true", "yes", "on")
            raise _Unconvertible()
        if t in (OT.user, OT.mentionable) and not (t is OT.mentionable and self._is_role(value)):
            uid = self._lookup_user(value)
            if uid is None:
                raise _Unconvertible()
            resolved.setdefault("users", {})[str(uid)] = self.world.users[uid].payload()
            if uid in self.world.members:
                resolved.setdefault("members", {})[str(uid)] = self.world.members[uid].payload(with_user=False) | {
                    "permissions": "0"}
            return str(uid)
        if t in (OT.role, OT.mentionable):
            try:
                role = self.world.role(value.lstrip("@&") if isinstance(value, str) else value)
            except KeyError:
                raise _Unconvertible() from None
            resolved.setdefault("roles", {})[str(role.id)] = role.payload()
            return str(role.id)
        if t is OT.channel:
            try:
                ch = self.world.channel(value)
            except KeyError:
                raise _Unconvertible() from None
            types = [ct.value for ct in (p.channel_types or [])]
            if types and ch.type not in types:
                raise OptionRefused(f"{p.display_name!r} takes channels of type {types}")
            resolved.setdefault("channels", {})[str(ch.id)] = {
                "id": str(ch.id), "name": ch.name, "type": ch.type, "permissions": "0",
                "parent_id": str(ch.parent_id) if ch.parent_id else None,
                **({"thread_metadata": ch.payload()["thread_metadata"]} if ch.is_thread else {})}
            return str(ch.id)
        if t is OT.attachment:
            if isinstance(value, (bytes, bytearray)):
                value = ("file.bin", bytes(value))
            if not (isinstance(value, tuple) and len(value) == 2):
                raise _Unconvertible()
            filename, data = value
            aid = self.world.new_id()
            url = f"https://cdn.discordapp.com/ephemeral-attachments/{aid}/{filename}"
            self.world.cdn[url] = bytes(data)
            resolved.setdefault("attachments", {})[str(aid)] = {
                "id": str(aid), "filename": filename, "size": len(data), "url": url, "proxy_url": url,
                "ephemeral": True}
            return str(aid)
        return value

    def _is_role(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        try:
            self.world.role(value.lstrip("@&"))
            return value.lstrip("@") not in self.world.names
        except KeyError:
            return False

    def _lookup_user(self, value: Any) -> int | None:
        if isinstance(value, str):
            value = value.lstrip("@")
            m = re.fullmatch(r"<@!?(\d+)>", value)
            if m:
                value = int(m.group(1))
            elif value.isdigit():
                value = int(value)
        try:
            return self.world.user_id(value)
        except (KeyError, TypeError):
            return None

    # components -------------------------------------------------------------------------------------------
    def _find_message_with(self, uid: int, match) -> FakeMessage:
        candidates: list[FakeMessage] = []
        for r in reversed(self.replies_to(uid)):
            candidates.extend(reversed(r.messages))
        for m in sorted(self.world.messages.values(), key=lambda m: -m.id):
            if m.deleted or (m.ephemeral and m.interaction_user_id != uid):
                continue
            candidates.append(m)
        for m in candidates:
            if not m.deleted and any(match(c) for c in m.walk_components()):
                return m
        raise HarnessError("no message with that component")

    def _visible_to(self, msg: FakeMessage, uid: int) -> None:
        if msg.deleted:
            raise HarnessError("that message was deleted")
        if msg.ephemeral:
            if msg.interaction_user_id != uid:
                raise HarnessError("that ephemeral message was only shown to someone else")
            return
        ch = msg.channel
        if ch.is_dm:
            if ch.recipient_id != uid:
                raise HarnessError("that DM is someone else's")
            return
        if not self.can(uid, "view_channel", ch):
            raise HarnessError(f"{self.world.users[uid].name} cannot see #{ch.key or ch.name}")

    async def click(self, label: str | None = None, *, on: FakeMessage | Reply | None = None, user,
                    custom_id: str | None = None, index: int | None = None) -> Reply:
        """Click a button by label (or custom_id, or 1-based index) on a message."""
        uid = self.user_id(user)

        def match(c: dict[str, Any]) -> bool:
            if c.get("type") != CT.button.value:
                return False
            if custom_id is not None:
                return c.get("custom_id") == custom_id
            return label is not None and _label_matches(c, label)

        msg = _message_of(on) if on is not None else self._find_message_with(uid, match)
        buttons = [c for c in msg.walk_components() if c.get("type") == CT.button.value]
        if index is not None:
            if not 1 <= index <= len(buttons):
                raise HarnessError(f"there is no button {index} (the message has {len(buttons)})")
            button = buttons[index - 1]
        else:
            found = [c for c in buttons if match(c)]
            if not found and label is not None:
                found = [c for c in buttons if _label_matches(c, label, loose=True)]
            if not found:
                raise HarnessError(f"no button {label or custom_id!r} on that message "
                                   f"(buttons: {', '.join(repr(b) for b in msg.buttons) or 'none'})")
            button = found[0]
        self._visible_to(msg, uid)
        if button.get("disabled"):
            raise HarnessError(f"the button {_label_of(button)!r} is disabled")
        if button.get("style") == ButtonStyle.link.value or button.get("url"):
            raise HarnessError(f"{_label_of(button)!r} is a link button (it opens {button.get('url')})")
        data = {"custom_id": button["custom_id"], "component_type": CT.button.value}
        if "id" in button:
            data["id"] = button["id"]
        channel = msg.channel
        payload, reply = self._interaction(IT.component, uid, channel, data, message=msg,
                                           name=f"button {_label_of(button)}")
        await self._run(payload)
        return reply

    async def select(self, values: Iterable[Any], *, on: FakeMessage | Reply | None = None, user,
                     custom_id: str | None = None, index: int = 1) -> Reply:
        """Pick options in a select menu (string selects: by label or value; user/role/channel selects:
        by harness name or key)."""
        uid = self.user_id(user)
        values = list(values)
        if on is not None:
            msg = _message_of(on)
        else:
            msg = self._find_message_with(uid, lambda c: c.get("type") in SELECTS
                                          and (custom_id is None or c.get("custom_id") == custom_id))
        selects = msg.selects
        if custom_id is not None:
            selects = [s for s in selects if s.get("custom_id") == custom_id]
        if not selects or not 1 <= index <= len(selects):
            raise HarnessError("no such select menu on that message")
        sel = selects[index - 1]
        self._visible_to(msg, uid)
        if sel.get("disabled"):
            raise HarnessError("that select menu is disabled")
        wire, resolved = self._select_values(sel, values)
        data: dict[str, Any] = {"custom_id": sel["custom_id"], "component_type": sel["type"], "values": wire}
        if resolved:
            data["resolved"] = resolved
        payload, reply = self._interaction(IT.component, uid, msg.channel, data, message=msg,
                                           name=f"select {sel.get('placeholder') or sel['custom_id']}")
        await self._run(payload)
        return reply

    def _select_values(self, sel: dict[str, Any], values: list[Any]) -> tuple[list[str], dict[str, dict]]:
        lo, hi = sel.get("min_values", 1), sel.get("max_values", 1)
        if not lo <= len(values) <= hi:
            raise HarnessError(f"pick between {lo} and {hi} option(s), not {len(values)}")
        resolved: dict[str, dict] = {}
        wire: list[str] = []
        if sel["type"] == CT.string_select.value:
            options = sel.get("options") or []
            for v in values:
                opt = next((o for o in options if o.get("value") == str(v) or o.get("label") == str(v)), None)
                if opt is None:
                    opt = next((o for o in options if str(o.get("label", "")).lower() == str(v).lower()), None)
                if opt is None:
                    raise HarnessError(f"{v!r} is not an option ({', '.join(repr(o.get('label')) for o in options)})")
                wire.append(opt["value"])
            return wire, resolved
        for v in values:
            if sel["type"] == CT.user_select.value or (sel["type"] == CT.mentionable_select.value
                                                       and not self._is_role(v)):
                uid = self._lookup_user(v)
                if uid is None:
                    raise HarnessError(f"no user {v!r}")
                resolved.setdefault("users", {})[str(uid)] = self.world.users[uid].payload()
                if uid in self.world.members:
                    resolved.setdefault("members", {})[str(uid)] = self.world.members[uid].payload(with_user=False)
                wire.append(str(uid))
            elif sel["type"] in (CT.role_select.value, CT.mentionable_select.value):
                role = self.world.role(v)
                resolved.setdefault("roles", {})[str(role.id)] = role.payload()
                wire.append(str(role.id))
            else:
                ch = self.world.channel(v)
                resolved.setdefault("channels", {})[str(ch.id)] = {"id": str(ch.id), "name": ch.name,
                                                                    "type": ch.type, "permissions": "0"}
                wire.append(str(ch.id))
        return wire, resolved

    # modals ---------------------------------------------------------------------------------------------------
    def modal_shown(self, reply: Reply, data: dict[str, Any]) -> None:
        self.modals[reply.user_id] = ShownModal(data, reply)

    def modal_for(self, user) -> dict[str, Any] | None:
        shown = self.modals.get(self.user_id(user))
        return shown.data if shown else None

    @staticmethod
    def modal_fields(modal: dict[str, Any]) -> list[dict[str, Any]]:
        """The inputs of a modal in order: {custom_id, label, type, required, style, min/max_length...}."""
        fields = []
        for top in modal.get("components") or []:
            if top.get("type") == CT.action_row.value:
                for c in top.get("components") or []:
                    fields.append(c | {"label": c.get("label") or c.get("custom_id")})
            elif top.get("type") == CT.label.value:
                c = top.get("component") or {}
                fields.append(c | {"label": top.get("label") or c.get("custom_id"),
                                   "description": top.get("description")})
        return fields

    async def submit_modal(self, values: Mapping[str, Any], *, user) -> Reply:
        """Fill and submit the last modal shown to `user`; fields by custom_id or label."""
        uid = self.user_id(user)
        shown = self.modals.get(uid)
        if shown is None:
            raise HarnessError(f"no modal is open for {self.world.users[uid].name}")
        fields = self.modal_fields(shown.data)
        keyed: dict[str, Any] = {}
        for key, value in values.items():
            f = next((f for f in fields if f.get("custom_id") == key or f.get("label") == key), None)
            if f is None:
                f = next((f for f in fields if str(f.get("label", "")).lower() == str(key).lower()), None)
            if f is None:
                raise HarnessError(f"the modal has no field {key!r} "
                                   f"(fields: {', '.join(repr(f.get('label')) for f in fields)})")
            keyed[f["custom_id"]] = value
        resolved: dict[str, Any] = {}  # uploaded files (modal_inputs.upload)

        def answer(c: dict[str, Any]) -> dict[str, Any]:
            cid = c.get("custom_id")
            if c.get("type") in modal_inputs.KINDS:  # radio, checkboxes, checkbox, file upload
                out = modal_inputs.answer(self, c, keyed.get(cid), resolved)
            elif c.get("type") == CT.text_input.value:
                value = str(keyed.get(cid, "") or "")
                if c.get("required", True) and not value:
                    raise OptionRefused(f"Discord requires the field {c.get('label') or cid!r}")
                if value and (len(value) < c.get("min_length", 0) or len(value) > c.get("max_length", 4000)):
                    raise OptionRefused(f"{c.get('label') or cid!r} must be {c.get('min_length', 0)}-"
                                        f"{c.get('max_length', 4000)} characters (got {len(value)})")
                out = {"type": CT.text_input.value, "custom_id": cid, "value": value}
            elif c.get("type") in SELECTS:
                chosen = keyed.get(cid, [])
                chosen = [chosen] if isinstance(chosen, (str, int)) else list(chosen)
                wire, _ = self._select_values(c | {"min_values": c.get("min_values", 0 if not c.get("required", True) else 1)},
                                              chosen)
                out = {"type": c["type"], "custom_id": cid, "values": wire}
            else:
                out = {"type": c.get("type"), "custom_id": cid}
            if "id" in c:
                out["id"] = c["id"]
            return out

        components = []
        for top in shown.data.get("components") or []:
            if top.get("type") == CT.action_row.value:
                components.append({"type": CT.action_row.value,
                                   "components": [answer(c) for c in top.get("components") or []]})
            elif top.get("type") == CT.label.value:
                components.append({"type": CT.label.value, **({"id": top["id"]} if "id" in top else {}),
                                   "component": answer(top.get("component") or {})})
        origin = shown.reply
        channel = self.world.channels.get(origin.channel_id) if origin.channel_id else None
        channel = channel or self.world.dm_channel(uid)
        message = self.world.messages.get(origin.source_message_id or 0)
        data = {"custom_id": shown.data["custom_id"], "components": components}
        if resolved:
            data["resolved"] = resolved
        payload, reply = self._interaction(IT.modal_submit, uid, channel, data, message=message,
                                           name=f"modal {shown.data.get('title', '')}")
        del self.modals[uid]
        await self._run(payload)
        return reply

    def dismiss_modal(self, user) -> None:
        """The member closes the modal without submitting (Discord sends nothing)."""
        self.modals.pop(self.user_id(user), None)

    # AutoMod --------------------------------------------------------------------------------------------------
    def automod_rules(self) -> list[dict[str, Any]]:
        """The guild's AutoMod rules as Discord holds them (bot/offline/automod.py)."""
        return list(self.world.automod_rules.values())

    async def automod_execution(self, rule: dict[str, Any], *, user, channel, action: str = "alert",
                                content: str = "", matched_keyword: str | None = None,
                                message_id: int | None = None, alert_system_message_id: int | None = None,
                                with_content: bool | None = None) -> None:
        """Inject one AUTO_MODERATION_ACTION_EXECUTION for `rule` (its alert or block action), through
        discord.py's parser; `with_content=True` includes the text as if the bot had the content intent."""
        kind = fake_automod.ALERT if action == "alert" else fake_automod.BLOCK
        chosen = next((a for a in rule["actions"] if a["type"] == kind), None)
        if chosen is None:
            raise HarnessError(f"the rule {rule['name']!r} has no {action} action")
        async_context.set(self.adapter)
        fake_automod.execution(self, rule=rule, action=chosen, user_id=self.user_id(user),
                               channel_id=self.world.channel(channel).id, message_id=message_id,
                               alert_system_message_id=alert_system_message_id, content=content,
                               matched_keyword=matched_keyword, with_content=with_content)
        await self.settle()

    # context menus --------------------------------------------------------------------------------------------
    async def context_menu(self, name: str, *, user, message: FakeMessage | Reply | None = None,
                           target=None) -> Reply:
        """Run a message (message=...) or user (target=...) context-menu command."""
        uid = self.user_id(user)
        kind = discord.AppCommandType.message if message is not None else discord.AppCommandType.user
        guild = discord.Object(self.world.guild_id)
        menu = self.bot.tree.get_command(name, guild=guild, type=kind)
        guild_cmd = menu is not None
        menu = menu or self.bot.tree.get_command(name, type=kind)
        if menu is None:
            raise HarnessError(f"no {kind.name} context menu called {name!r}")
        data: dict[str, Any] = {"id": str(self._command_id(name)), "name": name, "type": kind.value}
        if guild_cmd:
            data["guild_id"] = str(self.world.guild_id)
        if message is not None:
            msg = _message_of(message)
            self._visible_to(msg, uid)
            channel = msg.channel
            data["target_id"] = str(msg.id)
            data["resolved"] = {"messages": {str(msg.id): msg.payload()}}
        else:
            tid = self.user_id(target)
            channel = self.default_channel(uid)
            data["target_id"] = str(tid)
            data["resolved"] = {"users": {str(tid): self.world.users[tid].payload()}}
            if tid in self.world.members:
                data["resolved"]["members"] = {str(tid): self.world.members[tid].payload(with_user=False)}
        self._check_visible(menu, uid, channel)
        payload, reply = self._interaction(IT.application_command, uid, channel, data, name=f"menu {name}")
        await self._run(payload)
        return reply

    # time ---------------------------------------------------------------------------------------------------------
    async def advance(self, delta: timedelta | None = None, **kwargs: float) -> None:
        """Move the fake clock, stopping at every scheduled occurrence, draining the outbox as it goes."""
        await self.advance_to(self.clock.now() + (delta if delta is not None else timedelta(**kwargs)))

    async def advance_to(self, when: datetime) -> None:
        if self._stopped:  # nothing runs while the bot is down
            self.clock.set(max(when, self.clock.now()))
            return
        scheduler = self.bot.app.scheduler
        await self.settle()
        while True:
            job = scheduler._earliest(None)
            if job is None or job.next_fire is None or job.next_fire > when:
                break
            await scheduler.advance_to(job.next_fire)
            await self.settle()
        await scheduler.advance_to(when)
        await self.settle()

    # command registration -------------------------------------------------------------------------------------
    async def sync(self) -> dict[str, list[dict[str, Any]]]:
        """What `python -m bot sync` would PUT, validated against the spec; returns world.commands."""
        async_context.set(self.adapter)
        guild = discord.Object(self.world.guild_id)
        try:
            await self.bot.tree.sync()
            if self.bot.tree.get_commands(guild=guild):
                await self.bot.tree.sync(guild=guild)
        except app_commands.CommandSyncFailure:
            self._raise_pending()  # the spec violation behind discord.py's CommandSyncFailure
            raise
        self._raise_pending()
        return self.world.commands


class _Added:
    """A FakeMember that can also be awaited (to let the bot handle the join)."""

    def __init__(self, harness: Harness, member: FakeMember) -> None:
        self._harness = harness
        self._member = member

    def __getattr__(self, name: str) -> Any:
        return getattr(self._member, name)

    def __await__(self):
        async def settle() -> FakeMember:
            await self._harness.settle()
            return self._member
        return settle().__await__()


class _Unconvertible(Exception):
    pass


def _number(value: Any, *, integer: bool):
    if isinstance(value, bool):
        raise _Unconvertible()
    if isinstance(value, (int, float)):
        if integer and float(value) != int(value):
            raise _Unconvertible()
        return int(value) if integer else float(value)
    if isinstance(value, str):
        text = value.strip()
        if integer and re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        if not integer:
            try:
                return float(text)
            except ValueError:
                pass
    raise _Unconvertible()


def _label_of(c: dict[str, Any]) -> str:
    if c.get("label"):
        return c["label"]
    return (c.get("emoji") or {}).get("name") or c.get("custom_id") or "?"


def _label_matches(c: dict[str, Any], label: str, *, loose: bool = False) -> bool:
    mine = _label_of(c)
    if loose:
        return mine.strip().lower() == label.strip().lower() or label.strip().lower() in mine.lower()
    return mine == label


def _message_of(thing: FakeMessage | Reply | None) -> FakeMessage:
    if isinstance(thing, Reply):
        if thing.message is None:
            raise HarnessError(f"{thing.name} produced no message")
        return thing.message
    if thing is None:
        raise HarnessError("no message given")
    return thing
