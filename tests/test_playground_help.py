"""The playground walks a help question end to end (tests/playground_help_demo.txt), and shows a forum
feedback post with its tags."""
from __future__ import annotations

from pathlib import Path

from bot.__main__ import main
from tests.helpers import config_dir_with
from tests.test_playground import block_after

DEMO = Path(__file__).with_name("playground_help_demo.txt")


def blocks_after(transcript: str, prompt: str) -> list[str]:
    """The output of every line `prompt` (block_after finds the first only)."""
    lines = transcript.splitlines()
    out = []
    for i, line in enumerate(lines):
        if line == prompt:
            block = []
            for follow in lines[i + 1:]:
                if not follow.startswith(" "):
                    break
                block.append(follow.strip())
            out.append("\n".join(block))
    return out


def run(capsys, config_dir: Path, script: Path) -> str:
    code = main(["playground", "--config", str(config_dir), "--script", str(script)])
    out = capsys.readouterr().out
    assert code == 0, out
    return out


def test_the_help_demo_walks_a_question_end_to_end(capsys, tmp_path):
    config = config_dir_with(tmp_path)  # /help promote writes faq.yaml: never the shipped one
    t = run(capsys, config, DEMO)
    asked = block_after(t, "alice> Details: My gyokuro goes cold in the glass cup.")
    assert "Your question #1 is posted in the help forum" in asked
    assert "[post Which cup keeps gyokuro warm? · tags: Brewing, Open] Kizuna:" in asked
    assert "New help question #1: **Which cup keeps gyokuro warm?** from @alice · Brewing" in asked
    reads = blocks_after(t, "alice> :read help")[:1] + blocks_after(t, "mod> :read help") + \
        blocks_after(t, "alice> :read help")[1:]
    assert reads == ["🗂 Which cup keeps gyokuro warm? · tags: Brewing, Open",
                                          "🗂 Which cup keeps gyokuro warm? · tags: Brewing, Answered",
                                          "🗂 Which cup keeps gyokuro warm? · tags: Brewing, Solved"]
    promoted = block_after(t, "mod> answer: A thick-walled yunomi, warmed with hot water first.")
    assert "is now the FAQ entry `gyokuro-cup`" in promoted
    assert "gyokuro-cup" in (config / "faq.yaml").read_text(encoding="utf-8")
    assert "A thick-walled yunomi" in block_after(t, 'bob> /help search query:"gyokuro cup warm"')
    waited = block_after(t, "bob> :wait 4h")
    assert waited.count("has waited 4h without an answer from the team") == 1
    stats = block_after(t, "mod> /stats")
    assert "🙋 **Help desk**: 2 asked · 1 waiting for a first answer" in stats
    assert "First answer from the team: median 25m · p90 25m (1 answered)" in stats  # the :wait 25m above
    assert "help-week-2026-12-01.png" in stats


def test_the_playground_shows_a_forum_feedback_posts_tags(capsys, tmp_path):
    config = config_dir_with(tmp_path, {"community.yaml": {"channels": {"feedback": {"kind": "public", "forum": True}}}})
    script = tmp_path / "feedback.txt"
    script.write_text("\n".join([
        ":as alice", "/feedback send", "category: Bug", "title: Lid cracks", "text: The tin lid cracks in winter.",
        ":read feedback", ":as mod", ":click Under review", ":read feedback", ":quit"]) + "\n", encoding="utf-8")
    t = run(capsys, config, script)
    sent = block_after(t, "alice> text: The tin lid cracks in winter.")
    assert "[post #1 · Lid cracks · tags: Bug, New] Kizuna:" in sent
    reads = blocks_after(t, "alice> :read feedback") + blocks_after(t, "mod> :read feedback")
    assert reads == ["🗂 #1 · Lid cracks · tags: Bug, New", "🗂 #1 · Lid cracks · tags: Bug, Under review"]
