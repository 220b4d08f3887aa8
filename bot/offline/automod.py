"""Discord's AutoMod in the fake: the rule endpoints (list, get, create, modify, delete) and the
keyword engine that screens what members post.

Rules live in `world.automod_rules` (id -> the rule payload as Discord returns it). Requests are
validated against the spec like every other (FakeDiscord.handle); on top, what Discord checks and the
document does not state: Manage Server, at most 6 keyword rules per guild, an alert channel that exists
in the guild, and a trigger type that cannot change.

`screen(harness, channel, user_id, text)` applies the enabled message-send keyword rules to a member's
post, as Discord does before the message exists (keywords: `word` whole word, `word*` word start,
`*word` word end, `*word*` anywhere; case-insensitive; the allow list wins; members with Manage Server or
Administrator, exempt roles and exempt channels are skipped). Its `Verdict` says whether the message is
blocked and delivers one AUTO_MODERATION_ACTION_EXECUTION per action, through discord.py's own parser,
after posting Discord's alert in the alert channel. The bot has no message-content intent, so, as on
Discord, `content` and `matched_content` reach it empty; `execution(...)` injects one event by hand.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import discord

from .http import FakeDiscord, Request, error, route

if TYPE_CHECKING:
    from .harness import Harness

KEYWORD = discord.AutoModRuleTriggerType.keyword.value
MESSAGE_SEND = discord.AutoModRuleEventType.message_send.value
BLOCK, ALERT = discord.AutoModRuleActionType.block_message.value, discord.AutoModRuleActionType.send_alert_message.value
MAX_KEYWORD_RULES = 6  # Discord: per guild
BLOCKED = 200000  # Discord's error code for a message AutoMod blocked


def rules(world) -> dict[int, dict[str, Any]]:
    return world.automod_rules


def _need_manage_guild(fake: FakeDiscord) -> None:
    p = fake.bot_guild_perms()
    if not (p.manage_guild or p.administrator):
        raise error(403, 50013, "Missing Permissions")


def _rule_or_404(fake: FakeDiscord, rule_id: str) -> dict[str, Any]:
    rule = rules(fake.world).get(int(rule_id)) if str(rule_id).isdigit() else None
    if rule is None:
        raise error(404, 10066, "Unknown Auto Moderation Rule")
    return rule


def _apply(fake: FakeDiscord, rule: dict[str, Any], body: dict[str, Any]) -> None:
    """Copy the fields a create or modify body gives into the stored rule, as Discord normalises them."""
    w = fake.world
    if "name" in body:
        rule["name"] = body["name"]
    if "event_type" in body:
        rule["event_type"] = int(body["event_type"])
    if body.get("trigger_metadata") is not None:
        meta = body["trigger_metadata"]
        rule["trigger_metadata"] = {"keyword_filter": list(meta.get("keyword_filter") or []),
                                    "regex_patterns": list(meta.get("regex_patterns") or []),
                                    "allow_list": list(meta.get("allow_list") or [])}
    if body.get("actions") is not None:
        actions = []
        for action in body["actions"]:
            meta = dict(action.get("metadata") or {})
            if action["type"] == ALERT:
                channel = w.channels.get(int(meta["channel_id"]))
                if channel is None or channel.is_dm:
                    raise error(400, 50035, "Invalid Form Body (actions: unknown alert channel)")
                meta = {"channel_id": str(channel.id)}
            elif action["type"] == BLOCK:
                meta = {"custom_message": meta.get("custom_message") or ""}
            actions.append({"type": action["type"], "metadata": meta})
        rule["actions"] = actions
    if body.get("enabled") is not None:
        rule["enabled"] = bool(body["enabled"])
    for key in ("exempt_roles", "exempt_channels"):
        if body.get(key) is not None:
            rule[key] = [str(x) for x in body[key]]


@route("GET", "/guilds/{guild_id}/auto-moderation/rules")
async def list_rules(fake: FakeDiscord, req: Request, guild_id: str) -> list:
    _need_manage_guild(fake)
    return [dict(r) for r in rules(fake.world).values()]


@route("GET", "/guilds/{guild_id}/auto-moderation/rules/{rule_id}")
async def get_rule(fake: FakeDiscord, req: Request, guild_id: str, rule_id: str) -> dict:
    _need_manage_guild(fake)
    return dict(_rule_or_404(fake, rule_id))


@route("POST", "/guilds/{guild_id}/auto-moderation/rules")
async def create_rule(fake: FakeDiscord, req: Request, guild_id: str) -> dict:
    _need_manage_guild(fake)
    body = req.json or {}
    w = fake.world
    if body["trigger_type"] == KEYWORD and sum(r["trigger_type"] == KEYWORD
                                               for r in rules(w).values()) >= MAX_KEYWORD_RULES:
        raise error(400, 30035, "Maximum number of keyword rules reached")  # per guild
    rule: dict[str, Any] = {
        "id": str(w.new_id()), "guild_id": str(w.guild_id), "creator_id": str(w.bot_user_id), "name": "",
        "event_type": MESSAGE_SEND, "trigger_type": int(body["trigger_type"]),
        "trigger_metadata": {"keyword_filter": [], "regex_patterns": [], "allow_list": []},
        "actions": [], "enabled": False, "exempt_roles": [], "exempt_channels": []}
    _apply(fake, rule, body)
    rules(w)[int(rule["id"])] = rule
    fake.touch()
    return dict(rule)


@route("PATCH", "/guilds/{guild_id}/auto-moderation/rules/{rule_id}")
async def modify_rule(fake: FakeDiscord, req: Request, guild_id: str, rule_id: str) -> dict:
    _need_manage_guild(fake)
    rule = _rule_or_404(fake, rule_id)
    body = req.json or {}
    if "trigger_type" in body and int(body["trigger_type"]) != rule["trigger_type"]:
        raise error(400, 50035, "Invalid Form Body (trigger_type cannot be changed)")
    _apply(fake, rule, body)
    fake.touch()
    return dict(rule)


@route("DELETE", "/guilds/{guild_id}/auto-moderation/rules/{rule_id}")
async def delete_rule(fake: FakeDiscord, req: Request, guild_id: str, rule_id: str) -> None:
    _need_manage_guild(fake)
    rules(fake.world).pop(int(_rule_or_404(fake, rule_id)["id"]))
    fake.touch()


# --- the engine ----------------------------------------------------------------------------------------
def _keyword_pattern(keyword: str) -> re.Pattern[str]:
    start, end = keyword.startswith("*"), keyword.endswith("*") and len(keyword) > 1
    core = re.escape(keyword.strip("*"))
    return re.compile(("" if start else r"(?<!\w)") + r"\w*" * start + core + r"\w*" * end
                      + ("" if end else r"(?!\w)"), re.IGNORECASE)


def match(rule: dict[str, Any], text: str) -> tuple[str, str] | None:
    """(the keyword, the matched text) of the earliest match in `text` of a keyword of `rule`, or None."""
    meta = rule.get("trigger_metadata") or {}
    allowed = {a.casefold() for a in meta.get("allow_list") or []}
    hits = [(found.start(), keyword, found.group(0)) for keyword in meta.get("keyword_filter") or []
            for found in _keyword_pattern(keyword).finditer(text) if found.group(0).casefold() not in allowed]
    return min(hits)[1:] if hits else None


@dataclass
class Verdict:
    harness: "Harness"
    channel_id: int
    user_id: int
    text: str
    fired: list[tuple[dict[str, Any], str, str]] = field(default_factory=list)  # (rule, keyword, matched)

    @property
    def blocked(self) -> bool:
        return any(a["type"] == BLOCK for rule, _, _ in self.fired for a in rule["actions"])

    def deliver(self, message_id: int | None) -> None:
        """Discord's alert posts, then one execution event per action, through discord.py's parser."""
        for rule, keyword, matched in self.fired:
            for action in rule["actions"]:
                alert_id = None
                if action["type"] == ALERT:
                    alert_id = _alert_post(self.harness, rule, action, self, keyword)
                execution(self.harness, rule=rule, action=action, user_id=self.user_id, channel_id=self.channel_id,
                          message_id=message_id, alert_system_message_id=alert_id, content=self.text,
                          matched_keyword=keyword, matched_content=matched)


def screen(harness: "Harness", channel, user_id: int, text: str) -> Verdict:
    w = harness.world
    verdict = Verdict(harness, channel.id, user_id, text)
    member = w.members.get(user_id)
    if member is None or not text:
        return verdict
    p = harness.guild_permissions(user_id)
    if p.manage_guild or p.administrator:
        return verdict  # Discord exempts them from every rule
    parent = channel.parent_id if channel.is_thread else None
    for rule in list(rules(w).values()):
        if not rule["enabled"] or rule["trigger_type"] != KEYWORD or rule["event_type"] != MESSAGE_SEND:
            continue
        if {str(r) for r in member.role_ids} & set(rule["exempt_roles"]):
            continue
        if {str(channel.id), str(parent)} & set(rule["exempt_channels"]):
            continue
        found = match(rule, text)
        if found is not None:
            verdict.fired.append((rule, *found))
    return verdict


def _alert_post(harness: "Harness", rule, action, verdict: Verdict, keyword: str) -> int:
    """Discord's own alert in the alert channel (an AutoMod system message quoting the member)."""
    w = harness.world
    channel_id = int(action["metadata"]["channel_id"])
    msg = w.add_message(channel_id, verdict.user_id, content=verdict.text, embeds=[{
        "type": "auto_moderation_message", "description": verdict.text,
        "fields": [{"name": "rule_name", "value": rule["name"]}, {"name": "channel_id", "value": str(verdict.channel_id)},
                   {"name": "keyword", "value": keyword}]}])
    w.version += 1
    return msg.id


def execution(harness: "Harness", *, rule: dict[str, Any], action: dict[str, Any], user_id: int,
              channel_id: int | None, message_id: int | None = None, alert_system_message_id: int | None = None,
              content: str = "", matched_keyword: str | None = None, matched_content: str | None = None,
              with_content: bool | None = None) -> None:
    """Deliver one AUTO_MODERATION_ACTION_EXECUTION. `with_content` (default: whether the bot has the
    message-content intent, which Kizuna never asks for) decides if the member's words are included."""
    bot = harness.bot
    if with_content is None:
        with_content = bool(bot.intents.message_content)
    payload: dict[str, Any] = {
        "guild_id": str(harness.world.guild_id), "action": action, "rule_id": str(rule["id"]),
        "rule_trigger_type": rule["trigger_type"], "user_id": str(user_id),
        "channel_id": str(channel_id) if channel_id else None,
        "message_id": str(message_id) if message_id else None,
        "alert_system_message_id": str(alert_system_message_id) if alert_system_message_id else None,
        "content": content if with_content else "", "matched_keyword": matched_keyword,
        "matched_content": matched_content if with_content else None}
    harness.emit_later("AUTO_MODERATION_ACTION_EXECUTION", payload)
