"""The command picker in Japanese: every description, option description, choice name and context menu
name of the real bot's tree has Japanese (bot/locales/ja/commands.yaml, served by bot/translator.py),
and the registration body `sync` sends carries it, valid against Discord's spec."""
from __future__ import annotations

import re

import discord
import pytest
from discord import app_commands

from bot.services.catalogue import builtin
from bot.translator import AREA, build_tables, limit_for, tree_strings, untranslated
from tests.helpers import config_with

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")  # kana or kanji
ELLIPSIS = "…"  # what discord.py sends for an option its cog did not describe


def _shipped(language: str) -> dict[str, str]:
    prefix = AREA + "."
    return {k[len(prefix):]: v for k, v in builtin(language).items() if k.startswith(prefix)}


def _find(options: list[dict], name: str) -> dict:
    return next(o for o in options if o["name"] == name)


async def test_every_string_of_the_tree_has_japanese(harness):
    g = await harness()
    strings = list(tree_strings(g.bot.tree))
    kinds = {s.where.split(" of ")[0].split(" '")[0] for s in strings}
    # the walk really reaches every kind of string the tree has
    assert {"group description", "command description", "option description", "choice",
            "context menu"} <= kinds, kinds
    assert len({s.key for s in strings}) > 60
    missing = untranslated(g.bot.tree, build_tables(g.bot.config))
    assert missing == [], "strings the command picker shows with no Japanese:\n" + "\n".join(missing)

    ja = _shipped("ja")
    not_japanese = [s.key for s in strings if not JAPANESE.search(ja[s.key])]
    assert not_japanese == [], not_japanese
    too_long = [s.key for s in strings if len(ja[s.key]) > limit_for(s.key)]
    assert too_long == [], too_long
    stale = sorted(set(ja) - {s.key for s in strings})
    assert stale == [], f"commands.yaml keys no command uses any more: {stale}"


async def test_the_english_mirror_matches_the_code(harness):
    """en/commands.yaml exists for the catalogue's both-languages rule; it must say what the cogs say,
    so a changed English description is noticed (and its Japanese revisited)."""
    g = await harness()
    en = _shipped("en")
    drift = [f"{s.key}: code says {s.english!r}, en/commands.yaml says {en.get(s.key)!r}"
             for s in tree_strings(g.bot.tree) if s.english != ELLIPSIS and en.get(s.key) != s.english]
    assert drift == [], "\n".join(drift)


async def test_sync_sends_japanese_localizations_that_pass_the_spec(harness):
    g = await harness()
    await g.sync()  # raises SpecViolation if a localization breaks Discord's limits
    puts = [r for r in g.requests if r.method == "PUT" and r.path.endswith("/commands")]
    assert puts, [repr(r) for r in g.requests]
    body = puts[-1].json
    ja = _shipped("ja")

    quiz = _find(body, "quiz")
    assert quiz["name"] == "quiz" and quiz["description"] == "Quizzes"  # names and defaults stay English
    assert quiz["description_localizations"] == {"ja": ja["quiz"]}
    start = _find(quiz["options"], "start")
    assert start["description_localizations"] == {"ja": "モデレーター用：クイズチャンネルでクイズを始めます"}
    bank = _find(start["options"], "bank")
    assert bank["description_localizations"] == {"ja": "使う問題集"}
    assert "name_localizations" not in bank  # option names stay English

    period = _find(_find(body, "leaderboard")["options"], "period")
    assert {c["value"]: c["name_localizations"]["ja"] for c in period["choices"]} == {
        "week": "1週間", "month": "1か月", "all": "全期間"}
    menu = next(c for c in body if c.get("type") == discord.AppCommandType.message.value)
    assert menu["name"] == "Send as feedback" and menu["name_localizations"] == {"ja": "フィードバックとして送る"}
    # an undescribed option ("…" in English) still gets a real Japanese description
    drop = _find(_find(_find(body, "drop")["options"], "status")["options"], "drop")
    assert drop["description"] == ELLIPSIS and drop["description_localizations"] == {"ja": "ドロップID"}


async def test_a_command_without_japanese_is_reported(harness):
    g = await harness()

    @app_commands.command(name="zz-untranslated", description="Brand new and not translated")
    @app_commands.describe(colour="pick one")
    @app_commands.choices(colour=[app_commands.Choice(name="Teal", value="teal")])
    async def fake(interaction: discord.Interaction, colour: str) -> None:
        pass

    g.bot.tree.add_command(fake)
    try:
        missing = untranslated(g.bot.tree, build_tables(g.bot.config))
    finally:
        g.bot.tree.remove_command("zz-untranslated")
    assert missing == [
        "choice 'Teal' of /zz-untranslated colour: 'Teal' has no ja text"
        " (add `choice:teal:` to bot/locales/ja/commands.yaml)",
        "command description of /zz-untranslated: 'Brand new and not translated' has no ja text"
        " (add `zz-untranslated:` to bot/locales/ja/commands.yaml)",
        "option description of /zz-untranslated colour: 'pick one' has no ja text"
        " (add `zz-untranslated.colour:` to bot/locales/ja/commands.yaml)",
    ]


async def test_a_brand_override_replaces_the_japanese(harness, tmp_path):
    config = config_with(tmp_path, {"community.yaml": {
        "community": {"language": "ja"},
        "messages": {"commands.quiz start": "{community.name}のクイズを始めます"}}})
    g = await harness(config=config)
    await g.sync()
    body = [r for r in g.requests if r.method == "PUT" and r.path.endswith("/commands")][-1].json
    start = _find(_find(body, "quiz")["options"], "start")
    assert start["description_localizations"] == {"ja": "Sakura Tea Houseのクイズを始めます"}
    assert start["description"] == "Moderators: start a quiz in the quiz channel"


def test_an_english_override_reaches_english_clients_and_a_too_long_one_is_not_sent(tmp_path):
    config = config_with(tmp_path, {"community.yaml": {"messages": {
        "commands.quiz start": "Kick off a quiz",
        "commands.quiz": "x" * 101}}})
    tables = build_tables(config)
    assert tables[discord.Locale.american_english] == {"quiz start": "Kick off a quiz"}
    assert tables[discord.Locale.british_english] == {"quiz start": "Kick off a quiz"}
    assert tables[discord.Locale.japanese]["quiz start"] == _shipped("ja")["quiz start"]  # ja untouched


@pytest.mark.parametrize("key", ["commands.quiz start", "commands.choice:week"])
def test_check_accepts_a_command_override_and_rejects_an_unknown_one(tmp_path, key):
    from bot.config import load_config
    from bot.errors import ConfigError
    from tests.helpers import config_dir_with

    load_config(config_dir_with(tmp_path / "ok", {"community.yaml": {"messages": {key: "テスト"}}}))
    with pytest.raises(ConfigError) as info:
        load_config(config_dir_with(tmp_path / "bad", {"community.yaml": {
            "messages": {key + "x": "テスト"}}}))
    assert "unknown message key" in info.value.problems[0]
