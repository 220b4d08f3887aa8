"""KizunaBot: the discord.py side of the application."""
from __future__ import annotations

import logging
import pkgutil
from pathlib import Path

import discord
from discord.ext import commands

import cogs
from bot.app import App
from bot.clock import Clock
from bot.config import Config
from bot.discord_ports import DiscordForumPort, DiscordGuildPort, DiscordPolls, DiscordScheduledEvents, DiscordSender
from bot.fast_clicks import FastClicks
from bot.services.outbox import OutboxSettings
from bot.tree import KizunaTree
from bot.translator import KizunaTranslator

log = logging.getLogger(__name__)

# Kizuna never joins voice: no warnings at start about voice libraries it does not need
discord.VoiceClient.warn_nacl = False
discord.VoiceClient.warn_dave = False


def intents() -> discord.Intents:
    """Minimal: guilds, members (joins/leaves, roles), guild messages (activity counts, no content),
    reactions (feedback on announcements), AutoMod executions, scheduled events (who presses Interested) and
    poll votes. Never the privileged message-content intent."""
    i = discord.Intents.none()
    i.guilds = True
    i.members = True
    i.guild_messages = True
    i.guild_reactions = True
    i.auto_moderation_execution = True  # the risk-words rule's firings (cogs/automod); not privileged
    i.guild_scheduled_events = True
    i.guild_polls = True
    return i


def cog_modules() -> list[str]:
    """Every extension in cogs/: modules and packages not starting with '_'."""
    return sorted(f"cogs.{m.name}" for m in pkgutil.iter_modules(cogs.__path__) if not m.name.startswith("_"))


class KizunaBot(commands.Bot):
    app: App

    def __init__(self, config: Config, *, clock: Clock | None = None, db_path: str | Path | None = None,
                 real_scheduler: bool = True, outbox_settings: OutboxSettings | None = None,
                 guild_id: int | None = None, start_web: bool = False, **kwargs) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,  # slash commands only; no prefix commands exist
            intents=intents(),
            tree_cls=KizunaTree,
            help_command=None,
            allowed_mentions=discord.AllowedMentions.none(),
            chunk_guilds_at_startup=kwargs.pop("chunk_guilds_at_startup", True),
            **kwargs,
        )
        self._config = config
        self._clock = clock
        self._db_path = db_path
        self._real_scheduler = real_scheduler
        self._outbox_settings = outbox_settings
        self._guild_id = guild_id
        self._outbox_started = False
        self._role_ids: dict[int, dict[str, int]] = {}  # guild id -> {role key: role id}, see role_ids
        self.fast_clicks = FastClicks(self)  # the hot buttons (claim, quiz answer), see bot/fast_clicks.py
        self._start_web = start_web  # serve the dashboard when community.yaml `web:` enables it (bot/web)
        self.dashboard = None

    @property
    def config(self) -> Config:
        """The config in force: the App's once it is open (it follows /admin reload)."""
        app = getattr(self, "app", None)
        return app.config if app is not None else self._config

    async def login(self, token: str) -> None:
        """The database first: a second process on it (or a file that is not one) is refused before
        anything is sent to Discord. setup_hook, which discord.py calls inside login, then uses it."""
        if getattr(self, "app", None) is None:
            self.app = await App.open(self._config, db_path=self._db_path, clock=self._clock,
                                      real_scheduler=self._real_scheduler, outbox_settings=self._outbox_settings)
        await super().login(token)

    async def setup_hook(self) -> None:
        if self._guild_id:
            self.app.guild_id = self._guild_id
        self.app.guild = DiscordGuildPort(self)
        self.app.forum = DiscordForumPort(self)
        self.app.outbox.sender = DiscordSender(self)
        self.app.scheduled_events_port = DiscordScheduledEvents(self)
        self.app.polls_port = DiscordPolls(self)
        for name in cog_modules():
            await self.load_extension(name)
        self.translator = KizunaTranslator(self.config)
        await self.tree.set_translator(self.translator)  # Japanese command picker
        self.command_texts_changed = False  # by the last /admin reload: Discord shows them after a sync
        self.app.events.on("config.reloaded", self._config_reloaded)
        await self.app.start()
        if self._start_web and self.config.community.web.enabled:
            from bot.web import start_dashboard

            try:
                self.dashboard = await start_dashboard(self.app, client_id=self.application_id or 0,
                                                       moderator_role_id=self.moderator_role_id, warm=False)
            except OSError as exc:  # the port is taken: the bot runs on, without its dashboard
                log.error("the dashboard could not start on %s:%s: %s", self.config.community.web.host,
                          self.config.community.web.port, exc)

    def moderator_role_id(self) -> int | None:
        """The id of the configured moderator role on the community's server (the dashboard's door)."""
        guild = self.community_guild
        return self.role_ids(guild).get(self.config.community.moderation.moderator_role) if guild else None

    async def _config_reloaded(self, config: Config) -> None:
        """The command picker's texts follow the config; Discord shows new ones after a sync."""
        self._role_ids.clear()  # role names may have changed
        before = self.translator.tables
        self.translator.config = config
        await self.translator.load()
        self.command_texts_changed = self.translator.tables != before

    async def on_message(self, message: discord.Message) -> None:
        """Slash commands only: never parse prefix commands (a message mentioning the bot would
        otherwise log CommandNotFound). Cog listeners still receive every message."""

    async def on_ready(self) -> None:
        if self.app.guild_id is None and self.guilds:
            self.app.guild_id = self.guilds[0].id
        if getattr(self, "dashboard", None) is not None and self.app.guild_id:
            self.app.stats.warm_health(self.app.guild_id)  # the health page's figures, ready for its first visit
        if self._real_scheduler and not self._outbox_started:
            self.app.outbox.start()
            self._outbox_started = True
        log.info("ready as %s in %d guild(s)", self.user, len(self.guilds))

    async def close(self) -> None:
        if getattr(self, "dashboard", None) is not None:
            await self.dashboard.stop()
            self.dashboard = None
        app = getattr(self, "app", None)
        if app is not None:
            await app.close()
        await super().close()

    # --- keys from YAML to Discord objects -------------------------------------------------------
    def resolve_channel(self, guild: discord.Guild, key: str) -> discord.abc.GuildChannel | None:
        spec = self.config.community.channels.get(key)
        if spec is None:
            return None
        if spec.id:
            return guild.get_channel(spec.id)
        return discord.utils.get(guild.channels, name=spec.name or key)

    def resolve_role(self, guild: discord.Guild, key: str) -> discord.Role | None:
        role_id = self.role_ids(guild).get(key)
        return guild.get_role(role_id) if role_id is not None else None

    def role_ids(self, guild: discord.Guild) -> dict[str, int]:
        """Role key -> id of the config's roles that exist in `guild`. Kept per guild: finding a role by
        name walks (and sorts) every role of the guild, and the claim path asks for every click.
        Forgotten when a role is created, edited or deleted and on a config reload."""
        found = self._role_ids.get(guild.id)
        if found is None:
            by_name: dict[str, discord.Role] = {}
            for role in guild.roles:  # lowest first: the first of two same-named roles wins, as before
                by_name.setdefault(role.name, role)
            found = {}
            for key, spec in self.config.community.roles.items():
                role = guild.get_role(spec.id) if spec.id else by_name.get(spec.name)
                if role is not None:
                    found[key] = role.id
            self._role_ids[guild.id] = found
        return found

    async def on_guild_role_create(self, role: discord.Role) -> None:
        self._role_ids.pop(role.guild.id, None)

    async def on_guild_role_update(self, before: discord.Role, after: discord.Role) -> None:
        self._role_ids.pop(after.guild.id, None)

    async def on_guild_role_delete(self, role: discord.Role) -> None:
        self._role_ids.pop(role.guild.id, None)

    @property
    def community_guild(self) -> discord.Guild | None:
        return self.get_guild(self.app.guild_id) if self.app.guild_id else None
