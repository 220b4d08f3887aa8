"""Shared test helpers: changed configs built from the shipped example."""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import shutil
from pathlib import Path
from typing import Any, Mapping

import yaml
from discord.ext import commands

from bot.config import Config, load_config

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config"


def deep_merge(base: Any, patch: Any) -> Any:
    """Dicts merge key by key (recursively); anything else in the patch replaces the base value.
    A key patched to None is removed."""
    if isinstance(base, dict) and isinstance(patch, Mapping):
        out = dict(base)
        for key, value in patch.items():
            if value is None:
                out.pop(key, None)
            elif key in out:
                out[key] = deep_merge(out[key], value)
            else:
                out[key] = value
        return out
    return patch


def config_dir_with(tmp_path: Path, patches: Mapping[str, Any] | None = None) -> Path:
    """Copy ./config to a fresh folder under tmp_path and apply the patches; returns the folder.

    `patches` maps a file (relative to the config folder, e.g. "community.yaml" or "quizzes/tea.yaml")
    to a dict (deep-merged into the file's YAML), a str (the file's new raw text) or None (delete it)."""
    target = tmp_path / "config"
    n = 1
    while target.exists():
        n += 1
        target = tmp_path / f"config-{n}"
    shutil.copytree(CONFIG, target)
    for name, patch in (patches or {}).items():
        path = target / name
        if patch is None:
            path.unlink(missing_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(patch, str):
            path.write_text(patch, encoding="utf-8")
            continue
        current = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
        merged = deep_merge(current or {}, patch)
        path.write_text(yaml.safe_dump(merged, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


def config_with(tmp_path: Path, patches: Mapping[str, Any] | None = None) -> Config:
    """The shipped config with `patches` applied (see config_dir_with), loaded and validated."""
    return load_config(config_dir_with(tmp_path, patches))


def cog_classes():
    """Every Cog class defined in cogs/ (modules and packages; helper modules starting with _ skipped
    at the top level)."""
    import cogs

    for info in pkgutil.iter_modules(cogs.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"cogs.{info.name}")
        modules = [module]
        if hasattr(module, "__path__"):
            modules += [importlib.import_module(f"cogs.{info.name}.{m.name}")
                        for m in pkgutil.iter_modules(module.__path__)]
        for mod in modules:
            for _, obj in inspect.getmembers(mod, inspect.isclass):
                if issubclass(obj, commands.Cog) and obj.__module__ == mod.__name__:
                    yield obj


def count_sqlite_steps(monkeypatch) -> list[int]:
    """SQLite VM steps on the read connections from here on (`steps[0]`): a read whose work does not grow
    with history keeps the same count when the history is ten times longer."""
    from bot.db import connection

    steps = [0]

    def counting(read):
        def run(conn, sql, params):
            conn.set_progress_handler(lambda: steps.__setitem__(0, steps[0] + 1) or 0, 1)
            try:
                return read(conn, sql, params)
            finally:
                conn.set_progress_handler(None, 1)
        return run

    monkeypatch.setattr(connection, "_read_all", counting(connection._read_all))
    monkeypatch.setattr(connection, "_read_one", counting(connection._read_one))
    return steps
