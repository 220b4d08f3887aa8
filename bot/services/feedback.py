"""Feedback: members' words in, "you said, we did" out.

An item is stored first, then posted to the feedback channel through the outbox (nothing in it can
ping) with persistent triage and upvote buttons. Moderators move it new -> under review -> planned ->
done / declined (with a reason); every change is audited and DM'd to the submitter. Items with risk
keywords or strong negative language are flagged to the mod queue. Also: a per-member rate limit,
👍/👎 votes on announcement posts, a CSV export and a weekly digest (schedule action `feedback.digest`).
"""
from __future__ import annotations

import csv
import io
import logging
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any, Awaitable, Callable, Iterable, Mapping

from bot.config.actions import FeedbackDigestParams
from bot.db import feedback as repo
from bot.db import feedback_forum as forum_repo
from bot.errors import UserError

from .feedback_forum import FeedbackForum
from .messages import Button, OutMessage, Sent, Target
from .safety import relay, write_csv

log = logging.getLogger(__name__)

STATUSES = ("new", "under_review", "planned", "done", "declined")
TRIAGE_STATUSES = ("under_review", "planned", "done", "declined")
STATUS_COLORS = {"new": 0x5865F2, "under_review": 0xFEE75C, "planned": 0x3BA55C, "done": 0x2D7D46,
                 "declined": 0x99AAB5}
FLAG_COLOR = 0xED4245
UP, DOWN = "👍", "👎"
# the export's columns; times are written in the community's time zone, named in their header
CSV_COLUMNS = ("id", "created_at", "category", "status", "title", "text", "author_id", "author_name", "anonymous",
               "upvotes", "flagged", "screenshots")
ZONED_COLUMNS = ("created_at",)

# Strong negative language, both languages always (members write in either). Extend per community with
# feedback.negative_words, or turn these off with feedback.builtin_negative_words: false.
BUILTIN_NEGATIVE_WORDS: tuple[str, ...] = (
    # en
    "terrible", "awful", "worst", "hate", "horrible", "disgusting", "useless", "garbage", "trash",
    "pathetic", "unacceptable", "ripoff", "rip-off", "furious", "never again", "fraud",
    # ja
    "最悪", "ひどい", "酷い", "最低", "ゴミ", "許せない", "詐欺", "ふざけるな", "二度と買わない", "ムカつく",
    "腹が立つ", "金返せ",
)


def status_custom_id(item_id: int, status: str) -> str:
    return f"kizuna:feedback:status:{item_id}:{status}"


def upvote_custom_id(item_id: int) -> str:
    return f"kizuna:feedback:upvote:{item_id}"


# --- risk flags ---------------------------------------------------------------------------------------

def _word_pattern(word: str) -> re.Pattern[str]:
    """ASCII words match on word boundaries ("scam" not in "scamper"); a word with any non-ASCII
    character (Japanese) matches as a substring, since Japanese has no spaces between words. The
    boundaries are ASCII-only on purpose: "refundしたい" still contains the word "refund"."""
    escaped = re.escape(word.casefold())
    if word.isascii():
        return re.compile(rf"(?<![a-z0-9_]){escaped}(?![a-z0-9_])")
    return re.compile(escaped)


@dataclass(frozen=True)
class Flags:
    keywords: tuple[str, ...] = ()
    negative: tuple[str, ...] = ()

    @property
    def flagged(self) -> bool:
        return bool(self.keywords or self.negative)

    def describe(self) -> str:
        parts = [f"keyword: {w}" for w in self.keywords] + [f"negative: {w}" for w in self.negative]
        return "; ".join(parts)


class FlagMatcher:
    def __init__(self, keywords: Iterable[str], negative_words: Iterable[str]) -> None:
        self.keywords = [(w, _word_pattern(w)) for w in dict.fromkeys(keywords)]
        self.negative = [(w, _word_pattern(w)) for w in dict.fromkeys(negative_words)]

    def check(self, *texts: str) -> Flags:
        folded = "\n".join(texts).casefold()
        return Flags(
            keywords=tuple(w for w, p in self.keywords if p.search(folded)),
            negative=tuple(w for w, p in self.negative if p.search(folded)),
        )


# --- results ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FeedbackItem:
    id: int
    guild_id: int
    author_id: int
    category: str
    title: str
    text: str
    anonymous: bool
    status: str
    status_reason: str | None
    flagged: bool
    flag_reasons: str
    source_url: str | None
    upvotes: int
    created_at: datetime
    updated_at: datetime
    post_channel_id: int | None = None
    post_message_id: int | None = None
    queue_channel_id: int | None = None
    queue_message_id: int | None = None
    attachments: tuple[dict[str, Any], ...] = ()  # uploaded screenshots: {filename, url, content_type, size...}

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "FeedbackItem":
        return cls(**{k: row[k] for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class StatusChange:
    item: FeedbackItem
    old_status: str


@dataclass(frozen=True)
class ItemDetails:
    item: FeedbackItem
    history: list[dict[str, Any]] = field(default_factory=list)


class FeedbackService:
    def __init__(self, app) -> None:
        self.app = app
        self.matcher = self._build_matcher()
        app.actions.register("feedback.digest", self.digest_action)
        app.outbox.on_sent(self._remember_post)
        self.forum = FeedbackForum(app)  # when the feedback channel is a forum (issue 20)

    @property
    def settings(self):
        """The `feedback:` section in force (follows a config reload)."""
        return self.app.config.community.feedback

    def _build_matcher(self) -> "FlagMatcher":
        s = self.settings
        negative = (BUILTIN_NEGATIVE_WORDS if s.builtin_negative_words else ()) + s.negative_words
        return FlagMatcher(s.flag_keywords, negative)

    async def config_changed(self, config) -> None:
        self.matcher = self._build_matcher()

    # --- labels -------------------------------------------------------------------------------------
    def category_label(self, category: str) -> str:
        key = f"feedback.category_{category}"
        return self.app.t(key) if self.app.catalogue.has(key) else category

    def status_label(self, status: str) -> str:
        return self.app.t(f"feedback.status_{status}")

    # --- submitting ---------------------------------------------------------------------------------
    async def submit(self, guild_id: int, author_id: int, *, category: str, title: str, text: str,
                     anonymous: bool = False, source_url: str | None = None,
                     attachments: Iterable[Mapping[str, Any]] = (), forum_post_id: int | None = None,
                     also: Callable[[Any, "FeedbackItem"], Awaitable[None]] | None = None) -> FeedbackItem:
        """Validate, store, then queue the public post (and the mod-queue copy when flagged).
        `attachments`: the screenshot(s) uploaded with the form, as metadata (see `screenshot_record`).
        `forum_post_id`: the member opened the item as a post in the feedback forum themselves
        (`opened_in_forum`): that post is the item's, and the card with the triage buttons goes in it;
        the same post submitted again returns its item (no rate limit: the post exists already).
        `also(tx, item)`: the caller's own write, inside the item's transaction (a UserError from it
        stores nothing)."""
        s = self.settings
        if category not in s.categories:
            raise UserError("feedback.unknown_category", category=category,
                            choices=", ".join(self.category_label(c) for c in s.categories))
        text = (text or "").strip()
        title = (title or "").strip()
        if not text:
            raise UserError("feedback.empty_text")
        if len(text) > s.max_length:
            raise UserError("feedback.too_long", length=len(text), max=s.max_length)
        if len(title) > s.title_max_length:
            raise UserError("feedback.title_too_long", length=len(title), max=s.title_max_length)
        if not title:
            title = _title_from(text, s.title_max_length)
        screenshots = [screenshot_record(a) for a in attachments]
        flags = self.matcher.check(title, text)
        now = self.app.clock.now()
        window = timedelta(seconds=s.rate_limit.per_seconds)
        # the item and its posts are one transaction: a crash leaves both or neither
        async with self.app.db.transaction() as tx:
            if forum_post_id is not None:
                known = await forum_repo.feedback_item_by_post(tx, forum_post_id)
                if known is not None:
                    return FeedbackItem.from_row(await repo.get_item(tx, known))
            row, recent = await repo.insert_item_within_limit(
                tx, guild_id=guild_id, author_id=author_id, category=category, title=title, text=text,
                anonymous=anonymous, flagged=flags.flagged, flag_reasons=flags.describe(), source_url=source_url,
                now=now, window_start=now - window, limit=s.rate_limit.count if forum_post_id is None else 2 ** 31,
            )
            item = None if row is None else FeedbackItem.from_row(row)
            if item is not None and forum_post_id is not None:
                await repo.set_post(tx, item.id, queue=False, channel_id=forum_post_id, message_id=forum_post_id)
                item = replace(item, post_channel_id=forum_post_id, post_message_id=forum_post_id)
            if item is not None and screenshots:
                await repo.set_attachments(tx, item.id, screenshots)
                item = replace(item, attachments=tuple(screenshots))
            if item is not None:
                if also is not None:
                    await also(tx, item)
                await self._queue_posts(tx, item)
        if item is None:
            again = recent[len(recent) - s.rate_limit.count] + window
            raise UserError("feedback.rate_limited", count=len(recent), seconds=s.rate_limit.per_seconds,
                            ts=int(again.timestamp()), wait=max(1, int((again - now).total_seconds() + 0.999)))
        self.app.outbox.wake()
        if forum_post_id is not None:
            await self.forum.sync(item)  # its status tag (a lost edit: the re-sync after a start)
        await self._award_points(guild_id, author_id, item.id)
        return item

    async def opened_in_forum(self, guild_id: int, *, post_id: int, author_id: int, title: str,
                              tags: Iterable[str], text: str = "") -> FeedbackItem | None:
        """A member opened a post in the feedback forum: it becomes an item through `submit` (the same
        checks, flags and mod-queue), its category from the tags they chose (else the first category).
        Its text is the starter message's where Discord shares it, else the title."""
        if not self.forum.enabled:
            return None
        category = self.forum.category_of(tags) or self.settings.categories[0]
        title = " ".join((title or "").split())
        if len(title) > self.settings.title_max_length:
            title = _short(title, self.settings.title_max_length)
        try:
            return await self.submit(guild_id, author_id, category=category, title=title,
                                     text=(text or "").strip()[:self.settings.max_length] or title,
                                     forum_post_id=post_id)
        except UserError as exc:  # nothing the member could fix in an interaction: say it in the log
            log.info("feedback post %s did not become an item: %s", post_id, exc.key)
            return None

    async def _queue_posts(self, tx, item: FeedbackItem) -> None:
        """The public post, and the mod-queue copy when flagged, inside the caller's transaction
        (idempotent: the dedupe keys). A member's own forum post is the public post already: the card
        with the triage buttons goes in it."""
        if item.post_message_id is not None and item.post_message_id == item.post_channel_id:
            target, message = Target.channel_id(item.post_message_id), self.card_message(item)
        else:
            target, message = Target.channel(self.settings.channel), self.public_message(item)
        await self.app.outbox.post_in(tx, item.guild_id, target, message, dedupe_key=f"feedback:post:{item.id}")
        if item.flagged:
            await self.app.outbox.post_in(tx, item.guild_id,
                                          Target.channel(self.app.config.community.moderation.mod_queue),
                                          self.queue_message(item), dedupe_key=f"feedback:queue:{item.id}")

    async def start(self) -> None:
        """Repair items an older version stored without queuing their posts (it died in between), and
        forum posts a crash left untied to their item."""
        await self.forum.repair_unrecorded()
        rows = await repo.items_missing_posts(self.app.db, post_prefix="feedback:post:",
                                              queue_prefix="feedback:queue:")
        if not rows:
            return
        async with self.app.db.transaction() as tx:
            for row in rows:
                await self._queue_posts(tx, FeedbackItem.from_row(row))
        log.warning("queued the missing posts of %d feedback item(s) left by an interrupted submission", len(rows))
        self.app.outbox.wake()

    async def _award_points(self, guild_id: int, user_id: int, item_id: int) -> None:
        try:
            await self.app.participation.award(guild_id, user_id, "feedback", ref=f"feedback:{item_id}")
        except UserError:
            pass  # e.g. a daily cap: the feedback itself went through
        except Exception:
            log.exception("participation award for feedback #%s failed", item_id)

    # --- reading ------------------------------------------------------------------------------------
    async def get(self, guild_id: int, item_id: int) -> FeedbackItem:
        row = await repo.get_item(self.app.db, item_id)
        if row is None or row["guild_id"] != guild_id:
            raise UserError("feedback.not_found", id=item_id)
        return FeedbackItem.from_row(row)

    async def details(self, guild_id: int, item_id: int) -> ItemDetails:
        item = await self.get(guild_id, item_id)
        return ItemDetails(item, await repo.status_history(self.app.db, item_id))

    async def mine(self, guild_id: int, user_id: int, limit: int = 15) -> list[FeedbackItem]:
        return [FeedbackItem.from_row(r) for r in await repo.items_by_author(self.app.db, guild_id, user_id, limit)]

    async def board(self, guild_id: int, *, category: str | None = None, flagged: bool | None = None,
                    per_status: int = 25) -> dict[str, list[FeedbackItem]]:
        """Items by status, newest first, at most `per_status` each (the dashboard's board)."""
        columns: dict[str, list[FeedbackItem]] = {s: [] for s in STATUSES}
        for row in await repo.board_items(self.app.db, guild_id, statuses=STATUSES, category=category,
                                          flagged=flagged, per_status=per_status):
            columns.setdefault(row["status"], []).append(FeedbackItem.from_row(row))
        return columns

    # --- triage -------------------------------------------------------------------------------------
    async def set_status(self, guild_id: int, item_id: int, status: str, *, actor_id: int,
                         reason: str | None = None) -> StatusChange:
        """A moderator's decision (the cog checks the role): recorded, audited, DM'd to the submitter."""
        if status not in TRIAGE_STATUSES:
            raise UserError("feedback.unknown_status", status=status)
        item = await self.get(guild_id, item_id)
        reason = (reason or "").strip() or None
        if status == "declined" and not reason:
            raise UserError("feedback.reason_required")
        async with self.app.db.transaction() as tx:  # the change and the member's DM: both or neither
            old = await repo.change_status(tx, item_id=item_id, new_status=status, actor_id=actor_id,
                                           reason=reason if status == "declined" else None, now=self.app.clock.now())
            if old is not None:
                item = FeedbackItem.from_row(await repo.get_item(tx, item_id))
                await self.app.outbox.post_in(tx, guild_id, Target.dm(item.author_id), self.status_dm(item),
                                              dedupe_key=f"feedback:status:{item_id}:{status}")
        if old is None:
            raise UserError("feedback.already_status", id=item_id, status=self.status_label(item.status))
        self.app.outbox.wake()
        await self.app.audit.record(guild_id, actor_id, "feedback.status", target=f"feedback #{item_id}",
                                    detail=f"{old} → {status}" + (f" ({reason})" if reason else ""))
        await self.forum.sync(item)  # a forum post's status tag moves with it (a lost edit: the re-sync)
        return StatusChange(item, old)

    async def upvote(self, guild_id: int, item_id: int, user_id: int) -> FeedbackItem:
        item = await self.get(guild_id, item_id)
        if item.author_id == user_id:
            raise UserError("feedback.own_upvote")
        if not await repo.add_upvote(self.app.db, item_id, user_id, self.app.clock.now()):
            raise UserError("feedback.already_upvoted", id=item_id)
        return await self.get(guild_id, item_id)

    # --- 👍/👎 on announcement posts ------------------------------------------------------------------
    async def record_reaction(self, guild_id: int, *, channel_key: str, channel_id: int, message_id: int,
                              user_id: int, emoji: str) -> bool:
        """One vote per member per post; a new vote replaces the old one. False if not a 👍/👎."""
        vote = _vote(emoji)
        if vote is None or channel_key not in self.settings.reactions_on:
            return False
        await repo.set_reaction(self.app.db, guild_id=guild_id, channel_key=channel_key, channel_id=channel_id,
                                message_id=message_id, user_id=user_id, vote=vote, now=self.app.clock.now())
        return True

    async def remove_reaction(self, guild_id: int, *, message_id: int, user_id: int, emoji: str) -> bool:
        vote = _vote(emoji)
        if vote is None:
            return False
        return await repo.remove_reaction(self.app.db, message_id=message_id, user_id=user_id, vote=vote)

    async def reaction_totals(self, message_id: int) -> tuple[int, int]:
        return await repo.reaction_totals(self.app.db, message_id)

    # --- export -------------------------------------------------------------------------------------
    def parse_since(self, value: str | None) -> datetime | None:
        """YYYY-MM-DD (midnight in the community's time zone) or a full ISO time; None for everything."""
        if value is None or not value.strip():
            return None
        value = value.strip()
        try:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                return datetime.combine(date.fromisoformat(value), time(0), tzinfo=self.app.config.timezone)
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise UserError("feedback.bad_date", value=value) from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=self.app.config.timezone)

    async def export_rows(self, guild_id: int | None, since: datetime | None) -> list[dict[str, Any]]:
        """The items as the export writes them: an anonymous item names nobody (no id, no name), times
        are in the community's time zone with their offset, authors named where the bot knows them."""
        rows = await repo.items_since(self.app.db, guild_id, since)
        tz = self.app.config.timezone
        names: dict[tuple[int, int], str] = {}  # (guild, member) -> name; the command line may export every guild
        for guild in {r["guild_id"] for r in rows}:
            named = [r["author_id"] for r in rows if r["guild_id"] == guild and not r["anonymous"]]
            if named:
                names.update({(guild, u): n for u, n in (await self.app.stats.names(guild, named)).items()})
        return [{
            "id": r["id"], "created_at": r["created_at"].astimezone(tz).isoformat(timespec="seconds"),
            "category": r["category"], "status": r["status"], "title": r["title"], "text": r["text"],
            "author_id": "" if r["anonymous"] else r["author_id"],
            "author_name": "" if r["anonymous"] else names.get((r["guild_id"], r["author_id"]), ""),
            "anonymous": "yes" if r["anonymous"] else "no", "upvotes": r["upvotes"],
            "flagged": "yes" if r["flagged"] else "no",
            "screenshots": " ".join(a["url"] for a in r.get("attachments") or ()),
        } for r in rows]

    async def export_csv(self, guild_id: int | None, since: datetime | None) -> tuple[bytes, int]:
        rows = await self.export_rows(guild_id, since)
        return to_csv(rows, zone=self.app.config.timezone.key), len(rows)

    async def record_export(self, guild_id: int, actor_id: int, count: int, since: str | None) -> None:
        """A moderator took the feedback out of Discord: the audit log says who, when and how much."""
        note = self.app.t("feedback.export_since", since=since) if since else ""
        await self.app.audit.record(guild_id, actor_id, "feedback.export", target="csv",
                                    detail=self.app.t("feedback.export_audit", count=count, since=note))

    # --- weekly digest (schedule action) ------------------------------------------------------------
    async def digest_action(self, guild_id: int, occurrence: datetime,
                            params: FeedbackDigestParams | Mapping[str, Any] | None = None) -> int | None:
        """Schedule action `feedback.digest`; params: FeedbackDigestParams (days, default 7; channel,
        default the feedback channel). Posted once per occurrence (the outbox dedupe key)."""
        params = FeedbackDigestParams.of(params)
        days = params.days
        channel = params.channel or self.settings.channel
        if channel not in self.app.config.community.channels:
            raise UserError("feedback.digest_unknown_channel", channel=channel)
        message = await self.digest_message(guild_id, occurrence - timedelta(days=days), occurrence)
        return await self.app.outbox.post(guild_id, Target.channel(channel), message,
                                          dedupe_key=f"feedback:digest:{guild_id}:{occurrence.isoformat()}")

    async def digest_message(self, guild_id: int, start: datetime, end: datetime) -> OutMessage:
        t = self.app.t
        top_n = self.settings.digest_top
        items = [i for i in await repo.items_since(self.app.db, guild_id, start) if i["created_at"] < end]
        by_category = {c: 0 for c in self.settings.categories}
        by_status = {s: 0 for s in STATUSES}
        for i in items:
            by_category[i["category"]] = by_category.get(i["category"], 0) + 1
            by_status[i["status"]] = by_status.get(i["status"], 0) + 1
        none = t("feedback.digest_none")
        top = sorted((i for i in items if i["upvotes"] > 0), key=lambda i: (-i["upvotes"], i["id"]))[:top_n]
        oldest = await repo.oldest_untriaged(self.app.db, guild_id, top_n)
        waiting = await repo.count_untriaged(self.app.db, guild_id)
        posts = await repo.reaction_posts_since(self.app.db, guild_id, start, 100)
        fields = [
            {"name": t("feedback.digest_by_category"), "inline": True,
             "value": "\n".join(f"{self.category_label(c)}: **{n}**" for c, n in by_category.items()) or none},
            {"name": t("feedback.digest_by_status"), "inline": True,
             "value": "\n".join(f"{self.status_label(s)}: **{n}**" for s, n in by_status.items()) or none},
            {"name": t("feedback.digest_top"), "inline": False,
             "value": "\n".join(t("feedback.digest_top_line", id=i["id"], title=_short(relay(i["title"]), 80),
                                  upvotes=i["upvotes"]) for i in top) or none},
            {"name": t("feedback.digest_oldest", count=waiting), "inline": False,
             "value": "\n".join(t("feedback.digest_oldest_line", id=i["id"], title=_short(relay(i["title"]), 80),
                                  ts=int(i["created_at"].timestamp())) for i in oldest) or none},
        ]
        if posts:
            fields.append({"name": t("feedback.digest_reactions"), "inline": False,
                           "value": t("feedback.digest_reactions_line", posts=len(posts),
                                      up=sum(p["up"] for p in posts), down=sum(p["down"] for p in posts))})
        embed = {
            "title": t("feedback.digest_title"),
            "description": t("feedback.digest_summary", count=len(items), start=int(start.timestamp()),
                             end=int(end.timestamp())),
            "color": STATUS_COLORS["new"],
            "fields": fields,
        }
        return OutMessage(embeds=(embed,))

    # --- rendering (plain data: the outbox and the cog turn it into Discord objects) -----------------
    def public_embed(self, item: FeedbackItem) -> dict[str, Any]:
        """What everyone sees. An anonymous item never carries its author: no mention, name or avatar."""
        t = self.app.t
        author = t("feedback.anonymous_author") if item.anonymous else f"<@{item.author_id}>"
        embed = self._embed(item, author)
        if item.attachments:  # a screenshot may show private things: only moderators see it
            embed["fields"].append({"name": t("feedback.field_screenshot"), "value": t("feedback.screenshot_for_mods"),
                                    "inline": False})
        return embed

    def queue_embed(self, item: FeedbackItem) -> dict[str, Any]:
        """For moderators only (mod queue, /feedback show): always names the author."""
        t = self.app.t
        author = (t("feedback.anonymous_for_mods", author=f"<@{item.author_id}>", author_id=item.author_id)
                  if item.anonymous else f"<@{item.author_id}> ({item.author_id})")
        embed = self._embed(item, author)
        if item.flagged:
            embed["color"] = FLAG_COLOR
            embed["fields"].append({"name": t("feedback.field_flags"), "value": _short(item.flag_reasons, 1024),
                                    "inline": False})
        if item.attachments:  # screenshots: the first one shown, every one linked
            embed["image"] = {"url": item.attachments[0]["url"]}
            links = "\n".join(f"[{_link_text(a['filename'])}]({a['url']})" for a in item.attachments)
            embed["fields"].append({"name": t("feedback.field_screenshot"), "value": _short(links, 1024),
                                    "inline": False})
        return embed

    def _embed(self, item: FeedbackItem, author: str) -> dict[str, Any]:
        t = self.app.t
        status = self.status_label(item.status)
        if item.status == "declined" and item.status_reason:
            status = t("feedback.status_with_reason", status=status, reason=_short(item.status_reason, 900))
        fields = [
            {"name": t("feedback.field_category"), "value": self.category_label(item.category), "inline": True},
            {"name": t("feedback.field_status"), "value": status, "inline": True},
            {"name": t("feedback.field_upvotes"), "value": str(item.upvotes), "inline": True},
            {"name": t("feedback.field_from"), "value": author, "inline": True},
        ]
        if item.source_url:
            fields.append({"name": t("feedback.field_source"), "value": item.source_url, "inline": False})
        return {
            "title": _short(f"#{item.id} · {item.title}", 256),
            "description": _short(relay(item.text), 4096),
            "color": STATUS_COLORS.get(item.status, STATUS_COLORS["new"]),
            "fields": fields,
            "timestamp": item.created_at.isoformat(),
        }

    def buttons(self, item_id: int) -> tuple[Button, ...]:
        t = self.app.t
        styles = {"under_review": "secondary", "planned": "primary", "done": "success", "declined": "danger"}
        return tuple(Button(label=t(f"feedback.button_{s}"), custom_id=status_custom_id(item_id, s), style=styles[s])
                     for s in TRIAGE_STATUSES) + (
            Button(label=t("feedback.button_upvote"), custom_id=upvote_custom_id(item_id), style="secondary",
                   emoji="⬆️"),)

    def card_message(self, item: FeedbackItem) -> OutMessage:
        """The item's card inside a post a member opened (the post itself is theirs)."""
        return OutMessage(embeds=(self.public_embed(item),), buttons=self.buttons(item.id))

    def public_message(self, item: FeedbackItem) -> OutMessage:
        return self.forum.dress(item, OutMessage(embeds=(self.public_embed(item),), buttons=self.buttons(item.id)))

    def queue_message(self, item: FeedbackItem) -> OutMessage:
        content = self.app.t("feedback.queue_priority", id=item.id, reasons=_short(item.flag_reasons, 1500))
        return OutMessage(content=content, embeds=(self.queue_embed(item),), buttons=self.buttons(item.id))

    def status_dm(self, item: FeedbackItem) -> OutMessage:
        t = self.app.t
        params = dict(id=item.id, title=_short(relay(item.title), 200), status=self.status_label(item.status))
        if item.status == "declined":
            text = t("feedback.dm_declined", reason=_short(item.status_reason or "", 1500), **params)
        else:
            text = t(f"feedback.dm_{item.status}", **params)
        return OutMessage(content=text[:2000])

    # --- outbox hook: remember where the posts went, so the other copy can be refreshed --------------
    async def _remember_post(self, row: dict, sent: Sent) -> None:
        match = re.fullmatch(r"feedback:(post|queue):(\d+)", row.get("dedupe_key", ""))
        if match and match.group(1) == "post" and row.get("target_kind") == "channel_id":
            return  # the card in a member's own post: the post is the item's, known since it was stored
        if match and sent.message_id:
            await repo.set_post(self.app.db, int(match.group(2)), queue=match.group(1) == "queue",
                                channel_id=sent.channel_id, message_id=sent.message_id)


SCREENSHOT_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")


def screenshot_record(attachment: Mapping[str, Any]) -> dict[str, Any]:
    """The metadata kept for an uploaded screenshot; refuses what is not an image (by its type)."""
    content_type = str(attachment.get("content_type") or "").split(";")[0].strip().lower()
    filename = str(attachment.get("filename") or "file")[:200]
    if content_type not in SCREENSHOT_TYPES:
        raise UserError("feedback.screenshot_not_image", name=filename)
    return {"id": attachment.get("id"), "filename": filename, "url": str(attachment["url"]),
            "proxy_url": attachment.get("proxy_url"), "content_type": content_type,
            "size": attachment.get("size"), "width": attachment.get("width"), "height": attachment.get("height")}


def _link_text(filename: str) -> str:
    """A file name inside a masked link's text: no brackets to break out of it."""
    return re.sub(r"[\[\]\\]", "_", filename)[:100]


def _vote(emoji: str) -> int | None:
    emoji = emoji.replace("\ufe0f", "")
    if emoji.startswith(UP):
        return 1  # any skin tone
    if emoji.startswith(DOWN):
        return -1
    return None


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _title_from(text: str, limit: int) -> str:
    first = text.strip().splitlines()[0].strip()
    return _short(first, min(limit, 60))


def to_csv(rows: list[dict[str, Any]], *, zone: str | None = None) -> bytes:
    """UTF-8 with a BOM, so Excel opens Japanese text correctly; RFC 4180 quoting for commas,
    quotes and newlines; member text that a spreadsheet would run as a formula starts with `'`
    (bot.services.safety). `zone` names the time zone of the time columns in their header."""
    header = [f"{c} ({zone})" if zone and c in ZONED_COLUMNS else c for c in CSV_COLUMNS]
    return write_csv(header, ([r.get(c, "") for c in CSV_COLUMNS] for r in rows))


def read_csv(data: bytes) -> list[dict[str, str]]:
    """The other half of to_csv (tests, scripts): strips the BOM."""
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def build(app) -> FeedbackService:
    return FeedbackService(app)
