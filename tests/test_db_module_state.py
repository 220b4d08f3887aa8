"""Storage only storage: no module of bot/db keeps state of its own between calls (no cache, no
registry of what it saw). State that outlives a call belongs to a service, where its owner can see
it; a module-level dict in a repository is shared by every database the process opens.

The check: every module-level value of every bot/db module must be a constant (numbers, strings,
compiled patterns, loggers, tuples/frozensets of those) or a module, class or function; and no
function may rebind a module global (`global`)."""
from __future__ import annotations

import __future__
import ast
import importlib
import inspect
import logging
import pkgutil
import re
import types
import typing

import pytest

import bot.db

# the one exception, and why: which databases are open, so the test suite can close what a failed
# test left open (aiosqlite's thread would keep pytest alive). Not data: nothing reads it to decide.
ALLOWED = {"bot.db.connection._OPEN"}

CONSTANTS = (int, float, complex, str, bytes, bool, type(None), re.Pattern, logging.Logger, typing.TypeVar,
             __future__._Feature)


def _constant(value) -> bool:
    if isinstance(value, (tuple, frozenset)):
        return all(_constant(v) for v in value)
    if getattr(type(value), "__module__", "") == "typing":  # Iterable, Sequence... imported for annotations
        return True
    return type(value) in CONSTANTS or isinstance(value, (re.Pattern, logging.Logger))


def module_state(module: types.ModuleType, source: str) -> list[str]:
    """What in `module` is state: non-constant module-level values, and functions rebinding globals."""
    found = []
    for name, value in vars(module).items():
        if name.startswith("__") or f"{module.__name__}.{name}" in ALLOWED:
            continue
        if inspect.ismodule(value) or inspect.isclass(value) or inspect.isroutine(value):
            continue
        if not _constant(value):
            found.append(f"{module.__name__}.{name} is a module-level {type(value).__name__}")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Global):
            found.append(f"{module.__name__}: `global {', '.join(node.names)}` (line {node.lineno})")
    return found


DB_MODULES = sorted(m.name for m in pkgutil.walk_packages(bot.db.__path__, "bot.db."))


@pytest.mark.parametrize("name", DB_MODULES)
def test_a_repository_module_keeps_no_state(name):
    module = importlib.import_module(name)
    assert module_state(module, inspect.getsource(module)) == []


def test_every_repository_module_is_checked():
    assert {"bot.db.drops", "bot.db.connection", "bot.db.outbox"} <= set(DB_MODULES)


def _sample(source: str) -> types.ModuleType:
    module = types.ModuleType("bot.db.sample")
    exec(compile(source, "sample.py", "exec"), module.__dict__)
    return module


@pytest.mark.parametrize("source", [
    "_CACHE = {}",
    "_SEEN: list[int] = []",
    "_IDS = set()",
    "import weakref\n_COMMITTED = weakref.WeakKeyDictionary()",
    "class _Outcomes(dict):\n    pass\n_OUTCOMES = _Outcomes()",
    "class _State:\n    pass\n_STATE = _State()",
    "_PAIRS = ((1, []),)",
    "_COUNT = 0\ndef bump():\n    global _COUNT\n    _COUNT += 1",
], ids=["dict", "list", "set", "weak-dict", "dict-subclass", "object", "list-in-tuple", "global"])
def test_the_check_catches_module_state(source):
    assert module_state(_sample(source), source)


def test_the_check_lets_constants_through():
    source = ("import logging, re\nfrom typing import Sequence\n_CHUNK = 5000\n_COLUMNS = ('a', 'b')\n"
              "_KINDS = frozenset({'x'})\n_SQL = 'SELECT 1'\n_NAME = re.compile('x')\nlog = logging.getLogger('x')\n"
              "def f():\n    return _CHUNK\nclass C:\n    pass\n")
    assert module_state(_sample(source), source) == []
