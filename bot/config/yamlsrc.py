"""YAML that remembers where each value came from, so errors can name file, line and field."""
from __future__ import annotations

import gc
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


_TAG = "tag:yaml.org,2002:"
_STR, _MAP, _SEQ = _TAG + "str", _TAG + "map", _TAG + "seq"
_SCALARS = {_TAG + name: yaml.SafeLoader.yaml_constructors[_TAG + name]  # plain functions (constructor, node)
            for name in ("null", "bool", "int", "float", "binary", "timestamp")}


class _Unusual(Exception):
    """The document needs PyYAML's own constructor (aliases of collections, merge keys, explicit or
    unknown tags...)."""


def _construct(loader: yaml.BaseLoader, root: yaml.Node) -> Any:
    """The data of a composed document, as `loader.construct_document(root)` builds it, without its
    per-node bookkeeping (a constructed-objects table, a generator per collection): about 3x faster
    for the plain maps, lists and scalars config files are made of. Anything else raises `_Unusual`
    and the caller falls back to PyYAML (which also reports the errors)."""
    seen: set[int] = set()  # collection nodes: one met twice is an alias (PyYAML shares the object)

    def build(node: yaml.Node) -> Any:
        kind, tag = type(node), node.tag
        if kind is yaml.ScalarNode:
            if tag == _STR:
                return node.value
            scalar = _SCALARS.get(tag)
            if scalar is None:
                raise _Unusual
            return scalar(loader, node)
        if id(node) in seen:
            raise _Unusual
        seen.add(id(node))
        if kind is yaml.MappingNode and tag == _MAP:
            data: Any = {}
            for key_node, value_node in node.value:
                if type(key_node) is not yaml.ScalarNode:
                    raise _Unusual  # a collection as a key: PyYAML reports it (`<<` and `=` keys have
                    #                tags of their own: they come out unusual when built)
                data[build(key_node)] = build(value_node)
        elif kind is yaml.SequenceNode and tag == _SEQ:
            data = [build(item) for item in node.value]
        else:
            raise _Unusual
        return data

    return build(root)


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
            return loader.construct_document(node)
    finally:
        loader.dispose()


def load_source(path: Path, display: str | None = None) -> Source:
    """Parse one YAML file. Raises `YamlSyntaxError` with file:line on bad syntax."""
    text = path.read_text(encoding="utf-8")
    try:
        with _no_cyclic_gc():
            data = _parse(text)  # its nodes are freed when it returns, before gc runs again
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise YamlSyntaxError(f"{display or path}:{line}: YAML syntax error: {problem}") from exc
    return Source(path=path, data=data, text=text)


class YamlSyntaxError(Exception):
    pass
