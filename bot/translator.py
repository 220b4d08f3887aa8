"""Japanese for the slash commands: descriptions, option descriptions, choice names, context menus.

Command, group and option *names* stay English (members type them). Everything else Discord shows in
the command picker is localized: discord.py turns every string of a command into a `locale_str`
(auto_locale_strings), and `CommandTree.sync()` asks this translator for each Discord locale; the
answers go out as `description_localizations` / `name_localizations` in the registration body.

The texts live in the message catalogue's `commands` area, `bot/locales/{en,ja}/commands.yaml`
(full key `commands.<id>`), keyed by a stable identifier rather than by the English text:

    quiz                       a group's description (its qualified name)
    quiz start                 a command's description (its qualified name)
    quiz start.bank            an option's description (command qualified name + "." + option name)
    "choice:week"              a choice's name, by the choice's value (one text for that value everywhere)
    "menu:send_as_feedback"    a context menu's name, by its callback's name

The English default `description` stays in the cogs' decorators; `en/commands.yaml` mirrors it (the
catalogue requires every key in both languages, and tests/test_command_localization.py fails when the
two drift apart or when a string of the tree has no Japanese).

Who sees what: Discord shows a localization to members whose *client* language matches it and the
default (English) text to everyone else. So members with a Japanese Discord client see Japanese
whatever `community.language` says; in a `language: ja` community the bot's replies are Japanese for
everyone, but the command picker is English for members whose client is not set to Japanese (Discord
has no per-server default language for commands).

Brand overrides: a `commands.<id>` key under `messages:` in community.yaml (checked by `check` like
any message) replaces the text for the community's language: with `language: ja` the Japanese
localization, with `language: en` the English one (sent as the en-US and en-GB localizations, so
English clients see it; the default `description` itself is fixed in code). Overrides may use
`{community.name}` and the `{persona.*}` placeholders. A text Discord would refuse (empty, or longer
than 100 characters, 32 for a context menu name) is not sent: that locale falls back to English, with
a warning in the log. Changes reach Discord at the next `python -m bot sync`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Iterator, Mapping

import discord
from discord import app_commands
from discord.app_commands import TranslationContextLocation as Where

from bot.services.catalogue import Catalogue, builtin

log = logging.getLogger(__name__)

AREA = "commands"
# the Discord locales each catalogue language answers for (ja always; en only for brand overrides)
LOCALES = {"ja": (discord.Locale.japanese,),
           "en": (discord.Locale.american_english, discord.Locale.british_english)}
DESCRIPTION_LIMIT = 100   # command, group and option descriptions; choice names
MENU_NAME_LIMIT = 32      # context menu names


def command_key(context: app_commands.TranslationContext) -> str | None:
    """The catalogue id (without the `commands.` area) of the string discord.py asks about, or None
    for what stays English (slash command, group and option names)."""
    data = context.data
    where = context.location
    if where in (Where.command_description, Where.group_description):
        return data.qualified_name
    if where is Where.parameter_description:
        return f"{data.command.qualified_name}.{data.name}"
    if where is Where.choice_name:
        return f"choice:{data.value}"
    if where is Where.command_name and isinstance(data, app_commands.ContextMenu):
        return f"menu:{data.callback.__name__}"
    return None


def limit_for(key: str) -> int:
    return MENU_NAME_LIMIT if key.startswith("menu:") else DESCRIPTION_LIMIT


class KizunaTranslator(app_commands.Translator):
    """Answers from the `commands` catalogue area; set with `tree.set_translator` in setup_hook."""

    def __init__(self, config=None) -> None:
        self.config = config
        self.tables: dict[discord.Locale, dict[str, str]] = {}

    async def load(self) -> None:
        self.tables = build_tables(self.config)

    async def translate(self, string: app_commands.locale_str, locale: discord.Locale,
                        context: app_commands.TranslationContext) -> str | None:
        table = self.tables.get(locale)
        if not table:
            return None
        key = command_key(context)
        return table.get(key) if key is not None else None


def build_tables(config=None) -> dict[discord.Locale, dict[str, str]]:
    """{locale: {id: text}}: the shipped Japanese, plus the brand's `commands.*` overrides for the
    community's language. Texts Discord would refuse are left out (that locale shows English)."""
    prefix = AREA + "."
    if config is None:
        language, overrides, name, persona = "en", {}, "", _NoPersona()
    else:
        c = config.community
        language, name, persona = c.info.language, c.info.name, c.persona
        overrides = {k: v for k, v in (c.messages or {}).items() if k.startswith(prefix)}
    tables: dict[discord.Locale, dict[str, str]] = {}
    for lang in ("ja", "en"):
        mine = overrides if lang == language else {}
        keys = [k for k in builtin(lang) if k.startswith(prefix)] if lang == "ja" else list(mine)
        if not keys:
            continue  # English comes from the code's defaults unless the brand overrides it
        catalogue = Catalogue(lang, community_name=name, persona=persona, overrides=mine)
        table = {}
        for full_key in keys:
            key = full_key[len(prefix):]
            text = catalogue.t(full_key).strip()
            if not 1 <= len(text) <= limit_for(key):
                log.warning("command text %s (%s) is %d characters; Discord takes 1 to %d: not sent",
                            full_key, lang, len(text), limit_for(key))
                continue
            table[key] = text
        for locale in LOCALES[lang]:
            tables[locale] = table
    return tables


class _NoPersona:
    name = greeting = sign_off = ""


# --- the walk the tests (and anyone auditing a new command) use ------------------------------------

@dataclass(frozen=True)
class TreeString:
    key: str        # the catalogue id, e.g. "quiz start.bank"
    english: str    # what the code sends as the default
    where: str      # human-readable, for failure messages: "option description of /quiz start bank"


def tree_strings(tree: app_commands.CommandTree, *, guild: discord.abc.Snowflake | None = None
                 ) -> Iterator[TreeString]:
    """Every string of the tree a member sees that should be localized: group and command
    descriptions, option descriptions, fixed choice names (not autocomplete's), context menu names."""
    for command in tree.get_commands(guild=guild):
        yield from _walk(command)


def _walk(command) -> Iterator[TreeString]:
    if isinstance(command, app_commands.ContextMenu):
        yield TreeString(f"menu:{command.callback.__name__}", command.name, f"context menu {command.name!r}")
        return
    kind = "group" if isinstance(command, app_commands.Group) else "command"
    yield TreeString(command.qualified_name, command.description,
                     f"{kind} description of /{command.qualified_name}")
    if isinstance(command, app_commands.Group):
        for child in command.commands:
            yield from _walk(child)
        return
    for param in command.parameters:
        yield TreeString(f"{command.qualified_name}.{param.name}", param.description,
                         f"option description of /{command.qualified_name} {param.name}")
        for choice in param.choices:
            yield TreeString(f"choice:{choice.value}", choice.name,
                             f"choice {choice.name!r} of /{command.qualified_name} {param.name}")


def untranslated(tree: app_commands.CommandTree, tables: Mapping[discord.Locale, Mapping[str, str]],
                 locale: discord.Locale = discord.Locale.japanese) -> list[str]:
    """One line per string of the tree with no text for `locale`, naming it and its catalogue key."""
    table = tables.get(locale, {})
    return sorted({f"{s.where}: {s.english!r} has no {locale.value} text "
                   f"(add `{s.key}:` to bot/locales/{locale.value}/{AREA}.yaml)"
                   for s in tree_strings(tree) if s.key not in table})
