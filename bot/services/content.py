"""Exclusive content reveals: a piece of content posted in its tier's channel at its time, once, with
an optional public teaser that says how to get access.

Two ways to time a reveal (both end in `reveal`, claimed in the database per occurrence so a restart or
a second trigger never posts twice):
- an item's own `at:` in content.yaml: armed here as a scheduler timer `content:reveal:<id>`
  (occurrence = that time);
- the schedule action `content.reveal` with params {id} from schedules.yaml (occurrence = the
  schedule's fire time), for centrally planned reveals; without an id it reveals the first item that
  has no `at:` and was never revealed (a weekly "next reveal" schedule).
Moderators post on demand with `/content post` (occurrence `manual:<time>`, audited).

Content never reaches a channel below its tier: the config refuses it at load time, and `reveal` checks
again with the target channel actually used (a moderator may pick one) right before queueing the post.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Mapping

from bot.config.actions import ContentRevealParams
from bot.config.content import ContentItem, audience_rank, placement_problem, to_utc
from bot.db import content as repo
from bot.db.connection import to_db_time
from bot.errors import UserError

from .messages import OutMessage, Target

log = logging.getLogger(__name__)

EMBED_COLOUR = 0xF4A7B9  # sakura pink; brand teams restyle through the message catalogue, not here


@dataclass(frozen=True)
class RevealResult:
    content_id: str
    channel: str
    occurrence: str
    posted: bool  # False: this occurrence was revealed already
    teaser_channel: str | None = None
    posted_at: datetime | None = None  # when it was posted (now, or the earlier time when not posted again)


def build(app) -> "ContentService":
    return ContentService(app)


class ContentService:
    TIMER_PREFIX = "content:reveal:"

    def __init__(self, app) -> None:
        self.app = app
        app.actions.register("content.reveal", self._on_schedule)

    # --- config ---------------------------------------------------------------------------------
    @property
    def items(self) -> tuple[ContentItem, ...]:
        content = getattr(self.app.config, "content", None)
        return content.content if content is not None else ()

    def item(self, content_id: str) -> ContentItem:
        found = next((c for c in self.items if c.id == content_id), None)
        if found is None:
            raise UserError("content.unknown", id=content_id, known=", ".join(c.id for c in self.items) or "-")
        return found

    # --- timing ---------------------------------------------------------------------------------
    async def start(self) -> None:
        for item in self.items:
            if item.at is not None:
                self._arm(item)

    def _arm(self, item: ContentItem, when: datetime | None = None) -> None:
        at = to_utc(item.at, self.app.config.timezone)

        async def fire(_fire_time: datetime) -> None:
            await self._timer_fired(item, at)

        self.app.scheduler.add_timer(self.TIMER_PREFIX + item.id, when or at, fire)

    async def _timer_fired(self, item: ContentItem, at: datetime) -> None:
        guild_id = self.app.guild_id
        if guild_id is None:  # Discord not ready yet: look again in a minute
            self._arm(item, self.app.clock.now() + timedelta(minutes=1))
            return
        try:
            await self.reveal(guild_id, item.id, occurrence=to_db_time(at))
        except UserError as exc:
            await self._skipped(guild_id, item.id, exc)

    async def _on_schedule(self, guild_id: int, occurrence, params: ContentRevealParams | Mapping[str, Any]) -> None:
        """The `content.reveal` schedule action: params {id}; without an id, the first item without its
        own `at:` that was never revealed. Errors are reported by the schedules service."""
        occ = to_db_time(occurrence) if isinstance(occurrence, datetime) else str(occurrence)
        content_id = ContentRevealParams.of(params).id
        if not content_id:
            done = {r["content_id"] for r in await repo.reveals(self.app.db, guild_id)}
            content_id = next((c.id for c in self.items if c.at is None and c.id not in done), None)
            if content_id is None:
                return  # nothing left to reveal
        await self.reveal(guild_id, str(content_id), occurrence=occ)

    async def _skipped(self, guild_id: int, content_id: str, exc: UserError) -> None:
        log.warning("content reveal %s skipped: %s %s", content_id, exc.key, exc.params)
        await self.app.audit.note(guild_id, self.app.t("content.reveal_skipped", id=content_id,
                                                       reason=self.app.t(exc.key, **exc.params)),
                                  dedupe_key=f"content:skipped:{guild_id}:{content_id}:{self.app.clock.now().isoformat()}")

    # --- posting ----------------------------------------------------------------------------------
    async def post_now(self, guild_id: int, content_id: str, *, by: int, channel: str | None = None) -> RevealResult:
        """`/content post`: reveal now, on demand (moderators; audited). An item posted before (by a
        moderator or its timer) is not posted again: the result says where and when it was."""
        item = self.item(content_id)
        earlier = await repo.reveals(self.app.db, guild_id, item.id)
        if earlier:
            last = earlier[-1]
            return RevealResult(item.id, last["channel"], last["occurrence"], posted=False, posted_at=last["posted_at"])
        occurrence = f"manual:{to_db_time(self.app.clock.now())}"
        result = await self.reveal(guild_id, content_id, occurrence=occurrence, by=by, channel=channel)
        if result.posted:
            await self.app.audit.record(guild_id, by, "content.post", content_id, f"in #{result.channel}")
        return result

    async def reveal(self, guild_id: int, content_id: str, *, occurrence: str, by: int | None = None,
                     channel: str | None = None) -> RevealResult:
        item = self.item(content_id)
        target = channel or item.channel
        self.check_placement(item, target)  # the send-time check, whatever the config said
        reveal_id = await repo.claim_reveal(self.app.db, guild_id=guild_id, content_id=item.id, occurrence=occurrence,
                                            channel=target, now=self.app.clock.now(), by=by)
        teaser = item.teaser.channel if item.teaser else None
        if reveal_id is None:
            return RevealResult(item.id, target, occurrence, posted=False, teaser_channel=teaser)
        await self.app.outbox.post(guild_id, Target.channel(target), self.render(item),
                                   dedupe_key=f"content:{guild_id}:{item.id}:{occurrence}")
        if item.teaser:
            await self.app.outbox.post(guild_id, Target.channel(item.teaser.channel),
                                       OutMessage(content=item.teaser.text, as_persona=True),
                                       dedupe_key=f"content:{guild_id}:{item.id}:{occurrence}:teaser")
        return RevealResult(item.id, target, occurrence, posted=True, teaser_channel=teaser,
                            posted_at=self.app.clock.now())

    def check_placement(self, item: ContentItem, channel_key: str) -> None:
        community = self.app.config.community
        if channel_key not in community.channels:
            raise UserError("content.unknown_channel", channel=channel_key)
        if placement_problem(community, item.tier, channel_key):
            raise UserError("content.below_tier", id=item.id, channel=channel_key, tier=self.tier_name(item.tier))

    def tier_name(self, tier: str) -> str:
        community = self.app.config.community
        if audience_rank(community, tier) == 0:
            return self.app.t("content.audience_members")
        return community.tier(tier).name

    def render(self, item: ContentItem) -> OutMessage:
        embed: dict = {"color": EMBED_COLOUR,
                       "footer": {"text": self.app.t("content.footer", tier=self.tier_name(item.tier))}}
        if item.title:
            embed["title"] = item.title
        if item.text:
            embed["description"] = item.text
        if item.link:
            embed["url"] = str(item.link)
            if not item.title:
                embed["title"] = str(item.link)
        if item.image:
            embed["image"] = {"url": str(item.image)}
        return OutMessage(embeds=(embed,), as_persona=True)

    async def history(self, guild_id: int, content_id: str | None = None) -> list[dict]:
        return await repo.reveals(self.app.db, guild_id, content_id)
