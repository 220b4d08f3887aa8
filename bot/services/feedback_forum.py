"""Feedback as forum posts (issue 20): when `feedback.channel` is a forum, each item is a post titled
"#id · title", tagged with its category and status (tags /setup creates, bot/services/forum.py); a
status change moves the status tag; 👍 on the post's starter message is an upvote (taken back with the
reaction); members' replies in the post are kept with the item (their text only where Discord shares
it: Kizuna has no message-content intent)."""
from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from bot.db import feedback as feedback_repo
from bot.db import feedback_forum as repo

from .forum import (FEEDBACK_STATUSES, RESYNC_WINDOW, TagPlan, apply_tags, catalogue_of, feedback_category_tag,
                    feedback_status_tag, is_forum)
from .messages import OutMessage

UPVOTE = "👍"
OPEN_STATUSES = ("new", "under_review", "planned")  # not decided yet: always re-synced after a start


class FeedbackForum:
    def __init__(self, app) -> None:
        self.app = app

    @property
    def enabled(self) -> bool:
        c = self.app.config.community
        return is_forum(c, c.feedback.channel)

    def _tags(self) -> tuple[dict[str, str], dict[str, str]]:
        c = self.app.config.community
        cat = catalogue_of(c)
        return ({k: feedback_category_tag(cat.t, cat.has, k) for k in c.feedback.categories},
                {s: feedback_status_tag(cat.t, s) for s in FEEDBACK_STATUSES})

    def tags_of(self, item) -> tuple[str, ...]:
        categories, statuses = self._tags()
        return tuple(n for n in (categories.get(item.category), statuses.get(item.status)) if n)

    def dress(self, item, message: OutMessage) -> OutMessage:
        """The public message as a forum post (title and tags) when the channel is a forum."""
        if not self.enabled:
            return message
        return dataclasses.replace(message, thread_name=f"#{item.id} · {item.title}"[:100], tags=self.tags_of(item))

    def _tag_plan(self, guild_id: int, post_id: int, category: str, status: str) -> TagPlan:
        categories, statuses = self._tags()
        wanted = tuple(n for n in (categories.get(category), statuses.get(status)) if n)
        return TagPlan(guild_id, post_id, (*categories.values(), *statuses.values()), wanted)

    async def sync(self, item) -> bool:
        """The post's category and status tags follow the item (tags members added stay)."""
        if not self.enabled or not item.post_message_id or item.post_message_id != item.post_channel_id:
            return False
        return await apply_tags(self.app.forum, self._tag_plan(item.guild_id, item.post_message_id, item.category,
                                                                item.status))

    async def tag_plans(self, guild_id: int) -> list[TagPlan]:
        """For the re-sync after a start (bot/services/forum.py): items still being decided, and those
        changed within RESYNC_WINDOW."""
        if not self.enabled:
            return []
        rows = await repo.forum_posts_to_resync(self.app.db, guild_id, self.app.clock.now() - RESYNC_WINDOW,
                                                open_statuses=OPEN_STATUSES)
        return [self._tag_plan(guild_id, r["post_id"], r["category"], r["status"]) for r in rows]

    async def repair_unrecorded(self) -> int:
        """At start: a forum post that went out but was never tied to its item (a crash in between) is
        tied now (a post's starter message shares its id), so its upvotes, replies and tags follow it."""
        fixed = 0
        for row in await repo.posts_unrecorded(self.app.db):
            if OutMessage.from_json(row["payload"]).thread_name:  # a forum post (not a text-channel one)
                await feedback_repo.set_post(self.app.db, row["item_id"], queue=False, channel_id=row["message_id"],
                                             message_id=row["message_id"])
                fixed += 1
        return fixed

    def category_of(self, tags) -> str | None:
        """The category whose tag a member chose for their post (the first one), or None."""
        by_name = {name: key for key, name in self._tags()[0].items()}
        return next((by_name[n] for n in tags if n in by_name), None)

    async def known_posts(self, post_ids: list[int]) -> set[int]:
        """Which of these forum posts are feedback items already (for the scan at start)."""
        return await repo.items_of_posts(self.app.db, post_ids)

    async def item_of_post(self, post_id: int) -> int | None:
        return await repo.feedback_item_by_post(self.app.db, post_id)

    async def reaction(self, guild_id: int, *, post_id: int, message_id: int, user_id: int, emoji: str,
                       added: bool) -> bool:
        """👍 on the starter message (its id is the post's) is an upvote; removing it takes it back."""
        if message_id != post_id or emoji.replace("\ufe0f", "")[:1] != UPVOTE:
            return False
        item_id = await self.item_of_post(post_id)
        if item_id is None:
            return False
        row = await feedback_repo.get_item(self.app.db, item_id)
        if row is None or row["guild_id"] != guild_id or row["author_id"] == user_id:
            return False  # your own item: the reaction is only a reaction
        if added:
            return await feedback_repo.add_upvote(self.app.db, item_id, user_id, self.app.clock.now())
        return await repo.remove_upvote(self.app.db, item_id, user_id)

    async def reply(self, guild_id: int, *, post_id: int, message_id: int, author_id: int, content: str = "",
                    at: datetime | None = None) -> bool:
        """A member's message in an item's post, kept with the item (once per message)."""
        if message_id == post_id:
            return False  # the starter message is the item itself
        item_id = await self.item_of_post(post_id)
        if item_id is None:
            return False
        return await repo.add_feedback_reply(self.app.db, item_id=item_id, message_id=message_id,
                                             author_id=author_id, content=content or "",
                                             now=at or self.app.clock.now())

    async def replies(self, item_id: int) -> list[dict[str, Any]]:
        return await repo.feedback_replies(self.app.db, item_id)
