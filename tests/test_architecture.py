"""The lines the architecture must not cross."""
from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import pytest
from discord import app_commands
from discord.ext import commands

from tests.helpers import cog_classes

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


RULE_MODULES = sorted((ROOT / "bot" / "services").rglob("*.py")) + sorted((ROOT / "bot" / "db").rglob("*.py"))


@pytest.mark.parametrize("path", RULE_MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_services_and_store_never_import_discord(path):
    bad = sorted(n for n in _imports(path) if n == "discord" or n.startswith("discord."))
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}: rules must stay Discord-free"


def test_the_import_check_catches_a_discord_import(tmp_path):
    sample = tmp_path / "x.py"
    sample.write_text("from discord import ui\nimport os\n")
    assert "discord" in _imports(sample)


def test_no_module_reads_the_wall_clock():
    offenders = []
    for path in list((ROOT / "bot").rglob("*.py")) + list((ROOT / "cogs").rglob("*.py")):
        if path.name == "clock.py" or "offline" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        for needle in ("datetime.now(", "datetime.utcnow(", "time.time(", "date.today("):
            if needle in text:
                offenders.append(f"{path.relative_to(ROOT)}: {needle}")
    assert not offenders, "use the injected clock instead:\n" + "\n".join(offenders)


def top_level_command_names(cog_classes) -> Counter:
    names: Counter = Counter()
    for cls in cog_classes:
        if getattr(cls, "__cog_is_app_commands_group__", False):
            names[cls.__cog_group_name__] += 1
            continue
        for command in cls.__cog_app_commands__:
            names[command.name] += 1
    return names


def test_cogs_do_not_clash_on_slash_command_names():
    names = top_level_command_names(list(cog_classes()))
    clashes = {n: c for n, c in names.items() if c > 1}
    assert not clashes, f"slash command names defined by more than one cog: {clashes}"


def test_the_clash_check_catches_a_clash():
    class A(commands.Cog):
        @app_commands.command(name="same")
        async def one(self, interaction):  # pragma: no cover
            ...

    class B(commands.Cog):
        @app_commands.command(name="same")
        async def two(self, interaction):  # pragma: no cover
            ...

    assert top_level_command_names([A, B])["same"] == 2
