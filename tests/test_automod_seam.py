"""AutoMod's sync has one public seam (`app.automod.sync`, served by the AutoMod cog): /setup and a
config reload go through it, and /admin reload says what it did to the rule. No cog reaches into
another cog's private modules."""
from __future__ import annotations

import ast
from pathlib import Path

from bot.config import load_config
from tests.helpers import config_dir_with
from tests.test_automod import edit_community

ROOT = Path(__file__).resolve().parents[1]


def cross_cog_private_imports():
    """(file, module) for every import of `cogs.<other>._private` from outside that package."""
    for path in sorted((ROOT / "cogs").rglob("*.py")):
        own = path.relative_to(ROOT / "cogs").parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else (
                [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            for name in names:
                parts = name.split(".")
                if (parts[0] == "cogs" and len(parts) > 2 and parts[1] != own
                        and any(p.startswith("_") for p in parts[2:])):
                    yield str(path.relative_to(ROOT)), name


def test_no_cog_imports_another_cogs_private_module():
    assert list(cross_cog_private_imports()) == []


async def test_admin_reload_says_what_happened_to_the_automod_rule(harness, tmp_path):
    folder = config_dir_with(tmp_path)
    g = await harness(config=load_config(folder))
    await g.slash("/setup", user="mod")
    edit_community(folder, words=["chargeback", "counterfeit"])
    reply = await g.slash("/admin reload", user="mod")
    assert "Config reloaded" in reply.content
    assert "AutoMod: updated the rule" in reply.content, reply.content
    reply = await g.slash("/admin reload", user="mod")
    assert "AutoMod: the rule" in reply.content and "already right" in reply.content, reply.content


async def test_admin_reload_says_when_the_rule_was_turned_off(harness, tmp_path):
    folder = config_dir_with(tmp_path)
    g = await harness(config=load_config(folder))
    await g.slash("/setup", user="mod")
    edit_community(folder, enabled=False)
    reply = await g.slash("/admin reload", user="mod")
    assert "AutoMod: turned the rule" in reply.content, reply.content


async def test_setup_syncs_the_rule_through_the_service_seam(harness):
    g = await harness()
    reply = await g.slash("/setup", user="mod")
    assert "AutoMod: created the rule" in reply.content
    outcome = await g.app.automod.sync(g.world.guild_id)  # what /setup and a reload call
    assert outcome.outcome == "unchanged" and str(outcome.rule_id) == g.automod_rules()[0]["id"]
