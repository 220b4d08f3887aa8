"""The YAML reader builds exactly what PyYAML's safe loader builds, and still knows every line."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from bot.config.yamlsrc import YamlSyntaxError, load_source

ROOT = Path(__file__).resolve().parent.parent

TRICKY = """\
plain: word
quoted: "09:00"
single: '{persona.name}'
numbers: [1, -2, 0x1f, 0o17, 1_000, 3.5, 1e3, .inf, -.inf]
truthy: [yes, no, on, off, true, False, ~, null, ""]
times: [2026-12-24, 2026-12-24T20:00:00, 2026-12-24 20:00:00+09:00, 20:00, 1:30]
binary: !!binary aGVsbG8=
explicit: !!str 123
nested: {a: [1, {b: c}], d: {}, e: []}
anchored: &base {x: 1, y: [2, 3]}
again: *base
word: &w hello
word_again: *w
first: 1
second: 2
1: int key
2026-01-01: date key
null: null key
block: |
  two
  lines
folded: >
  one
  line
"""

UNUSUAL = {
    "merge": "base: &b {x: 1, y: 2}\nchild:\n  <<: *b\n  y: 3\n",
    "set": "s: !!set {a, b}\n",
    "omap": "o: !!omap [{a: 1}, {b: 2}]\n",
    "pairs": "p: !!pairs [{a: 1}, {a: 2}]\n",
    "value key": "v: {=: 1}\n",
}


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return type(a) is type(b) and a == b


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "f.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["tricky", *UNUSUAL])
def test_data_equals_pyyaml_safe_load(tmp_path, name):
    text = TRICKY if name == "tricky" else UNUSUAL[name]
    data = load_source(_write(tmp_path, text)).data
    assert data == yaml.load(text, Loader=yaml.SafeLoader)  # the pure-Python reference
    assert list(data) == list(yaml.load(text, Loader=yaml.SafeLoader))  # key order too
    if name == "tricky":
        assert all(_same(a, b) for a, b in zip(data["numbers"], yaml.safe_load(text)["numbers"]))
        assert data["again"] is data["anchored"]  # an alias is the same object, as with PyYAML
        assert data["second"] == 2 and data["binary"] == b"hello" and data["explicit"] == "123"


def test_every_shipped_yaml_file_reads_as_pyyaml_reads_it():
    files = sorted(ROOT.glob("config/**/*.yaml")) + sorted(ROOT.glob("bot/locales/**/*.yaml"))
    assert len(files) > 5
    for path in files:
        assert load_source(path).data == yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader), path


def test_recursive_anchor_is_refused_and_empty_document_is_none(tmp_path):
    with pytest.raises(YamlSyntaxError, match=r"f.yaml:1: an alias \(\*name\) is used inside the value it names"):
        load_source(_write(tmp_path, "a: &a [1, *a]\n"))  # validation would recurse without end
    assert load_source(_write(tmp_path, "# nothing\n")).data is None


def test_errors_name_the_line(tmp_path):
    with pytest.raises(YamlSyntaxError, match=r"f.yaml:3: "):
        load_source(_write(tmp_path, "a: 1\nb: 2\nc: !unknown 3\n"))
    with pytest.raises(YamlSyntaxError, match=r"f.yaml:2: "):
        load_source(_write(tmp_path, "a: 1\n? [x, y]\n: 2\n"))  # an unhashable key
    with pytest.raises(YamlSyntaxError, match=r"f.yaml:3: "):
        load_source(_write(tmp_path, "a: 1\nb: [\n"))  # the parser notices at the end of the file


def test_lines_are_there_when_asked(tmp_path):
    source = load_source(_write(tmp_path, TRICKY))
    assert source.line_of(("nested", "a", 1, "b")) == 9
    assert source.line_of(("block",)) == 19
    assert source.line_of(("nowhere", "deep")) == 1
