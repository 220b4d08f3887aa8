"""The playground runs the real bot offline: the checked-in demo script end to end through the CLI,
the REPL with a fake terminal, and a bot with no feature cogs at all."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.offline.playground import parse_duration
from tests.helpers import CONFIG

DEMO = Path(__file__).with_name("playground_demo.txt")


def run_cli(capsys, *args: str) -> str:
    code = main(["playground", "--config", str(CONFIG), *args])
    out = capsys.readouterr().out
    assert code == 0, out
    return out


def block_after(transcript: str, prompt: str) -> str:
    """The output of one input line: from its echo to the next echoed input."""
    lines = transcript.splitlines()
    start = lines.index(prompt)
    out = []
    for line in lines[start + 1:]:
        if not line.startswith(" "):
            break
        out.append(line)
    return "\n".join(out)


def test_the_demo_script_runs_end_to_end(capsys):
    t = run_cli(capsys, "--script", str(DEMO))
    notice = block_after(t, 'mod> /admin notice text:"The spring blend collab goes live on Friday. '
                            'Please keep an eye on #lounge."')
    assert "Kizuna (only you):\n    Notice #1 is in the mod queue." in notice
    assert "[#mod-queue] Kizuna:" in notice and "[1 Acknowledge]" in notice
    ack = block_after(t, "mod> :click Acknowledge")
    assert "• Acknowledged by: @mod" in ack and "[1 Acknowledged (disabled)]" in ack
    assert "**notice.ack** → #1" in block_after(t, "mod> /admin audit limit:5")
    assert block_after(t, "alice> /admin audit").splitlines() == ["  Kizuna (only you):",
                                                                   "    Only moderators can do that."]
    assert "That option is not right: Failed to convert abc to int" in block_after(t, "alice> /admin audit limit:abc")
    assert "! Discord refused: Missing Permissions (code 50013)" in block_after(t, "vera> :say lounge Can I post here?")
    lounge = block_after(t, "vera> :read lounge")
    assert "[#lounge] alice:" in lounge and "Has anyone tried the new sencha?" in lounge
    assert "(time is now 2026-12-02 08:25 Asia/Tokyo)" in block_after(t, "bob> :wait 1d")  # started 08:25
    # joining by approval: the form goes to the mod queue, Approve gives the member role and a DM
    assert "[#mod-queue] Kizuna:" in block_after(t, "vera> rules: yes")  # the last answer submits the form
    assert "[DM → vera]" in block_after(t, "mod> :click Approve")
    # a quiz: a second answer is refused, the timer reveals the answer with the count
    assert "already answered" in block_after(t, "bob> :click 2")
    assert "1 of 2 got it right" in block_after(t, "bob> :wait 1m")
    # the question itself is shown again as the bot edited it: closed, buttons greyed out
    assert "[#quiz] Sakura-chan (edited):" in block_after(t, "bob> :wait 1m")
    assert "[1 A. A tea field (disabled)]" in block_after(t, "bob> :wait 1m")
    assert t.rstrip().endswith("bob> :quit")


def test_the_demo_transcript_in_docs_is_current(capsys):
    """docs/playground-transcript.txt is this script's real output (regenerate it when this fails:
    python -m bot playground --script tests/playground_demo.txt > docs/playground-transcript.txt)."""
    saved = Path(__file__).resolve().parents[1] / "docs" / "playground-transcript.txt"
    t = run_cli(capsys, "--script", str(DEMO))
    # the admin part is this repo's own; other cogs may change their words without breaking this test
    head = t.split("# A day passes")[0].split("# Members send feedback")[0]
    assert head in saved.read_text(encoding="utf-8")


def test_a_modal_is_filled_from_the_lines_after_the_command_and_unknown_fields_are_named(capsys, tmp_path):
    script = tmp_path / "s.txt"
    script.write_text("/admin notice text:hi\n:as bob\n/admin audit\n:nope\n:click 1\n:wait 90m\n:dms\n:help\n",
                      encoding="utf-8")
    t = run_cli(capsys, "--script", str(script), "--as", "mod")
    assert "? unknown :nope" in t
    assert "! no message with buttons yet" not in t  # the notice was shown to mod before
    assert "(time is now 2026-12-01 09:55 Asia/Tokyo)" in t  # the session starts at 08:25
    assert "(no DMs to bob)" in t
    assert "/admin audit" in block_after(t, "bob> :help")


def test_the_repl_reads_lines_from_the_terminal(capsys, monkeypatch):
    lines = iter(["/admin audit", ":as carol", "/admin audit", ":quit"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(lines))
    t = run_cli(capsys)
    assert "Kizuna playground: Sakura Tea House, offline. You are mod." in t
    assert "No moderator actions recorded yet." in t
    assert "Only moderators can do that." in t


def test_the_playground_works_with_no_feature_cogs(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr("bot.client.cog_modules", lambda: [])
    script = tmp_path / "s.txt"
    script.write_text(":commands\n:say lounge hi\n:read lounge\n/admin audit\n:wait 1d\n", encoding="utf-8")
    t = run_cli(capsys, "--script", str(script), "--as", "alice")
    assert "[#lounge] alice:\n    hi" in t
    assert "no slash command /admin" in t


def test_durations():
    assert parse_duration("1d") == timedelta(days=1)
    assert parse_duration("2h30m") == timedelta(hours=2, minutes=30)
    assert parse_duration("1w 2d") == timedelta(weeks=1, days=2)
    with pytest.raises(ValueError):
        parse_duration("soon")
