"""The shipped config passes; each broken variant fails with the right file, line and field."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.config import load_config
from bot.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_shipped_config_passes_check(capsys):
    # as of a fixed moment: the example's one-offs and campaign are dated (after them `check` says so)
    assert main(["check", "--config", str(ROOT / "config"), "--now", "2026-12-01T00:00+09:00"]) == 0
    assert "config OK" in capsys.readouterr().out


def test_loaded_models_are_typed_and_immutable():
    config = load_config(ROOT / "config")
    assert config.community.community.timezone == "Asia/Tokyo"
    assert config.community.membership.mode in ("open", "approval", "invite")
    with pytest.raises(Exception):
        config.community.community.name = "changed"  # frozen


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of the shipped config with one edit in community.yaml."""
    target = tmp_path / "config"
    shutil.copytree(ROOT / "config", target)
    path = target / "community.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text, f"test setup: {old!r} not in community.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return target


def _line_of(folder: Path, needle: str) -> int:
    for i, line in enumerate((folder / "community.yaml").read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not found")


# (old text, new text, line marker in the broken file, expected field, expected words in the message)
BROKEN = [
    pytest.param("mode: approval", "mode: aproval", "mode: aproval", "membership.mode",
                 "'aproval' is not one of open, approval, invite", id="bad-enum"),
    pytest.param("timezone: Asia/Tokyo", "timezone: Asia/Tokio", "Asia/Tokio", "community.timezone",
                 "not an IANA time zone", id="bad-timezone"),
    pytest.param("reapply_cooldown_days: 7", "reapply_cooldown_days: seven", "seven",
                 "membership.reapply_cooldown_days", "valid integer", id="wrong-type"),
    pytest.param("  reapply_cooldown_days: 7", "  reapply_cooldown_dayz: 7", "dayz",
                 "membership.reapply_cooldown_dayz", "unknown key 'reapply_cooldown_dayz' (allowed:", id="unknown-key"),
    pytest.param("  name: Sakura Tea House\n", "", "community:", "community.name",
                 "required field is missing", id="missing-required"),
    pytest.param("  mod_log: mod-log", "  mod_log: mod-logs", "mod_log: mod-logs", "moderation.mod_log",
                 "unknown channel key 'mod-logs'", id="unknown-channel-key"),
    pytest.param("  leaf-lounge: {kind: exclusive, tier: leaf}", "  leaf-lounge: {kind: exclusive, tier: leef}",
                 "tier: leef", "channels.leaf-lounge.tier", "unknown tier key 'leef'", id="unknown-tier-key"),
    pytest.param("    role: blossom", "    role: blosom", "role: blosom", "tiers[1].role",
                 "unknown role key 'blosom'", id="unknown-role-key"),
    pytest.param("  lounge: {kind: public}", "  lounge: {kind: exclusive}", "lounge: {kind: exclusive}",
                 "channels.lounge", "exclusive channel needs `tier:`", id="exclusive-without-tier"),
    pytest.param("  visitor: {name: Visitor}\n", "", "roles:", "roles",
                 "role key 'visitor' is required", id="missing-required-role"),
    pytest.param("  greeting: Irasshaimase!", "  greeting: [unclosed", "greeting: [unclosed", None,
                 "YAML syntax error", id="yaml-syntax"),
    pytest.param("      label: Your favourite Sakura Tea blend?",
                 "      label: " + "x" * 60, "x" * 60, "membership.questions[0].label",
                 "at most 45 characters", id="too-long-modal-label"),
    pytest.param("  sign_off:", "  messages:\n    core.not_moderator: 'Mods only, {nmae}'\n  sign_off:",
                 "  messages:", "persona.messages", "unknown key 'messages'", id="misplaced-key"),
]


@pytest.mark.parametrize("old,new,marker,field,words", BROKEN)
def test_broken_config_names_file_line_and_field(tmp_path, capsys, old, new, marker, field, words):
    folder = _broken(tmp_path, old, new)
    with pytest.raises(ConfigError) as info:
        load_config(folder)
    problems = info.value.problems
    text = "\n".join(problems)
    line = _line_of(folder, marker)
    if field is None:  # syntax errors point at or just after the broken line
        assert any(p.startswith(f"{folder / 'community.yaml'}:") and words in p for p in problems), text
        reported = int(problems[0].split(":")[1])
        assert line <= reported <= line + 1, text
    else:
        expected_prefix = f"{folder / 'community.yaml'}:{line}: {field}: "
        assert any(p.startswith(expected_prefix) and words in p for p in problems), text
    # the CLI says the same and exits non-zero
    assert main(["check", "--config", str(folder)]) == 1
    assert words in capsys.readouterr().err


def test_message_override_with_unknown_placeholder_fails(tmp_path):
    folder = _broken(tmp_path, "persona:", "messages:\n  core.not_moderator: 'Mods only, {nmae}'\npersona:")
    with pytest.raises(ConfigError) as info:
        load_config(folder)
    line = _line_of(folder, "core.not_moderator")
    assert any(p.startswith(f"{folder / 'community.yaml'}:{line}: messages.core.not_moderator: placeholder {{nmae}}")
               for p in info.value.problems), info.value.problems


def test_every_problem_is_reported_at_once(tmp_path):
    folder = _broken(tmp_path, "mode: approval", "mode: aproval")
    text = (folder / "community.yaml").read_text().replace("timezone: Asia/Tokyo", "timezone: Mars/Olympus")
    (folder / "community.yaml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(folder)
    assert len(info.value.problems) == 2


def test_schema_command_writes_json_schema(tmp_path):
    import json

    assert main(["schema", "--out", str(tmp_path)]) == 0
    schema = json.loads((tmp_path / "community.schema.json").read_text())
    assert schema["additionalProperties"] is False
    assert "membership" in schema["properties"]
