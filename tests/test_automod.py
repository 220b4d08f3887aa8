"""Risk management with AutoMod (issue 20, item 6): the risk words (feedback.flag_keywords plus
moderation.automod.words) become one Discord AutoMod keyword rule that /setup creates and every
config reload keeps in sync (updated in place, never duplicated), alerting the mod-log and optionally
blocking. When it fires, AUTO_MODERATION_ACTION_EXECUTION reaches the bot through discord.py's parser and
the moderators get one mod-log notice that never pings. The fake validates every rule request against
Discord's spec; `check` refuses keywords Discord would."""
from __future__ import annotations

import pytest
import yaml

import discord

from bot.config import load_config
from bot.config.automod import keyword_filter
from bot.errors import ConfigError
from bot.offline.automod import match
from tests.helpers import config_dir_with


def automod_requests(g):
    return [(r.method, r.path) for r in g.requests if "auto-moderation" in r.path]


def edit_community(folder, **automod):
    path = folder / "community.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["moderation"]["automod"].update(automod)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


async def test_setup_creates_the_risk_words_rule_with_an_alert_to_the_mod_log(harness):
    g = await harness()
    reply = await g.slash("/setup", user="mod")
    [rule] = g.automod_rules()
    assert rule["name"] == "Kizuna risk words" and rule["enabled"] and rule["trigger_type"] == 1
    keywords = rule["trigger_metadata"]["keyword_filter"]
    assert {"refund", "scam", "lawsuit", "chargeback", "*返金*"} <= set(keywords)
    assert rule["actions"] == [{"type": 2, "metadata": {"channel_id": str(g.channel("mod-log").id)}}]
    assert rule["exempt_roles"] == [str(g.world.role("moderator").id)]
    assert "AutoMod: created the rule “Kizuna risk words”" in reply.content
    assert not g.fake.violations


async def test_a_second_setup_and_a_restart_keep_one_rule(harness):
    g = await harness()
    await g.slash("/setup", user="mod")
    await g.restart()
    reply = await g.slash("/setup", user="mod")
    assert len(g.automod_rules()) == 1
    assert "already right" in reply.content
    assert ("PATCH", "/guilds/{guild_id}/auto-moderation/rules/{rule_id}") not in automod_requests(g)


async def test_a_reload_updates_the_rule_in_place_and_can_add_the_block_action(harness, tmp_path):
    folder = config_dir_with(tmp_path)
    g = await harness(config=load_config(folder))
    await g.slash("/setup", user="mod")
    [before] = g.automod_rules()
    edit_community(folder, words=["chargeback", "counterfeit"], block=True)
    reply = await g.slash("/admin reload", user="mod")
    assert "Nothing changed" not in reply.content, reply.content
    [after] = g.automod_rules()
    assert after["id"] == before["id"]
    assert "counterfeit" in after["trigger_metadata"]["keyword_filter"]
    assert "*返金*" not in after["trigger_metadata"]["keyword_filter"]
    assert [a["type"] for a in after["actions"]] == [1, 2]  # block, then alert
    assert after["actions"][0]["metadata"]["custom_message"] == g.app.t("automod.block_message")
    assert ("PATCH", "/guilds/{guild_id}/auto-moderation/rules/{rule_id}") in automod_requests(g)
    assert not g.fake.violations


async def test_a_rule_deleted_on_discord_is_created_again_not_duplicated(harness):
    g = await harness()
    await g.slash("/setup", user="mod")
    g.world.automod_rules.clear()
    await g.slash("/setup", user="mod")
    await g.slash("/setup", user="mod")
    assert len(g.automod_rules()) == 1


async def test_turning_automod_off_disables_the_rule_on_the_next_reload(harness, tmp_path):
    folder = config_dir_with(tmp_path)
    g = await harness(config=load_config(folder))
    await g.slash("/setup", user="mod")
    edit_community(folder, enabled=False)
    await g.slash("/admin reload", user="mod")
    [rule] = g.automod_rules()
    assert rule["enabled"] is False


async def test_setup_without_manage_server_says_so(harness):
    g = await harness()
    g.world.bot_role.permissions &= ~discord.Permissions(manage_guild=True).value
    g.world.version += 1
    reply = await g.slash("/setup", user="mod")
    assert "AutoMod: could not set up" in reply.content
    assert g.automod_rules() == []


async def test_a_risk_word_in_a_members_post_reaches_the_mod_log_once_without_pings(harness):
    g = await harness()
    await g.slash("/setup", user="mod")
    before = len(g.channel("mod-log").messages)
    await g.say("lounge", "@everyone this is a scam, I want a refund <@&1>", user="alice")
    notices = [m for m in g.channel("mod-log").messages[before:] if m.author_id == g.world.bot_user_id]
    assert len(notices) == 1
    notice = notices[0]
    assert "AutoMod flagged a message by" in notice.content and "`scam`" in notice.content
    assert f"<#{g.channel('lounge').id}>" in notice.content
    assert not notice.pings_anyone
    # Discord's own alert is in the mod-log too (the system message the notice links to)
    assert any(m.author_id == g.user_id("alice") for m in g.channel("mod-log").messages)


async def test_the_notice_relays_the_text_when_discord_gives_it(harness):
    g = await harness()
    await g.slash("/setup", user="mod")
    [rule] = g.automod_rules()
    await g.automod_execution(rule, user="bob", channel="lounge", matched_keyword="scam", message_id=777,
                              content="[click](https://evil.example) scam @everyone", with_content=True)
    notice = g.channel("mod-log").messages[-1]
    assert "> \\[click\\](https://evil.example) scam @everyone" in notice.content
    assert not notice.pings_anyone
    await g.automod_execution(rule, user="bob", channel="lounge", matched_keyword="scam", message_id=777,
                              content="again", with_content=True)
    assert g.channel("mod-log").messages[-1] is notice  # one notice per flagged message


async def test_a_blocked_message_is_never_posted_and_still_noted(harness, tmp_path):
    g = await harness(config=load_config(config_dir_with(
        tmp_path, {"community.yaml": {"moderation": {"automod": {"block": True}}}})))
    await g.slash("/setup", user="mod")
    with pytest.raises(discord.HTTPException, match="blocked by AutoMod"):
        await g.say("lounge", "this shop is a SCAM", user="bob")
    assert not [m for m in g.channel("lounge").messages if m.author_id == g.user_id("bob")]
    assert "AutoMod blocked a message by" in g.channel("mod-log").messages[-1].content


async def test_moderators_and_other_rules_are_left_alone(harness):
    g = await harness()
    await g.slash("/setup", user="mod")
    before = len(g.channel("mod-log").messages)
    await g.say("lounge", "no scam here, just checking", user="mod")  # an exempt role
    assert len(g.channel("mod-log").messages) == before
    other = {"id": "1", "name": "someone else's", "trigger_type": 1,
             "actions": [{"type": 2, "metadata": {"channel_id": str(g.channel("mod-log").id)}}]}
    await g.automod_execution(other, user="bob", channel="lounge", matched_keyword="x", message_id=5)
    assert len(g.channel("mod-log").messages) == before


def test_keywords_follow_the_feedback_flag_rule():
    """ASCII words match whole words; Japanese ones anywhere (no spaces between words)."""
    assert keyword_filter(["scam", "返金", "*fraud*", "Scam", " "]) == ["scam", "*返金*", "*fraud*"]
    rule = {"trigger_metadata": {"keyword_filter": keyword_filter(["scam", "返金"]), "allow_list": []}}
    assert match(rule, "what a SCAM!")[0] == "scam"
    assert match(rule, "a scamper ran by") is None
    assert match(rule, "返金してほしい")[0] == "*返金*"


# --- check ----------------------------------------------------------------------------------------------
BROKEN = {
    "a keyword over 60 characters": ({"moderation": {"automod": {"words": ["x" * 61]}}},
                                     "moderation.automod.words", "at most 60"),
    "a Japanese flag keyword over 58 (60 with its stars)": (
        {"feedback": {"flag_keywords": ["返" * 59]}}, "feedback.flag_keywords", "at most 60"),
    "1001 keywords": ({"moderation": {"automod": {"words": [f"w{i}" for i in range(1001)]}}},
                      "moderation.automod.words", "at most 1000"),
    "101 allow-list words": ({"moderation": {"automod": {"allow": [f"a{i}" for i in range(101)]}}},
                             "moderation.automod.allow", "at most 100 items"),
    "21 exempt roles": ({"moderation": {"automod": {"exempt_roles": ["moderator"] * 21}}},
                        "moderation.automod.exempt_roles", "at most 20 items"),
    "an unknown exempt role": ({"moderation": {"automod": {"exempt_roles": ["ghost"]}}},
                               "moderation.automod.exempt_roles", "unknown role key 'ghost'"),
    "an unknown exempt channel": ({"moderation": {"automod": {"exempt_channels": ["nowhere"]}}},
                                  "moderation.automod.exempt_channels", "unknown channel key 'nowhere'"),
    "a rule name over 100": ({"moderation": {"automod": {"rule_name": "r" * 101}}},
                             "moderation.automod.rule_name", "at most 100"),
    "no risk words at all": ({"feedback": {"flag_keywords": []}, "moderation": {"automod": {"words": []}}},
                             "moderation.automod.enabled", "no risk words"),
}


@pytest.mark.parametrize("patch,where,message", BROKEN.values(), ids=BROKEN.keys())
def test_check_refuses_what_discord_would_refuse(tmp_path, patch, where, message):
    with pytest.raises(ConfigError) as err:
        load_config(config_dir_with(tmp_path, {"community.yaml": patch}))
    text = str(err.value)
    assert where in text and message in text, text


def test_the_dry_run_validates_the_rule_setup_sends():
    """`check` builds the rule body /setup sends (cogs/automod/_sync.rule_arguments) and validates it
    against Discord's spec: the example's rule passes; one with 1001 keywords would not."""
    from bot.dryrun import automod_rule_problems

    config = load_config("config")
    assert automod_rule_problems(config) == []
    too_many = ["k"] * 1001
    problems = automod_rule_problems(config, keywords=too_many)
    assert problems and "keyword_filter" in problems[0]


# --- the fake's rule endpoints ---------------------------------------------------------------------------
async def test_the_fake_refuses_a_rule_body_that_breaks_the_spec(harness):
    from bot.offline.spec import SpecViolation

    g = await harness()
    body = {"name": "x", "event_type": 1, "trigger_type": 1,
            "trigger_metadata": {"keyword_filter": ["k" * 61]},
            "actions": [{"type": 2, "metadata": {"channel_id": str(g.channel("mod-log").id)}}]}
    with pytest.raises(SpecViolation, match="keyword_filter"):
        await g.raw_request("POST", "/guilds/{guild_id}/auto-moderation/rules", json=body, guild_id=g.guild.id)
    assert g.automod_rules() == []


async def test_the_fake_allows_six_keyword_rules_and_knows_unknown_ones(harness):
    g = await harness()
    body = {"name": "r", "event_type": 1, "trigger_type": 1, "trigger_metadata": {"keyword_filter": ["k"]},
            "actions": [{"type": 2, "metadata": {"channel_id": str(g.channel("mod-log").id)}}]}
    for _ in range(6):
        await g.raw_request("POST", "/guilds/{guild_id}/auto-moderation/rules", json=body, guild_id=g.guild.id)
    with pytest.raises(discord.HTTPException, match="Maximum number of keyword rules"):
        await g.raw_request("POST", "/guilds/{guild_id}/auto-moderation/rules", json=body, guild_id=g.guild.id)
    with pytest.raises(discord.NotFound):
        await g.raw_request("GET", "/guilds/{guild_id}/auto-moderation/rules/{rule_id}", guild_id=g.guild.id,
                            rule_id=12345)
    reply = await g.slash("/setup", user="mod")  # a seventh: Discord refuses, /setup says so and goes on
    assert "AutoMod: could not set up" in reply.content and "Maximum number" in reply.content
