"""The playground as a newcomer meets it: each test runs a script through `python -m bot playground
--script` (in-process) and asserts what the person sees in the transcript."""
from __future__ import annotations

import re
from pathlib import Path

from bot.__main__ import main
from tests.helpers import CONFIG
from tests.test_playground import block_after


def play(capsys, tmp_path: Path, script: str, *args: str) -> str:
    path = tmp_path / "script.txt"
    path.write_text(script, encoding="utf-8")
    code = main(["playground", "--config", str(CONFIG), "--script", str(path),
                 "--files", str(tmp_path / "files"), *args])
    out = capsys.readouterr().out
    assert code == 0, out
    return out


def test_day_one_prompt_posts_and_members_answer_in_its_thread(capsys, tmp_path):
    t = play(capsys, tmp_path, """\
:time
:wait 1h
:as alice
:say "Answers · 2026-12-01" Green tea with my grandmother.
:as bob
:say #Answers · 2026-12-01 Genmaicha at school!
:read "Answers · 2026-12-01"
""")
    start = block_after(t, "mod> :time").strip()
    assert start < "2026-12-01 09:00", "the session starts before the first daily job"
    assert "[#daily-prompt] " in block_after(t, "mod> :wait 1h")
    assert "🧵 thread: Answers · 2026-12-01" in block_after(t, "mod> :wait 1h")
    assert "!" not in block_after(t, 'alice> :say "Answers · 2026-12-01" Green tea with my grandmother.')
    assert "!" not in block_after(t, "bob> :say #Answers · 2026-12-01 Genmaicha at school!")
    answers = block_after(t, 'bob> :read "Answers · 2026-12-01"')
    assert "alice:\n    Green tea with my grandmother." in answers
    assert "bob:\n    Genmaicha at school!" in answers


def test_read_shows_the_ids_click_needs(capsys, tmp_path):
    t = play(capsys, tmp_path, """\
/admin notice text:first
/admin notice text:second
:read mod-queue 2
""")
    ids = re.findall(r"^  #(\d+) \[#mod-queue\] Kizuna:", block_after(t, "mod> :read mod-queue 2"), re.M)
    assert len(ids) == 2
    t = play(capsys, tmp_path, f"""\
/admin notice text:first
/admin notice text:second
:click Acknowledge #{ids[0]}
:read mod-queue 2
""")
    queue = block_after(t, "mod> :read mod-queue 2")
    first, second = queue.split(f"#{ids[1]} ")
    assert "Acknowledged by" in first and "Acknowledged by" not in second


def test_attachments_are_saved_and_their_path_printed(capsys, tmp_path):
    t = play(capsys, tmp_path, "/feedback export\n/stats\n")
    for prompt, suffix in (("mod> /feedback export", ".csv"), ("mod> /stats", ".png")):
        m = re.search(r"📎 (\S+) \((\d+) bytes\) → (.+)$", block_after(t, prompt), re.M)
        assert m, block_after(t, prompt)
        saved = Path(m.group(3))
        assert saved.parent == tmp_path / "files" and saved.name.endswith(m.group(1)) and saved.suffix == suffix
        assert saved.stat().st_size == int(m.group(2))


def test_the_send_as_feedback_message_menu_can_be_used(capsys, tmp_path):
    t = play(capsys, tmp_path, """\
:as alice
:say lounge The lid of the hanami tin is hard to open.
:read lounge 1
""")
    mid = re.search(r"^  #(\d+) \[#lounge\] alice:", block_after(t, "alice> :read lounge 1"), re.M).group(1)
    t = play(capsys, tmp_path, f"""\
:as alice
:say lounge The lid of the hanami tin is hard to open.
:as bob
:menu "Send as feedback" #{mid}
category: Product
""")
    menu = block_after(t, f'bob> :menu "Send as feedback" #{mid}')
    assert "┏ form:" in menu and "The lid of the hanami tin is hard to open." in menu
    assert "Thank you" in t.split(f'bob> :menu "Send as feedback" #{mid}')[1]


def test_a_form_left_empty_names_its_fields(capsys, tmp_path):
    t = play(capsys, tmp_path, ":as bob\n/feedback send\n:time\n")
    after = t.split("bob> /feedback send")[1]
    assert "option(s)" not in after
    assert "the form was not filled in" in after and "Category" in after


def test_a_deferred_reply_shows_as_a_reply_not_as_an_edit(tmp_path):
    """/leaderboard defers first (it can take a moment); Discord shows the filled-in reply as a reply,
    so the playground must not say "(edited)"."""
    from bot.__main__ import main

    script = tmp_path / "s.txt"
    script.write_text(":as bob\n/leaderboard\n", encoding="utf-8")
    import contextlib, io
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["playground", "--script", str(script), "--db", str(tmp_path / "p.db")]) == 0
    text = out.getvalue()
    assert "Leaderboard" in text and "Kizuna (edited)" not in text, text
