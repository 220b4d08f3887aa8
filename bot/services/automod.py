"""Risk words as a Discord AutoMod rule, and what the bot does when the rule fires.

`desired()` is the rule community.yaml asks for (`moderation.automod` plus `feedback.flag_keywords`), in
keys and plain values: the Discord side (cogs/automod) resolves the keys, creates or updates the one
rule (found again by the id remembered here, else by its name) on `/setup` and on every config reload.
When the rule fires, Discord sends AUTO_MODERATION_ACTION_EXECUTION; `flagged()` turns the bot's own
rule's alert into one mod-log notice (through the audit's outbox: once per alert, never pinging; the
member's words relayed). Without the message-content intent Discord leaves the text out: the notice
then names the keyword and links Discord's own alert.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Awaitable, Callable

from bot.config.automod import keyword_filter
from bot.db import automod as repo

from .safety import relay

log = logging.getLogger(__name__)

RULE_KEY = "risk_words"
BLOCK_MESSAGE_LIMIT = 150  # Discord's documented limit for a block action's custom message


@dataclass(frozen=True)
class RuleSpec:
    """The rule as the config wants it; channel and role *keys*, resolved by the Discord side."""

    name: str
    keywords: tuple[str, ...]
    allow: tuple[str, ...]
    alert_channel: str
    block_message: str | None  # None: alert only
    exempt_roles: tuple[str, ...]
    exempt_channels: tuple[str, ...]


@dataclass(frozen=True)
class Flagged:
    """One firing of the bot's rule, as the gateway told it."""

    guild_id: int
    rule_id: int
    user_id: int
    channel_id: int | None
    message_id: int | None
    alert_message_id: int | None
    matched_keyword: str | None
    content: str
    alert_url: str | None = None


@dataclass(frozen=True)
class SyncOutcome:
    """What one sync did to the rule on Discord."""

    outcome: str  # created | updated | unchanged | disabled | off | failed
    rule_id: int | None = None
    detail: str = ""
    channel: str = ""  # the alert channel as members see it (a mention)

    def line(self, app) -> str:
        """The line /setup and /admin reload show ("" when AutoMod is off and there is nothing to say)."""
        t = app.t
        spec = app.automod.desired()
        name = spec.name if spec else app.config.community.moderation.automod.rule_name
        if self.outcome == "off":
            return ""
        if self.outcome in ("disabled", "failed") or spec is None:
            return t(f"automod.setup_{self.outcome}", name=name, detail=self.detail)
        return t(f"automod.setup_{self.outcome}", name=name, count=len(spec.keywords), channel=self.channel,
                 block=t("automod.setup_blocking") if spec.block_message else "")


RuleSyncer = Callable[[int], Awaitable[SyncOutcome]]


class AutoModService:
    def __init__(self, app) -> None:
        self.app = app
        self.syncer: RuleSyncer | None = None  # the Discord side (cogs/automod) serves sync()
        self._last_sync: SyncOutcome | None = None

    async def sync(self, guild_id: int) -> SyncOutcome | None:
        """Create, update or turn off the rule on Discord to match `desired()` (/setup, a reload).
        None when no Discord side is attached."""
        if self.syncer is None:
            return None
        outcome = await self.syncer(guild_id)
        self._last_sync = outcome
        return outcome

    def take_last_sync(self) -> SyncOutcome | None:
        """The outcome of the last sync since this was last asked (a reload's, for its reply)."""
        outcome, self._last_sync = self._last_sync, None
        return outcome

    @property
    def settings(self):
        return self.app.config.community.moderation.automod

    def desired(self) -> RuleSpec | None:
        """The rule to keep on Discord, or None when `moderation.automod.enabled` is off."""
        community = self.app.config.community
        s = self.settings
        if not s.enabled:
            return None
        block = self.app.t("automod.block_message")[:BLOCK_MESSAGE_LIMIT] if s.block else None
        return RuleSpec(name=s.rule_name, keywords=tuple(s.keywords(community.feedback.flag_keywords)),
                        allow=tuple(keyword_filter(s.allow)), alert_channel=community.moderation.mod_log,
                        block_message=block, exempt_roles=s.exempt_roles, exempt_channels=s.exempt_channels)

    async def rule_id(self, guild_id: int) -> int | None:
        return await repo.rule_id(self.app.db, guild_id, RULE_KEY)

    async def remember(self, guild_id: int, rule_id: int) -> None:
        await repo.remember_rule(self.app.db, guild_id, RULE_KEY, rule_id, self.app.clock.now())

    async def flagged(self, event: Flagged, *, alert: bool) -> bool:
        """The bot's rule fired. Discord sends one event per action (alert, block); the alert's is
        the one noted (the block's carries no message to point at). False when it is not ours."""
        if not alert or event.rule_id != await self.rule_id(event.guild_id):
            return False
        t = self.app.t
        text = event.content.strip()
        quoted = "\n".join(f"> {line}" for line in relay(text[:1500]).splitlines()) if text else t("automod.no_text")
        params = dict(user=f"<@{event.user_id}>", channel=f"<#{event.channel_id}>" if event.channel_id else "—",
                      keyword=(event.matched_keyword or "?")[:60], text=quoted,
                      alert=t("automod.alert_link", url=event.alert_url) if event.alert_url else "")
        key = "automod.flagged_blocked" if self.settings.block else "automod.flagged"
        await self.app.audit.note(event.guild_id, t(key, **params), dedupe_key=_dedupe_key(event))
        return True


def _dedupe_key(event: Flagged) -> str:
    """One notice per alert: Discord's alert message id, else the member's message, else its words."""
    ref = event.alert_message_id or event.message_id
    if ref is None:
        digest = hashlib.sha1(f"{event.user_id}:{event.channel_id}:{event.content}".encode()).hexdigest()[:16]
        ref = f"text-{digest}"
    return f"automod:flagged:{event.rule_id}:{ref}"


def build(app) -> AutoModService:
    return AutoModService(app)
