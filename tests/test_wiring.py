"""Typed wiring: every feature is an attribute an editor (and a type checker) can follow.

Before, `App.__getattr__` looked features up in a dict filled from a FEATURES table whose missing
modules were skipped, and `Config.__getattr__` did the same over the loaded files: `app.drops.press`
could not be followed, and a misspelt module name silently switched a feature off."""
from __future__ import annotations

import ast
import dataclasses
import importlib
import sys
import typing
from pathlib import Path

import pytest

from bot.app import App
from bot.config import Config, load_config
from bot.config.registry import ALL_FILES
from bot.errors import ConfigError
from bot.services.ama import AmaService
from bot.services.automod import AutoModService
from bot.services.content import ContentService
from bot.services.drops import DropsService
from bot.services.feedback import FeedbackService
from bot.services.live_events import LiveEventsService
from bot.services.membership import MembershipService
from bot.services.participation import ParticipationService
from bot.services.schedules import ScheduleService
from bot.services.stats import StatsService
from bot.services.support import SupportService
from tests.helpers import CONFIG, config_dir_with

ROOT = Path(__file__).resolve().parent.parent

FEATURES = {  # in start order: schedules last, the others register their actions first
    "membership": MembershipService, "participation": ParticipationService, "content": ContentService,
    "drops": DropsService, "feedback": FeedbackService, "automod": AutoModService,
    "live_events": LiveEventsService, "ama": AmaService, "support": SupportService,
    "stats": StatsService,
    "schedules": ScheduleService,
}


@pytest.mark.parametrize("path", ["bot/app.py", "bot/config/loader.py"])
def test_no_getattr_fallback_in_the_wiring(path):
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    names = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    assert "__getattr__" not in names
    assert "__getattr__" not in (ROOT / path).read_text(encoding="utf-8")


@pytest.mark.parametrize("name,service", FEATURES.items())
def test_every_feature_is_a_declared_attribute_of_its_service_type(name, service):
    hints = typing.get_type_hints(App)
    assert hints[name] is service


async def test_the_app_builds_every_feature_in_start_order(tmp_path):
    app = await App.open(load_config(CONFIG), db_path=tmp_path / "k.db", real_scheduler=False)
    try:
        assert list(app.features) == list(FEATURES)
        for name, service in FEATURES.items():
            assert isinstance(getattr(app, name), service)
            assert app.features[name] is getattr(app, name)
        with pytest.raises(AttributeError):
            app.dropz  # noqa: B018 - a typo is an error, not a quietly missing feature
    finally:
        await app.close()


def test_a_missing_feature_module_is_an_import_error(monkeypatch):
    """A feature whose module cannot be imported stops the bot instead of vanishing from it."""
    monkeypatch.delitem(sys.modules, "bot.app")
    monkeypatch.setitem(sys.modules, "bot.services.ama", None)  # as if the module were gone
    with pytest.raises(ImportError):
        importlib.import_module("bot.app")
    monkeypatch.undo()
    assert sys.modules["bot.app"].App is App


def test_every_config_file_is_a_typed_field_of_config():
    fields = {f.name: f for f in dataclasses.fields(Config)}
    hints = typing.get_type_hints(Config)
    for spec in ALL_FILES:
        assert spec.attr in fields, f"Config has no field for {spec.pattern}"
        expected = dict[str, spec.model] if spec.many else spec.model
        assert hints[spec.attr] == expected


def test_a_loaded_config_has_every_file_even_the_absent_ones(tmp_path):
    config = load_config(CONFIG)
    for spec in ALL_FILES:
        value = getattr(config, spec.attr)
        assert isinstance(value, dict) if spec.many else isinstance(value, spec.model)
    with pytest.raises(AttributeError):
        config.dropz  # noqa: B018


def test_a_config_is_changed_with_dataclasses_replace():
    config = load_config(CONFIG)
    changed = dataclasses.replace(config, drops=config.drops.model_copy(update={"drops": ()}))
    assert changed.drops.drops == () and changed.community is config.community


def test_the_community_section_is_config_community_info_and_still_community_in_yaml(tmp_path):
    config = load_config(CONFIG)
    assert config.community.info.name and config.community.info.timezone
    assert not hasattr(config.community, "community")  # not config.community.community any more
    folder = config_dir_with(tmp_path, {"community.yaml": {"community": {"nmae": "typo"}}})
    with pytest.raises(ConfigError) as err:
        load_config(folder)
    [problem] = [p for p in err.value.problems if "nmae" in p]
    assert "community.nmae: unknown key 'nmae' (allowed: name, purpose, timezone" in problem
    renamed = config_dir_with(tmp_path, {"community.yaml": {"info": {"name": "x"}}})
    with pytest.raises(ConfigError) as err:
        load_config(renamed)
    assert any("unknown key 'info' (allowed: community, membership" in p for p in err.value.problems)
