"""Live sessions as Discord guild scheduled events.

A *source* (an AMA session, `ama:<id>`, or one occurrence of a schedule with `event:`,
`schedule:<id>:<occurrence>`) gets one scheduled event on Discord. Members press Interested in
Discord's own UI (gateway GUILD_SCHEDULED_EVENT_USER_ADD/REMOVE -> `interest`); `remind_before` the
start, every interested member gets a reminder DM through the outbox (dedupe key per event and member:
exactly once, also across a restart, and Discord's own list of interested members is read first so a
press missed while the bot was down still counts). The event is marked active when the session starts
and completed when it ends; then everyone who was interested, and whoever the source adds (the AMA's
askers), earns `event_attend` once.

Everything is in the database (bot/db/live_events.py); timers are re-armed at start. An AMA drives its
event's start and end itself (`activate`, `complete`); a schedule's events run on their own timers.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from bot.db import live_events as repo

from .messages import OutMessage, Target

log = logging.getLogger(__name__)

EARLIEST_START = timedelta(minutes=1)  # Discord wants a start in the future: an event for "now" starts this soon
REMINDER_KEY = "live:remind:"  # outbox dedupe key prefix: live:remind:<event id>:<user id>


@dataclass(frozen=True)
class LiveEvent:
    id: int
    guild_id: int
    source: str
    name: str
    description: str
    location_key: str | None
    location_text: str | None
    starts_at: datetime
    ends_at: datetime
    remind_at: datetime | None
    discord_event_id: int | None
    status: str
    created_at: datetime
    reminded_at: datetime | None
    completed_at: datetime | None

    @property
    def from_schedule(self) -> bool:
        return self.source.startswith("schedule:")


def channel_link(guild_id: int, channel_id: int) -> str:
    """Where a thread or channel is, as Discord links it (an external event's location)."""
    return f"https://discord.com/channels/{guild_id}/{channel_id}"


def event_link(guild_id: int, discord_event_id: int) -> str:
    """The event's own page on Discord: opens from a DM, shows where it happens and the Interested button."""
    return f"https://discord.com/events/{guild_id}/{discord_event_id}"


def reminder_where(event: LiveEvent) -> str | None:
    """Where, as a DM can follow it: the event's link (a `#channel` does not resolve in a DM), after
    the place's own text when that is not a link (a schedule's `where: Shibuya tea shop`)."""
    text = event.location_text if event.location_text and "://" not in event.location_text else None
    link = event_link(event.guild_id, event.discord_event_id) if event.discord_event_id else event.location_text
    return " — ".join(part for part in (text, link) if part) or None


class LiveEventsService:
    def __init__(self, app) -> None:
        self.app = app
        self.db = app.db

    @property
    def port(self):
        return getattr(self.app, "scheduled_events_port", None)

    # --- lifecycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        for row in await repo.unfinished(self.db):
            self._arm(LiveEvent(**row))
        await self.plan_schedules()  # Discord's side follows once the guild is there (`discord_ready`)

    async def discord_ready(self) -> None:
        """The guild is available (READY, also after a reconnect): create on Discord what is not there
        yet (planned while it was not), and plan the schedules' (the guild id may be known only now)."""
        for row in await repo.unfinished(self.db):
            if row["discord_event_id"] is None:
                await self._create_on_discord(LiveEvent(**row))
        await self.plan_schedules()

    async def config_changed(self, config) -> None:
        await self.plan_schedules()

    # --- reading -------------------------------------------------------------------------------------
    async def get(self, event_id: int) -> LiveEvent | None:
        row = await repo.get(self.db, event_id)
        return LiveEvent(**row) if row else None

    async def of_source(self, guild_id: int, source: str) -> LiveEvent | None:
        row = await repo.by_source(self.db, guild_id, source)
        return LiveEvent(**row) if row else None

    async def interested(self, event_id: int) -> list[int]:
        return await repo.interested(self.db, event_id)

    # --- creating ------------------------------------------------------------------------------------
    async def create(self, guild_id: int, *, source: str, name: str, description: str, starts_at: datetime,
                     ends_at: datetime, remind_before: timedelta | None, location_key: str | None = None,
                     location_text: str | None = None) -> LiveEvent:
        """The event of `source` (made once: a second call returns the first)."""
        now = self.app.clock.now()
        starts_at = max(starts_at, now + EARLIEST_START)
        ends_at = max(ends_at, starts_at + EARLIEST_START)
        remind_at = starts_at - remind_before if remind_before is not None else None
        if remind_at is not None and remind_at <= now:
            remind_at = None  # too late to remind anyone: they see it starting
        row, _ = await repo.add(self.db, guild_id=guild_id, source=source, name=name[:100],
                                description=description[:1000], location_key=location_key,
                                location_text=location_text[:100] if location_text else None, starts_at=starts_at,
                                ends_at=ends_at, remind_at=remind_at, now=now)
        event = LiveEvent(**row)
        if event.discord_event_id is None:
            event = await self._create_on_discord(event)
        self._arm(event)
        return event

    async def _create_on_discord(self, event: LiveEvent) -> LiveEvent:
        if self.port is None:
            return event
        # not made twice by a replica that lost the lead meanwhile (it raises LeadershipLost)
        await self.app.outbox.confirm_leading()
        try:
            discord_id = await self.port.create_event(
                event.guild_id, name=event.name, description=event.description, start=event.starts_at,
                end=max(event.ends_at, self.app.clock.now() + 2 * EARLIEST_START),
                location_key=event.location_key, location_text=event.location_text)
        except ConnectionError:  # the guild is not available yet: discord_ready() makes it
            return event
        if discord_id is None:
            await self.app.audit.note(event.guild_id, self.app.t("events.create_failed", name=event.name),
                                      dedupe_key=f"live:create-failed:{event.id}")
            return event
        await repo.set_discord_id(self.db, event.id, discord_id)
        return await self.get(event.id) or event

    async def set_location(self, event_id: int, text: str) -> None:
        """Where it happens changed (the AMA's thread now exists): on Discord too."""
        event = await self.get(event_id)
        if event is None or event.location_text == text[:100] or event.status == "completed":
            return
        await repo.set_location_text(self.db, event_id, text[:100])
        if self.port is not None and event.discord_event_id:
            await self.port.edit_event(event.guild_id, event.discord_event_id, location_text=text[:100])

    # --- timers ----------------------------------------------------------------------------------------
    def _arm(self, event: LiveEvent) -> None:
        scheduler = self.app.scheduler
        if event.status == "scheduled" and event.remind_at is not None and event.reminded_at is None:
            scheduler.add_timer(f"live:remind:{event.id}", event.remind_at, self._fire(self.remind, event.id))
        if event.from_schedule:  # an AMA starts and ends its event itself
            if event.status == "scheduled":
                scheduler.add_timer(f"live:start:{event.id}", event.starts_at, self._fire(self.activate, event.id))
            scheduler.add_timer(f"live:end:{event.id}", event.ends_at, self._fire(self._end_scheduled, event.id))

    @staticmethod
    def _fire(method, event_id: int):
        async def fire(_fire_time: datetime) -> None:
            await method(event_id)
        return fire

    async def _end_scheduled(self, event_id: int) -> None:
        await self.complete(event_id)
        await self.plan_schedules()

    # --- reminders -------------------------------------------------------------------------------------
    async def remind(self, event_id: int) -> int:
        """DM every interested member once (the outbox dedupes per event and member); how many were
        queued by this call. Discord's list is read first: a press missed while the bot was down counts."""
        event = await self.get(event_id)
        if event is None or event.status != "scheduled" or event.reminded_at is not None:
            return 0
        if self.port is not None and event.discord_event_id:
            listed = await self.port.interested_users(event.guild_id, event.discord_event_id)
            if listed:
                await repo.add_interested_many(self.db, event.id, listed, self.app.clock.now())
        queued = 0
        for user_id in await repo.interested(self.db, event.id):
            await self.app.outbox.post(event.guild_id, Target.dm(user_id), self.reminder(event),
                                       dedupe_key=f"{REMINDER_KEY}{event.id}:{user_id}")
            queued += 1
        await repo.claim_reminders(self.db, event.id, self.app.clock.now())
        return queued

    def reminder(self, event: LiveEvent) -> OutMessage:
        where = reminder_where(event) or self.app.t("events.here")
        return OutMessage(content=self.app.t("events.reminder_dm", name=event.name, where=where,
                                             when=f"<t:{int(event.starts_at.timestamp())}:R>"))

    # --- members pressing Interested -----------------------------------------------------------------------
    async def interest(self, guild_id: int, discord_event_id: int, user_id: int, interested: bool) -> bool:
        """GUILD_SCHEDULED_EVENT_USER_ADD / _REMOVE: False when the event is not one of ours."""
        row = await repo.by_discord_id(self.db, discord_event_id)
        if row is None or row["guild_id"] != guild_id:
            return False
        await repo.set_interest(self.db, row["id"], user_id, interested, self.app.clock.now())
        event = LiveEvent(**row)
        if interested and event.status == "scheduled" and event.reminded_at is not None:
            # the reminders went out already: a late press gets its own at once (still once per member)
            await self.app.outbox.post(guild_id, Target.dm(user_id), self.reminder(event),
                                       dedupe_key=f"{REMINDER_KEY}{event.id}:{user_id}")
        return True

    # --- start and end -----------------------------------------------------------------------------------
    async def activate(self, event_id: int) -> bool:
        event = await self.get(event_id)
        if event is None or not await repo.move(self.db, event_id, to="active", now=self.app.clock.now()):
            return False
        self.app.scheduler.remove_job(f"live:remind:{event_id}")
        if self.port is not None and event.discord_event_id:
            await self.port.edit_event(event.guild_id, event.discord_event_id, status="active")
        return True

    async def complete(self, event_id: int, *, attendees: Iterable[int] = ()) -> list[int]:
        """End the event; `event_attend` for everyone interested and for `attendees` (once each).
        Returns who earned it now."""
        event = await self.get(event_id)
        if event is None:
            return []
        was_scheduled = event.status == "scheduled"
        if not await repo.move(self.db, event_id, to="completed", now=self.app.clock.now()):
            return []
        scheduler = self.app.scheduler
        for kind in ("remind", "start", "end"):
            scheduler.remove_job(f"live:{kind}:{event_id}")
        if self.port is not None and event.discord_event_id:
            if was_scheduled:  # Discord goes scheduled -> active -> completed, never straight to completed
                await self.port.edit_event(event.guild_id, event.discord_event_id, status="active")
            await self.port.edit_event(event.guild_id, event.discord_event_id, status="completed")
        people = list(dict.fromkeys([*await repo.interested(self.db, event_id), *attendees]))
        earned = []
        for user_id in people:
            if await self.app.participation.award(event.guild_id, user_id, "event_attend", f"live:{event_id}"):
                earned.append(user_id)
        return earned

    async def cancel(self, event_id: int) -> bool:
        event = await self.get(event_id)
        if event is None or not await repo.move(self.db, event_id, to="canceled", now=self.app.clock.now()):
            return False
        for kind in ("remind", "start", "end"):
            self.app.scheduler.remove_job(f"live:{kind}:{event_id}")
        if self.port is not None and event.discord_event_id:
            await self.port.edit_event(event.guild_id, event.discord_event_id, status="canceled")
        return True

    # --- schedules with `event:` ------------------------------------------------------------------------------
    async def plan_schedules(self) -> None:
        """For each schedule with `event:`, the event of its next occurrence once that is within
        `create_before`; a timer wakes this again when the next one comes within reach."""
        guild_id = self.app.guild_id
        if guild_id is None:
            return
        app = self.app
        model = app.config.schedules
        default_tz = model.default_timezone(app.config)
        now = app.clock.now()
        app.scheduler.remove_prefix("live:plan:")
        for schedule in model.schedules:
            spec = schedule.event
            if spec is None or not schedule.enabled:
                continue
            occurrence = schedule.trigger(default_tz).get_next_fire_time(None, now)
            if occurrence is None:
                continue
            create_at = occurrence - spec.create_before
            if create_at > now:
                app.scheduler.add_timer(f"live:plan:{schedule.id}", create_at, self._replan)
                continue
            where = spec.where
            await self.create(guild_id, source=f"schedule:{schedule.id}:{occurrence.isoformat()}", name=spec.name,
                              description=spec.description, starts_at=occurrence,
                              ends_at=occurrence + spec.duration, remind_before=spec.remind_before,
                              location_key=spec.location or (schedule.channel if where is None else None),
                              location_text=where)

    async def _replan(self, _fire_time: datetime) -> None:
        await self.plan_schedules()


def build(app) -> LiveEventsService:
    return LiveEventsService(app)
