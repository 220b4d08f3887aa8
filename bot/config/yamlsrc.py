"""YAML that remembers where each value came from, so errors can name file, line and field."""
from __future__ import annotations

import codecs
import gc
import os
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

Loc = tuple[str | int, ...]


class Source:
    """One parsed YAML file: its data and the line (1-based) of every key and item in it.

    Lines are worked out only when asked (an error to report), by composing the kept text again: a
    clean load of a large file neither builds nor keeps a node tree (a node and two marks per value)."""

    def __init__(self, path: Path, data: Any, text: str | None = None) -> None:
        self.path = path
        self.data = data
        self._text = text
        self._lines: dict[Loc, int] | None = None

    @property
    def lines(self) -> dict[Loc, int]:
        if self._lines is None:
            self._lines = {}
            if self._text is not None:
                loader = _Loader(self._text)
                try:
                    node = loader.get_single_node()  # the text parsed once already: no syntax error here
                finally:
                    loader.dispose()
                if node is not None:
                    _walk(node, (), self._lines)
        return self._lines

    def line_of(self, loc: Loc) -> int:
        """The line of the deepest part of `loc` that exists in the file."""
        loc = tuple(loc)
        while loc and loc not in self.lines:
            loc = loc[:-1]
        return self.lines.get(loc, 1)


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml when present: ~15x faster, same marks
    pass


# What a config file may be. A brand team's files are a few kilobytes; the limits stop a mistaken or
# hostile file (a pasted export, an alias bomb) from eating memory or freezing the bot on reload.
MAX_BYTES = 1024 * 1024  # 1 MiB per file
MAX_DEPTH = 50  # levels of nested maps and lists (the deepest shipped file uses 6)
MAX_ALIAS_VALUES = 100_000  # values that aliases (*name) may add when expanded

_TAG = "tag:yaml.org,2002:"
_STR, _MAP, _SEQ, _MERGE = _TAG + "str", _TAG + "map", _TAG + "seq", _TAG + "merge"
_SCALARS = {_TAG + name: yaml.SafeLoader.yaml_constructors[_TAG + name]  # plain functions (constructor, node)
            for name in ("null", "bool", "int", "float", "binary", "timestamp")}


class _Unusual(Exception):
    """The document needs PyYAML's own constructor (aliases of collections, merge keys, explicit or
    unknown tags...)."""


class _Problem(Exception):
    """Something wrong with the file itself, found at a line (1-based)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _scalar(loader: yaml.BaseLoader, node: yaml.ScalarNode, construct) -> Any:
    try:
        return construct(loader, node)
    except (ValueError, OverflowError) as exc:  # a date like 2026-02-30, an int of 5,000 digits
        kind = node.tag.removeprefix(_TAG)
        raise _Problem(node.start_mark.line + 1, f"{_short(node.value)!r} is not a valid {kind} ({exc}); "
                                                 "quote it to keep it as text") from None


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


def _construct(loader: yaml.BaseLoader, root: yaml.Node) -> Any:
    """The data of a composed document, as `loader.construct_document(root)` builds it, without its
    per-node bookkeeping (a constructed-objects table, a generator per collection): about 3x faster
    for the plain maps, lists and scalars config files are made of. Anything else raises `_Unusual`
    and the caller checks the document's shape, then falls back to PyYAML (which also reports the
    errors). A duplicate key or a bad scalar raises `_Problem`."""
    seen: set[int] = set()  # collection nodes: one met twice is an alias (PyYAML shares the object)

    def build(node: yaml.Node, depth: int) -> Any:
        kind, tag = type(node), node.tag
        if kind is yaml.ScalarNode:
            if tag == _STR:
                return node.value
            scalar = _SCALARS.get(tag)
            if scalar is None:
                raise _Unusual
            return _scalar(loader, node, scalar)
        if id(node) in seen or depth > MAX_DEPTH:
            raise _Unusual  # the shape check names the problem
        seen.add(id(node))
        depth += 1
        if kind is yaml.MappingNode and tag == _MAP:
            data: Any = {}
            for key_node, value_node in node.value:
                if type(key_node) is not yaml.ScalarNode:
                    raise _Unusual  # a collection as a key: PyYAML reports it (`<<` and `=` keys have
                    #                tags of their own: they come out unusual when built)
                data[build(key_node, depth)] = build(value_node, depth)
            if len(data) != len(node.value):
                _check_duplicates(loader, node)
        elif kind is yaml.SequenceNode and tag == _SEQ:
            data = [build(item, depth) for item in node.value]
        else:
            raise _Unusual
        return data

    return build(root, 1)


def _key_of(loader: yaml.BaseLoader, node: yaml.Node) -> Any:
    if type(node) is not yaml.ScalarNode:
        return None  # a collection as a key: PyYAML reports it
    scalar = _SCALARS.get(node.tag)
    return _scalar(loader, node, scalar) if scalar is not None else (node.tag, node.value)


def _check_duplicates(loader: yaml.BaseLoader, node: yaml.MappingNode) -> None:
    """Raise `_Problem` naming both lines when a key appears twice in one mapping (YAML forbids it;
    PyYAML would silently keep the last one). Merge keys (`<<: *base`) are not duplicates."""
    first: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == _MERGE:
            continue
        key = _key_of(loader, key_node)
        if key is None:
            continue
        line = key_node.start_mark.line + 1
        try:
            earlier = first.get(key)
        except TypeError:  # unhashable: PyYAML reports it
            continue
        if earlier is not None:
            shown = key[1] if isinstance(key, tuple) else key
            where = "earlier on this line" if earlier == line else f"on line {earlier}"
            raise _Problem(line, f"duplicate key {shown!r}: it is already set {where} "
                                 "(YAML keeps only one of them; remove or rename one)")
        first[key] = line


def _check_shape(loader: yaml.BaseLoader, root: yaml.Node) -> None:
    """Before PyYAML builds an unusual document: refuse what would make it (or the validation after
    it, which expands every alias into a copy) explode or recurse without end — nesting deeper than
    MAX_DEPTH, an alias inside its own anchor, aliases expanding to huge sizes — plus duplicate keys
    and unreadable scalars. Linear in the composed nodes: an alias's expanded size is counted once."""
    sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (values, levels) once expanded
    on_path: set[int] = set()
    scalars: set[int] = set()
    distinct = 0  # values the file spells out (an alias of a scalar is the same node: counted once)
    worst: tuple[int, int] = (0, 1)  # (expanded size, line) of the biggest value used more than once

    def visit(node: yaml.Node, depth: int) -> tuple[int, int]:
        nonlocal distinct, worst
        if type(node) is yaml.ScalarNode:
            scalar = _SCALARS.get(node.tag)
            if id(node) not in scalars:
                scalars.add(id(node))
                distinct += 1
                if scalar is not None:
                    _scalar(loader, node, scalar)
            return 1, 0
        key = id(node)
        known = sizes.get(key)
        line = node.start_mark.line + 1
        if known is not None:  # an alias: counted once, but it adds its levels where it is used
            depth += known[1] - 1
        elif key in on_path:
            raise _Problem(line, "an alias (*name) is used inside the value it names, which would make it "
                                 "infinitely deep")
        if depth > MAX_DEPTH:
            raise _Problem(line, f"values are nested more than {MAX_DEPTH} levels deep; config files need a "
                                 "handful of levels (is a bracket or indentation wrong?)")
        if known is not None:
            if known[0] > worst[0]:
                worst = (known[0], line)
            return known
        on_path.add(key)
        distinct += 1
        total, levels = 1, 0
        children = (child for pair in node.value for child in pair) if type(node) is yaml.MappingNode \
            else node.value
        if type(node) is yaml.MappingNode:
            _check_duplicates(loader, node)
        for child in children:
            size, height = visit(child, depth + 1)
            total += size
            levels = max(levels, height)
        on_path.discard(key)
        sizes[key] = total, levels + 1
        return sizes[key]

    expanded = visit(root, 1)[0]
    if expanded - distinct > MAX_ALIAS_VALUES:
        raise _Problem(worst[1], f"aliases (*name) expand this file to {expanded:,} values (at most "
                                 f"{MAX_ALIAS_VALUES:,} more than it spells out): write the values out instead")


def _walk(node: yaml.Node, loc: Loc, lines: dict[Loc, int]) -> None:
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            child = loc + (key,)
            lines[child] = key_node.start_mark.line + 1
            _walk(value_node, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, loc + (i,), lines)


@contextmanager
def _no_cyclic_gc():
    """Pause the cyclic garbage collector while a file is parsed. Composing allocates a node (and two
    marks) per value, freed by reference counting once the data is built; meanwhile each allocation
    burst set off collections that walked the nodes and every other live object again (with a loaded
    App, 10,000 schedules spent most of their ~1.1 s parse in gc). Anything cyclic (a recursive
    anchor) is collected once gc runs again."""
    enabled = gc.isenabled()
    if enabled:
        gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _parse(text: str) -> Any:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        try:
            return _construct(loader, node)
        except _Unusual:
            pass
        _check_shape(loader, node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _problem(path: Path, display: str | None, line: int, message: str) -> "YamlSyntaxError":
    return YamlSyntaxError(f"{display or path}:{line}: {message}")


def read_text(path: Path, display: str | None = None) -> str:
    """The text of a config file, or `YamlSyntaxError` (file:line: what is wrong, and how to fix it)
    when it is not a readable UTF-8 text file of at most MAX_BYTES: a folder, a dangling link, a
    pipe, a file saved as Shift-JIS, Latin-1 or UTF-16, binary data. A UTF-8 BOM is fine."""
    try:
        info = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise _problem(path, display, 1, f"is a link to {os.readlink(path)}, which does not exist") from None
        raise _problem(path, display, 1, "file not found") from None
    except OSError as exc:  # a link loop, no permission on the folder...
        raise _problem(path, display, 1, f"cannot be read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise _problem(path, display, 1, "is a folder, not a YAML file")
    if not stat.S_ISREG(info.st_mode):
        raise _problem(path, display, 1, "is not a regular file (a pipe, socket or device?)")
    too_big = (f"the file is over the {MAX_BYTES // 1024 // 1024} MiB limit for a config file "
               "({size:,} bytes): is it the right file? Split it or remove what is unused")
    if info.st_size > MAX_BYTES:
        raise _problem(path, display, 1, too_big.format(size=info.st_size))
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise _problem(path, display, 1, f"cannot be read: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:  # it grew since the stat
        raise _problem(path, display, 1, too_big.format(size=len(raw)))
    try:
        return decode(raw)
    except _Problem as exc:
        raise _problem(path, display, exc.line, exc.message) from None


_SAVE_AS_UTF8 = "save it as UTF-8 (in most editors: Save As / Save with Encoding -> UTF-8)"


def decode(raw: bytes) -> str:
    """UTF-8 text (a BOM is dropped), or `_Problem` naming the encoding it looks like."""
    if raw.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise _Problem(1, f"the file is saved as UTF-32, not UTF-8: {_SAVE_AS_UTF8}")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or _looks_utf16(raw):
        raise _Problem(1, f"the file is saved as UTF-16, not UTF-8: {_SAVE_AS_UTF8}")
    raw = raw.removeprefix(codecs.BOM_UTF8)
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise _Problem(raw.count(b"\n", 0, nul) + 1, "the file holds binary data (a NUL byte), not YAML text: "
                                                    "is it the right file?")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        if _looks_binary(raw):
            raise _Problem(line, "the file holds binary data, not YAML text: is it the right file?") from None
        raise _Problem(line, f"the file is not UTF-8: byte 0x{raw[exc.start]:02x} at column {column} cannot be "
                             f"read{_guess_encoding(raw)}; {_SAVE_AS_UTF8}") from None


def _looks_utf16(raw: bytes) -> bool:
    """UTF-16 without a BOM: every other byte of ASCII text is NUL."""
    sample = raw[:512]
    if len(sample) < 4:
        return False
    half = len(sample) // 2
    return max(sample[0::2].count(0), sample[1::2].count(0)) > half * 0.6


def _looks_binary(raw: bytes) -> bool:
    sample = raw[:8192]
    controls = sum(1 for b in sample if b < 9 or 13 < b < 32 or b == 127)
    return controls > len(sample) // 100


def _guess_encoding(raw: bytes) -> str:
    for name, label in (("cp932", "Shift-JIS"), ("euc_jp", "EUC-JP")):
        try:
            text = raw.decode(name)
        except UnicodeDecodeError:
            continue
        if any("\u3041" <= ch <= "\u30ff" for ch in text):  # kana: Japanese, not Latin letters misread
            return f" (it looks like {label})"
    return " (it looks like Latin-1 / Windows-1252)"


def load_source(path: Path, display: str | None = None) -> Source:
    """Parse one YAML file. Raises `YamlSyntaxError` with file:line for anything wrong with the file
    itself: not readable UTF-8 text (see `read_text`), bad syntax, duplicate keys, too deep, alias
    bombs. Quickly: nothing is expanded before it is measured."""
    text = read_text(path, display)
    try:
        with _no_cyclic_gc():
            data = _parse(text)  # its nodes are freed when it returns, before gc runs again
    except _Problem as exc:
        raise _problem(path, display, exc.line, exc.message) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(exc, "problem", None) or str(exc)
        if "maximum nesting depth" in problem:
            problem += f" (config files need a handful of levels; at most {MAX_DEPTH})"
        raise _problem(path, display, line, f"YAML syntax error: {problem}") from None
    except RecursionError:  # belt and braces: the shape check bounds every recursion before this
        raise _problem(path, display, 1, f"values are nested more than {MAX_DEPTH} levels deep") from None
    return Source(path=path, data=data, text=text)


class YamlSyntaxError(Exception):
    """A problem with a file as a whole (encoding, size, syntax, duplicate keys...): `file:line: text`."""
