"""Member text where it could do harm: a spreadsheet cell, and a message the bot signs.

Two pure functions (no discord import; `discord.utils.escape_markdown` would also escape every `*`
and `_` and so change how ordinary text reads):

- `csv_cell(value)`: a text cell that a spreadsheet would run as a formula is prefixed with `'`
  (OWASP's advice): one that starts with `=`, `+`, `-`, `@` (or their full-width forms, which
  Japanese input produces), also after leading whitespace, or that starts with a tab, CR or LF.
  Numbers the bot itself wrote (ints, floats) are left alone. `write_csv` applies it to every cell;
  every export goes through it.
- `relay(text)`: member text placed inside a bot-authored post, embed or DM keeps its words but
  cannot forge a masked link (`[text](url)` shows one address and opens another) or a heading,
  subtext or block quote. Every unescaped `[` and `]` gets a backslash (Discord then shows the
  brackets and the real address, which it links as typed), and so does a `#`, `-#` or `>` that
  starts a line. Backslashes the member typed are kept, and an already escaped character is not
  escaped twice, so `relay(relay(t)) == relay(t)`.
"""
from __future__ import annotations

import csv
import io
import re
from typing import Any, Iterable, Sequence

# = + - @ and their full-width forms (＝ ＋ － ＠)
FORMULA_STARTS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
CONTROL_STARTS = frozenset("\t\r\n")


def csv_cell(value: Any) -> Any:
    """The value as a spreadsheet should see it: text that would run as a formula gets a leading `'`."""
    if not isinstance(value, str) or not value:
        return value
    if value[0] in CONTROL_STARTS or value.lstrip()[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def csv_row(values: Iterable[Any]) -> list[Any]:
    return [csv_cell(v) for v in values]


def write_csv(header: Sequence[str], rows: Iterable[Sequence[Any]], *, bom: bool = True) -> bytes:
    """CSV bytes (RFC 4180 quoting) with every cell neutralised; UTF-8 with a BOM by default, so
    Excel opens Japanese text correctly."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(csv_row(header))
    writer.writerows(csv_row(r) for r in rows)
    return buffer.getvalue().encode("utf-8-sig" if bom else "utf-8")


# every line break str.splitlines knows (a client may honour more than \n)
_NEWLINE = re.compile("(\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029])")
_LINE_START = re.compile(r"^([ \t\u3000]*)(-#|#|>)")


def _escaped(text: str, i: int) -> bool:
    """Is text[i] escaped, i.e. preceded by an odd number of backslashes?"""
    n = 0
    while i - n - 1 >= 0 and text[i - n - 1] == "\\":
        n += 1
    return n % 2 == 1


def _escape_brackets(line: str) -> str:
    out = []
    for i, ch in enumerate(line):
        if ch in "[]" and not _escaped(line, i):
            out.append("\\")
        out.append(ch)
    return "".join(out)


def _escape_line_start(line: str) -> str:
    match = _LINE_START.match(line)
    if match is None:
        return line
    at = match.start(2)
    return line[:at] + "\\" + line[at:]


def relay(text: str | None) -> str:
    """Member text made safe to relay in a bot-authored message (see the module docstring)."""
    if not text:
        return text or ""
    parts = _NEWLINE.split(text)  # lines at even indexes, their line breaks at odd ones
    return "".join(part if i % 2 else _escape_line_start(_escape_brackets(part)) for i, part in enumerate(parts))
