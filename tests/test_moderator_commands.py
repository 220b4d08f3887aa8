"""Every moderator command in the whole bot is refused to a non-moderator with core.not_moderator.

The list is discovered, not written down: the cog classes are walked at collection time (one test per
command, so a failure names it), and a second test checks that list against the live command tree,
so a command added by any cog is covered automatically.
"""
from __future__ import annotations

import inspect

import pytest
from discord import AppCommandOptionType, AppCommandType, app_commands

from bot.checks import is_moderator_command
from tests.helpers import cog_classes


def _walk(command, prefix=""):
    if isinstance(command, app_commands.Group):
        for sub in command.commands:
            yield from _walk(sub, f"{prefix}{command.name} ")
    else:
        yield f"{prefix}{command.name}", command


def static_moderator_commands() -> list[str]:
    """Qualified names ("/invite revoke", "menu:Send as feedback") of moderator commands in cog classes."""
    names = set()
    for cls in cog_classes():
        roots = list(cls.__cog_app_commands__)
        if getattr(cls, "__cog_is_app_commands_group__", False):
            group = app_commands.Group(name=cls.__cog_group_name__, description="x")
            for command in roots:
                names.update(f"/{group.name} {n}" for n, c in _walk(command) if is_moderator_command(c))
            continue
        for command in roots:
            names.update(f"/{n}" for n, c in _walk(command) if is_moderator_command(c))
        for _, member in inspect.getmembers(cls):
            if isinstance(member, app_commands.ContextMenu) and is_moderator_command(member):
                names.add(f"menu:{member.name}")
    return sorted(names)


def live_moderator_commands(bot) -> dict[str, object]:
    out = {}
    for command in bot.tree.walk_commands():
        if isinstance(command, app_commands.Command) and is_moderator_command(command):
            out[f"/{command.qualified_name}"] = command
    for kind in (AppCommandType.message, AppCommandType.user):
        for menu in bot.tree.get_commands(type=kind):
            if is_moderator_command(menu):
                out[f"menu:{menu.name}"] = menu
    return out


def sample_options(command: app_commands.Command) -> dict[str, object]:
    """A plausible value for every required option: the check must refuse before any of it matters."""
    values = {}
    for param in command.parameters:
        if not param.required:
            continue
        if param.choices:
            values[param.name] = param.choices[0].value
        elif param.type is AppCommandOptionType.integer:
            values[param.name] = max(1, int(param.min_value or 1))
        elif param.type is AppCommandOptionType.number:
            values[param.name] = float(param.min_value or 1)
        elif param.type is AppCommandOptionType.boolean:
            values[param.name] = False
        elif param.type in (AppCommandOptionType.user, AppCommandOptionType.mentionable):
            values[param.name] = "bob"
        elif param.type is AppCommandOptionType.channel:
            values[param.name] = "lounge"
        elif param.type is AppCommandOptionType.role:
            values[param.name] = "member"
        else:
            values[param.name] = "x"
    return values


MODERATOR_COMMANDS = static_moderator_commands()


def test_moderator_commands_are_found():
    assert "/setup" in MODERATOR_COMMANDS and "/tier grant" in MODERATOR_COMMANDS


async def test_the_static_list_matches_the_live_command_tree(harness):
    g = await harness()
    assert sorted(live_moderator_commands(g.bot)) == MODERATOR_COMMANDS


@pytest.mark.parametrize("name", MODERATOR_COMMANDS)
async def test_a_moderator_command_is_refused_to_a_non_moderator(harness, name):
    g = await harness()
    command = live_moderator_commands(g.bot)[name]
    if name.startswith("menu:") and command.type is AppCommandType.message:
        msg = await g.say("lounge", "a message to run the menu on", user="bob")
        r = await g.context_menu(command.name, message=msg, user="alice")
    elif name.startswith("menu:"):
        r = await g.context_menu(command.name, target="bob", user="alice")
    else:
        r = await g.slash(name, user="alice", **sample_options(command))
    assert r.ephemeral
    assert r.content == g.app.t("core.not_moderator")
