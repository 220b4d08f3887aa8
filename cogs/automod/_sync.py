"""Create or update the bot's one AutoMod keyword rule from `app.automod.desired()`.

Found again by the id the service remembers, else by its name among the rules the bot created, so a
second /setup or a reload updates it instead of adding another. Only what differs is sent.
"""
from __future__ import annotations

import logging
import discord

from bot.services.automod import RuleSpec, SyncOutcome

log = logging.getLogger(__name__)

REASON = "Kizuna /setup: risk words"


def rule_arguments(spec: RuleSpec, alert_channel_id: int, exempt_roles: list[discord.abc.Snowflake],
                   exempt_channels: list[discord.abc.Snowflake]) -> dict:
    """discord.py's arguments for the rule (create and edit take the same ones). `check`'s dry run
    builds the request body from these too, so what it validates is what /setup sends."""
    actions = [discord.AutoModRuleAction(channel_id=alert_channel_id)]
    if spec.block_message is not None:
        actions.insert(0, discord.AutoModRuleAction(type=discord.AutoModRuleActionType.block_message,
                                                    custom_message=spec.block_message))
    return dict(name=spec.name, event_type=discord.AutoModRuleEventType.message_send,
                trigger=discord.AutoModTrigger(type=discord.AutoModRuleTriggerType.keyword,
                                               keyword_filter=list(spec.keywords), allow_list=list(spec.allow)),
                actions=actions, enabled=True, exempt_roles=exempt_roles, exempt_channels=exempt_channels)


def _differs(rule: discord.AutoModRule, wanted: dict) -> bool:
    have = (rule.name, rule.enabled, sorted(rule.trigger.keyword_filter), sorted(rule.trigger.allow_list),
            sorted((a.type.value, a.channel_id, a.custom_message) for a in rule.actions),
            rule.exempt_role_ids, rule.exempt_channel_ids)
    want = (wanted["name"], wanted["enabled"], sorted(wanted["trigger"].keyword_filter),
            sorted(wanted["trigger"].allow_list),
            sorted((a.type.value, a.channel_id, a.custom_message) for a in wanted["actions"]),
            {r.id for r in wanted["exempt_roles"]}, {c.id for c in wanted["exempt_channels"]})
    return have != want


async def _find(bot, guild: discord.Guild, name: str) -> discord.AutoModRule | None:
    known = await bot.app.automod.rule_id(guild.id)
    if known is not None:
        try:
            return await guild.fetch_automod_rule(known)
        except discord.NotFound:
            pass  # deleted by hand on Discord: look for it by name, else create it again
    me = bot.user.id if bot.user else None
    return next((r for r in await guild.fetch_automod_rules() if r.name == name and r.creator_id == me), None)


async def sync_rule(bot, guild: discord.Guild) -> SyncOutcome:
    app = bot.app
    spec = app.automod.desired()
    name = spec.name if spec else app.config.community.moderation.automod.rule_name
    try:
        rule = await _find(bot, guild, name) if spec or await app.automod.rule_id(guild.id) else None
        if spec is None:
            if rule is not None and rule.enabled:
                await rule.edit(enabled=False, reason=REASON)
                return SyncOutcome("disabled", rule.id)
            return SyncOutcome("off")
        channel = bot.resolve_channel(guild, spec.alert_channel)
        if channel is None:
            return SyncOutcome("failed", detail=app.t("automod.setup_no_channel", channel=f"#{spec.alert_channel}"))
        roles = [r for r in (bot.resolve_role(guild, key) for key in spec.exempt_roles) if r is not None]
        channels = [c for c in (bot.resolve_channel(guild, key) for key in spec.exempt_channels) if c is not None]
        wanted = rule_arguments(spec, channel.id, roles, channels)
        if rule is None:
            rule = await guild.create_automod_rule(**wanted, reason=REASON)
            outcome = "created"
        elif _differs(rule, wanted):
            rule = await rule.edit(**wanted, reason=REASON)
            outcome = "updated"
        else:
            outcome = "unchanged"
    except discord.Forbidden:
        return SyncOutcome("failed", detail=app.t("membership.setup_forbidden", item="AutoMod",
                                                  detail="Manage Server"))
    except discord.HTTPException as error:  # e.g. Discord's limit of 6 keyword rules: say it, go on
        log.warning("AutoMod rule sync failed: %s", error)
        return SyncOutcome("failed", detail=(error.text or str(error.status))[:200])
    await app.automod.remember(guild.id, rule.id)
    return SyncOutcome(outcome, rule.id, channel=channel.mention)
