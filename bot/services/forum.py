"""Forum channels, the one mechanism the help desk and forum feedback share (no discord import).

A forum's tags are derived from the config: `/setup` creates them, the offline harness seeds them, and
`check` refuses what Discord would (at most 20 tags a forum, names of 1-20 characters, no two alike).
A post is opened through the outbox (an `OutMessage` with `thread_name` and `tags`, sent to a forum
channel key); later its tags, archived and locked flags move through `app.forum` (`ForumPort`), by tag
*name*: the port maps names to the forum's tag ids. After a start, `catch_up` gives the members' posts
opened while the bot was away (cogs/forums.py lists them from Discord) what a live post gets, once, and
`resync` puts every post's tags right.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable, Iterator, Protocol

from bot.config.support import FORUM_TAG_MAX, TAG_NAME_MAX

log = logging.getLogger(__name__)

HELP_STATES = ("open", "answered", "solved", "closed")
# after a start, posts still in play and those whose state changed this recently have their tags put right
RESYNC_WINDOW = timedelta(days=7)
# at start, members' posts opened this recently that no feature knows are caught up (older ones, e.g. in
# a forum that existed before Kizuna watched it, are left alone)
CATCH_UP_WINDOW = RESYNC_WINDOW
FEEDBACK_STATUSES = ("new", "under_review", "planned", "done", "declined")


def catalogue_of(community):
    from .catalogue import Catalogue

    return Catalogue(community.info.language, community_name=community.info.name, persona=community.persona,
                     overrides=community.messages)


def is_forum(community, key: str | None) -> bool:
    return key is not None and key in community.channels and community.channels[key].forum


# --- the tags each feature needs ----------------------------------------------------------------------
def help_state_tag(t, state: str) -> str:
    return t(f"support.tag_{state}")


def feedback_category_tag(t, has, category: str) -> str:
    key = f"feedback.category_{category}"
    return t(key) if has(key) else category


def feedback_status_tag(t, status: str) -> str:
    return t(f"feedback.status_{status}")


def _wanted(community) -> Iterator[tuple[str, tuple, str]]:
    """(channel key, config location, tag name) of every tag a forum needs, in order."""
    cat = catalogue_of(community)
    t, has = cat.t, cat.has
    help_ = community.help
    if is_forum(community, help_.channel):
        for i, topic in enumerate(help_.topics):
            yield help_.channel, ("help", "topics", i, "name"), topic.name
        for state in HELP_STATES:
            yield help_.channel, ("messages", f"support.tag_{state}"), help_state_tag(t, state)
    fb = community.feedback
    if is_forum(community, fb.channel):
        for i, category in enumerate(fb.categories):
            yield fb.channel, ("feedback", "categories", i), feedback_category_tag(t, has, category)
        for status in FEEDBACK_STATUSES:
            yield fb.channel, ("messages", f"feedback.status_{status}"), feedback_status_tag(t, status)


def forum_tags(community) -> dict[str, tuple[str, ...]]:
    """Channel key -> the tag names its forum needs (what /setup creates)."""
    out: dict[str, list[str]] = {}
    for key, _, name in _wanted(community):
        names = out.setdefault(key, [])
        if name not in names:
            names.append(name)
    return {k: tuple(v) for k, v in out.items()}


def tag_problems(community) -> Iterator[tuple[tuple, str]]:
    """What Discord would refuse in the forums' tags, as (config location, message)."""
    if community.help.channel is not None and community.help.channel == community.feedback.channel:
        yield ("help", "channel"), "the help forum and the feedback channel must be different channels"
    seen: dict[str, dict[str, tuple]] = {}
    for key, loc, name in _wanted(community):
        names = seen.setdefault(key, {})
        if not 1 <= len(name) <= TAG_NAME_MAX:
            yield loc, (f"the forum tag {name!r} has {len(name)} characters; Discord allows 1-{TAG_NAME_MAX} "
                        "(shorten it)")
        if name in names:
            yield loc, f"the forum tag {name!r} is already used in #{key} (at {'.'.join(map(str, names[name]))})"
        names.setdefault(name, loc)
    for key, names in seen.items():
        if len(names) > FORUM_TAG_MAX:
            yield ("channels", key), (f"the forum #{key} would need {len(names)} tags; Discord allows "
                                      f"{FORUM_TAG_MAX} (fewer topics or categories)")


def retag(current: Iterable[str], remove: Iterable[str], add: Iterable[str]) -> tuple[str, ...]:
    """A post's tags with the feature's own tags swapped (tags members chose are kept), at most 5."""
    gone = set(remove)
    kept = [n for n in current if n not in gone]
    out = list(dict.fromkeys([*add, *kept]))
    return tuple(out[:5])


# --- a post's own tags follow the database: after each change, and all again after a start ---------------
@dataclass(frozen=True)
class TagPlan:
    """What one feature wants of one post: `wanted` applied, any other of its `own` tags removed
    (tags members chose stay)."""
    guild_id: int
    post_id: int
    own: tuple[str, ...]
    wanted: tuple[str, ...]
    close: bool = False  # also archived and locked (a closed help post)


class TagsOwner(Protocol):
    """A feature whose posts carry tags it decides (the help desk, forum feedback)."""

    async def tag_plans(self, guild_id: int) -> list[TagPlan]:
        """The plans of the posts to look at after a start (in play, or changed within RESYNC_WINDOW)."""


async def apply_tags(forum, plan: TagPlan) -> bool:
    """Put one post's tags right (through the ForumPort); False if the post is gone or the edit failed."""
    if forum is None:
        return False
    current = await forum.post_tags(plan.guild_id, plan.post_id)
    if current is None:
        return False
    wanted = retag(current, plan.own, plan.wanted)
    if plan.close:  # the port only sends what differs
        return await forum.update_post(plan.guild_id, plan.post_id, tags=wanted, archived=True, locked=True)
    if list(wanted) == list(current):
        return True
    return await forum.update_post(plan.guild_id, plan.post_id, tags=wanted)


def tags_owners(app) -> tuple[TagsOwner, ...]:
    """Every feature that tags forum posts, for the one re-sync."""
    return (app.support, app.feedback.forum)


async def resync(app, guild_id: int) -> int:
    """After a start (a tag edit lost in a crash, a tag changed by hand while the bot was away): every
    feature's posts get their tags put right. Returns how many posts were looked at."""
    if app.forum is None:
        return 0
    count = 0
    for owner in tags_owners(app):
        for plan in await owner.tag_plans(guild_id):
            await apply_tags(app.forum, plan)
            count += 1
    return count


# --- posts opened while the bot was away: found at start, handled as if seen live, once --------------------
@dataclass(frozen=True)
class SeenPost:
    """A member's post in the help or feedback forum, as listed at start (Discord's active threads)."""
    feature: str  # "help" | "feedback": whose forum it is in
    post_id: int
    owner_id: int
    title: str
    tags: tuple[str, ...]
    created_at: datetime
    text: str = ""  # the starter message's text, where Discord shares it


async def catch_up(app, guild_id: int, posts: Iterable[SeenPost]) -> int:
    """Every post no feature knows yet gets what a live post gets (a question, a feedback item) through
    the same `opened_in_forum`. Exactly once: those take their post by id in one transaction (a second
    start, or the live event racing this scan, finds it taken). Returns how many were new."""
    posts = list(posts)
    cutoff = app.clock.now() - CATCH_UP_WINDOW
    owners = {"help": app.support, "feedback": app.feedback.forum}
    new = 0
    for feature, owner in owners.items():
        if not owner.enabled:
            continue
        mine = sorted((p for p in posts if p.feature == feature and p.created_at >= cutoff), key=lambda p: p.post_id)
        known: set[int] = set()
        for i in range(0, len(mine), 200):  # keeps each IN (...) list short
            known |= await owner.known_posts([p.post_id for p in mine[i:i + 200]])
        for post in (p for p in mine if p.post_id not in known):
            if feature == "help":
                done = await app.support.opened_in_forum(guild_id, thread_id=post.post_id, asker_id=post.owner_id,
                                                         title=post.title, tags=list(post.tags), at=post.created_at)
            else:
                done = await app.feedback.opened_in_forum(guild_id, post_id=post.post_id, author_id=post.owner_id,
                                                          title=post.title, tags=post.tags, text=post.text)
            new += done is not None
    if new:
        log.info("caught up on %d forum post(s) opened while the bot was away", new)
    return new
