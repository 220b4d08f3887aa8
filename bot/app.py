"""The application without Discord: config, store, clock, scheduler, outbox and the feature services.

`KizunaBot` wraps one of these; the CLI (`preview`, `export`, `stats`) and service tests use it alone.
Every feature service is a typed attribute built in `App.__init__` (`app.drops`, `app.feedback`, ...):
each module exposes `build(app)` returning the service, which may define `async start()` (re-arm
timers, register jobs and actions), `async stop()` and `async config_changed(config)`. A feature whose
module cannot be imported is an ImportError, never a feature quietly missing.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections import defaultdict
from pathlib import Path
from typing import Any, Awaitable, Callable

from bot.clock import Clock, SystemClock
from bot.config import Config, load_config
from bot.config.loader import save_last_good
from bot.errors import ConfigError
from bot.db import Database, open_database
from bot.db.connection import is_postgres_url
from bot.scheduler import KizunaScheduler
from bot.services.ama import AmaService
from bot.services.ama import build as build_ama
from bot.services.audit import AuditService
from bot.services.automod import AutoModService
from bot.services.automod import build as build_automod
from bot.services.catalogue import Catalogue
from bot.services.content import ContentService
from bot.services.content import build as build_content
from bot.services.drops import DropsService
from bot.services.drops import build as build_drops
from bot.services.feedback import FeedbackService
from bot.services.feedback import build as build_feedback
from bot.services.live_events import LiveEventsService
from bot.services.live_events import build as build_live_events
from bot.services.membership import MembershipService
from bot.services.membership import build as build_membership
from bot.services.outbox import Outbox, OutboxSettings
from bot.services.participation import ParticipationService
from bot.services.participation import build as build_participation
from bot.services.ports import ForumPort, GuildPort, PollPort, ScheduledEventPort
from bot.services.schedules import ScheduleService
from bot.services.schedules import build as build_schedules
from bot.services.stats import StatsService
from bot.services.support import SupportService
from bot.services.support import build as build_support
from bot.services.stats import build as build_stats

log = logging.getLogger(__name__)

Handler = Callable[..., Awaitable[Any]]
LAST_GOOD = "last-good-config"  # <db stem>.last-good-config/ beside the database: the last config that loaded cleanly


def last_good_path(db_path: str | Path) -> Path:
    """Where the last good config of this database is kept: `<stem>.last-good-config/` beside it, so
    two databases in one folder (two communities, a test copy) never share one."""
    if is_postgres_url(str(db_path)):
        from bot.db.pg import home_for

        db_path = home_for(str(db_path))  # data/<database>.<schema>.pg
    db_path = Path(db_path)
    return db_path.with_name(f"{db_path.stem}.{LAST_GOOD}")


def last_good_to_read(db_path: str | Path) -> Path:
    """The copy to fall back on: this database's own, else the folder-wide `last-good-config/` that
    earlier versions kept (read, never written again: the next clean start saves the database's own)."""
    own = last_good_path(db_path)
    legacy = own.parent / LAST_GOOD
    return own if own.is_dir() or not legacy.is_dir() else legacy


class Actions:
    """Named actions a schedule can trigger ("prompt.post", "quiz.start", "drop.open", ...)."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}
        self._keyed: set[str] = set()

    def register(self, name: str, handler: Handler, *, keyed: bool = False) -> None:
        """`keyed`: the handler also takes `run_key=` (`<schedule id>:<occurrence>`, which entry runs
        it) for what it must make once per entry and occurrence."""
        if name in self._handlers:
            raise ValueError(f"schedule action {name!r} registered twice")
        self._handlers[name] = handler
        if keyed:
            self._keyed.add(name)

    def get(self, name: str) -> Handler:
        return self._handlers[name]

    def bind(self, name: str, run_key: str) -> Handler:
        """The handler of `name`, given `run_key=` when it asked for it (KeyError when unknown)."""
        handler = self._handlers[name]
        return functools.partial(handler, run_key=run_key) if name in self._keyed else handler

    def names(self) -> list[str]:
        return sorted(self._handlers)


class Events:
    """In-process notifications between services ("points.changed", "member.left", ...)."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)

    def on(self, name: str, handler: Handler) -> None:
        self._handlers[name].append(handler)

    async def emit(self, name: str, **payload: Any) -> None:
        for handler in self._handlers.get(name, []):
            try:
                await handler(**payload)
            except Exception:
                log.exception("event handler for %s failed", name)


def database_path(config: Config, override: str | Path | None = None) -> str | Path:
    """The store to open: --db, else DATABASE_URL, else KIZUNA_DB, else `community.database`, else
    data/kizuna.db. A `postgresql://` URL stays a str (bot/db/pg.py); anything else is a SQLite file."""
    for value in (override, os.environ.get("DATABASE_URL"), os.environ.get("KIZUNA_DB"),
                  config.community.info.database):
        if value:
            return str(value) if is_postgres_url(str(value)) else Path(value)
    return Path("data") / "kizuna.db"


class App:
    # the feature services, built in __init__ in start order (start() walks them in this order)
    membership: MembershipService
    participation: ParticipationService
    content: ContentService
    drops: DropsService
    feedback: FeedbackService
    automod: AutoModService
    live_events: LiveEventsService  # Discord scheduled events (AMA sessions, schedules with `event:`)
    ama: AmaService
    support: SupportService
    stats: StatsService
    schedules: ScheduleService  # last: the others have registered their schedule actions by then

    def __init__(self, config: Config, db: Database, clock: Clock, scheduler: KizunaScheduler,
                 outbox: Outbox) -> None:
        self.config = config
        self.db = db
        self.clock = clock
        self.scheduler = scheduler
        self.outbox = outbox
        self.catalogue = Catalogue.for_config(config)
        self.audit = AuditService(db, clock, outbox, config.community.moderation.mod_log, self.t)
        self.actions = Actions()
        self.events = Events()
        self.guild: GuildPort | None = None  # set by the bot once Discord (real or fake) is there
        self.forum: ForumPort | None = None  # forum posts' tags and flags (bot/services/forum.py), set by the bot
        self.guild_id: int | None = config.community.info.guild_id
        # Discord's native surfaces, set by the bot like `guild` (None: service tests without Discord)
        self.scheduled_events_port: ScheduledEventPort | None = None
        self.polls_port: PollPort | None = None
        # one at a time, in start order: a build(app) may use the services built before it
        self.membership = build_membership(self)
        self.participation = build_participation(self)
        self.content = build_content(self)
        self.drops = build_drops(self)
        self.feedback = build_feedback(self)
        self.automod = build_automod(self)
        self.live_events = build_live_events(self)
        self.ama = build_ama(self)
        self.support = build_support(self)
        self.stats = build_stats(self)
        self.schedules = build_schedules(self)

    @property
    def features(self) -> dict[str, Any]:
        """Every feature service by name, in start order: what start, reload and close walk."""
        return {"membership": self.membership, "participation": self.participation, "content": self.content,
                "drops": self.drops, "feedback": self.feedback, "automod": self.automod,
                "live_events": self.live_events, "ama": self.ama, "support": self.support, "stats": self.stats,
                "schedules": self.schedules}

    @property
    def last_good_dir(self) -> Path:
        """Where the last config that loaded cleanly is kept: beside the database, named after it."""
        return last_good_path(self.db.path)

    async def reload_config(self) -> list[str]:
        """Read the config folder again. On any problem nothing changes and the file:line problems are
        returned; otherwise the new config is in force for every service (no restart needed). The
        files are read and validated in a worker thread: the bot keeps answering meanwhile."""
        from bot.dryrun import problems_off_loop  # discord.py's payload rules: the runtime side

        try:
            config = await asyncio.to_thread(load_config, self.config.dir)
        except ConfigError as exc:
            return exc.problems
        # what `check` refuses, reload refuses too: a message Discord would refuse keeps the old config
        problems = await problems_off_loop(config)
        if problems:
            return problems
        self.config = config
        self.catalogue = Catalogue.for_config(config)
        self.audit.mod_log_key = config.community.moderation.mod_log
        for service in self.features.values():
            hook = getattr(service, "config_changed", None)
            if hook is not None:
                await hook(config)
        await self.events.emit("config.reloaded", config=config)  # for the Discord side (command texts)
        save_last_good(config, self.last_good_dir)
        return []

    def t(self, key: str, /, **params: Any) -> str:
        return self.catalogue.t(key, **params)

    @classmethod
    async def open(cls, config: Config, *, db_path: str | Path | None = None, clock: Clock | None = None,
                   real_scheduler: bool = True, outbox_settings: OutboxSettings | None = None,
                   read_only: bool = False) -> "App":
        """`read_only`: an existing, up-to-date database opened for reading (stats, export, preview);
        raises DatabaseUnavailable rather than creating or migrating one."""
        from bot.db.connection import open_database_readonly
        from bot.db.leader import fence_for
        from bot.leading import leading

        clock = clock or SystemClock()
        path = database_path(config, db_path)
        schema = config.community.info.database_schema
        db = await (open_database_readonly(path, schema=schema) if read_only else open_database(path, schema=schema))
        scheduler = KizunaScheduler(clock, real=real_scheduler)
        try:
            outbox = Outbox(db, clock, outbox_settings)
            outbox.fence = fence_for(db, leading.get())  # a PostgreSQL leader proves it leads before each send
            return cls(config, db, clock, scheduler, outbox)
        except BaseException:
            await db.close()  # the writer lock and aiosqlite's thread go with it: the process can exit
            raise

    async def start(self) -> None:
        """Re-arm everything from the database: timers, schedules, half-sent outbox rows."""
        if not getattr(self, "_reporting_unknown", False):
            self.outbox.on_unknown(self._report_unknown)
            self._reporting_unknown = True
        await self.outbox.recover()  # each one is checked (nonce, or a look in the channel) before resending
        for service in self.features.values():
            start = getattr(service, "start", None)
            if start is not None:
                await start()
        self.scheduler.start()

    async def _report_unknown(self, row: dict) -> None:
        """An interrupted send the bot could not check: the moderators decide."""
        await self.audit.note(int(row["guild_id"]), self.t("core.outbox_unknown", key=row["dedupe_key"]),
                              dedupe_key=f"unknown:{row['id']}")

    async def close(self) -> None:
        try:
            self.scheduler.shutdown()
            await self.outbox.stop()
            for service in reversed(list(self.features.values())):
                stop = getattr(service, "stop", None)
                if stop is not None:
                    try:
                        await stop()
                    except Exception:
                        log.exception("stopping %s failed", type(service).__name__)
        finally:  # whatever failed above: the writer lock and aiosqlite's thread must go (the process exits)
            await self.db.close()
