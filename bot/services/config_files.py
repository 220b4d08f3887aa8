"""The config folder as files a moderator reads and edits (the dashboard's config page).

Checking a draft copies the folder to a temporary one with the draft in place and loads it with the
same loader `check` and reload use, so the problems are the ones they would report, at their lines.
Saving checks first; a draft with problems is never written. A draft that loads is written, then
`App.reload_config()` (which also dry-runs every message); if that refuses it, the old text is put back
and nothing changed. Every save is audited with a unified diff.
"""
from __future__ import annotations

import asyncio
import difflib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import load_config
from bot.config.registry import ALL_FILES
from bot.errors import ConfigError, UserError

if TYPE_CHECKING:
    from bot.app import App

PROBLEM = re.compile(r"^(?P<path>.+?):(?P<line>\d+): (?P<message>.*)$", re.S)
DIFF_LIMIT = 1800


@dataclass(frozen=True)
class FileProblem:
    file: str  # relative to the config folder ("community.yaml", "quizzes/tea.yaml"); "" for the folder
    line: int | None
    message: str


@dataclass(frozen=True)
class SaveResult:
    saved: bool
    problems: tuple[FileProblem, ...]
    diff: str = ""


def config_dir(app: "App") -> Path:
    return Path(app.config.dir)


def file_names(app: "App") -> list[str]:
    """The files of the folder Kizuna reads, in registry order."""
    root = config_dir(app)
    names: list[str] = []
    for spec in ALL_FILES:
        names += sorted(str(p.relative_to(root)) for p in root.glob(spec.pattern) if p.is_file())
    return names


def _path(app: "App", name: str) -> Path:
    if name not in file_names(app):
        raise UserError("web.unknown_file", file=name)
    return config_dir(app) / name


def schema(app: "App", name: str) -> dict:
    """The JSON Schema of file `name` (what `python -m bot schema` writes for editors)."""
    _path(app, name)
    for spec in ALL_FILES:
        if Path(name).match(spec.pattern):
            out = spec.model.model_json_schema()
            out["$schema"] = "https://json-schema.org/draft/2020-12/schema"
            return out
    raise UserError("web.unknown_file", file=name)


def read(app: "App", name: str) -> str:
    return _path(app, name).read_text(encoding="utf-8")


def parse_problems(lines: list[str], root: Path) -> list[FileProblem]:
    out = []
    for text in lines:
        m = PROBLEM.match(text)
        if m is None:
            out.append(FileProblem("", None, text))
            continue
        path = Path(m["path"])
        try:
            rel = str(path.relative_to(root)) if path.is_absolute() else str(path)
        except ValueError:
            rel = path.name
        out.append(FileProblem(rel, int(m["line"]), m["message"]))
    return out


def _load_with(app: "App", name: str | None, text: str | None) -> list[FileProblem]:
    with tempfile.TemporaryDirectory(prefix="kizuna-config-draft-") as tmp:
        root = Path(tmp) / "config"
        shutil.copytree(config_dir(app), root)
        if name is not None:
            (root / name).write_text(text or "", encoding="utf-8")
        try:
            load_config(root)
        except ConfigError as exc:
            return parse_problems(exc.problems, root)
    return []


async def check(app: "App", name: str | None = None, text: str | None = None) -> list[FileProblem]:
    """The loader's problems for the folder, with `text` in place of file `name` (None: as it is)."""
    if name is not None:
        _path(app, name)
    return await asyncio.to_thread(_load_with, app, name, text)


async def save(app: "App", name: str, text: str, *, actor_id: int) -> SaveResult:
    path = _path(app, name)
    old = path.read_text(encoding="utf-8")
    text = text.replace("\r\n", "\n")
    problems = await check(app, name, text)
    if problems:
        return SaveResult(False, tuple(problems))
    diff = "".join(difflib.unified_diff(old.splitlines(True), text.splitlines(True), f"a/{name}", f"b/{name}"))
    if not diff:
        return SaveResult(True, ())
    _write(path, text)
    reloaded = await app.reload_config()
    if reloaded:  # the dry run refused a message: put the old text back, nothing changed
        _write(path, old)
        return SaveResult(False, tuple(parse_problems(reloaded, config_dir(app))))
    detail = diff if len(diff) <= DIFF_LIMIT else diff[:DIFF_LIMIT] + "\n… (diff cut)"
    await app.audit.record(app.guild_id or 0, actor_id, "config.edit", target=name, detail=detail)
    return SaveResult(True, (), diff)


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.saving")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
