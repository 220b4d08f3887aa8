"""Turn the YAML folder into one immutable `Config`, or a list of file:line: field: problem lines."""
from __future__ import annotations

import difflib
import logging
import os
import shutil
import types
import typing
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable

from pydantic import BaseModel, ValidationError

from bot.errors import ConfigError

from .community import CommunityFile
from .content import ContentFile
from .drops import DropsFile
from .faq import FaqFile
from .participation import ParticipationFile
from .prompts import PromptsFile
from .quizzes import QuizBank
from .registry import ALL_FILES, FILES, FileSpec
from .schedules import SchedulesFile
from .yamlsrc import Loc, Source, YamlSyntaxError, load_source

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Config:
    """Everything a brand team configured: one typed field per file of the registry (a file left
    out of the folder is its model's defaults). Build with `load_config`; a test changes one file
    with `dataclasses.replace(config, drops=DropsFile(...))`."""

    dir: Path
    community: CommunityFile
    schedules: SchedulesFile = field(default_factory=SchedulesFile)
    prompts: PromptsFile = field(default_factory=PromptsFile)
    participation: ParticipationFile = field(default_factory=ParticipationFile)
    quizzes: dict[str, QuizBank] = field(default_factory=dict)  # quizzes/*.yaml: {file stem: bank}
    content: ContentFile = field(default_factory=ContentFile)
    drops: DropsFile = field(default_factory=DropsFile)
    faq: FaqFile = field(default_factory=FaqFile)
    sources: dict[str, Source] = field(default_factory=dict, repr=False, compare=False)
    # the moment `check` judges time against (one-offs in the past...); None when the bot loads it:
    # a time rule that has passed is then skipped at run time, never a reason to refuse the config
    now: datetime | None = field(default=None, repr=False, compare=False)

    @property
    def files(self) -> typing.Mapping[str, Any]:
        """Every file's model by its attribute, in registry order (for code that walks them all).
        Read-only: change a file with `dataclasses.replace(config, drops=...)`."""
        return types.MappingProxyType({spec.attr: getattr(self, spec.attr) for spec in FILES})

    @property
    def timezone(self):
        from zoneinfo import ZoneInfo

        return ZoneInfo(self.community.info.timezone)


MAX_PROBLEMS_PER_FILE = 20  # more are summed up in one "... and N more" line


def load_config(config_dir: str | Path, *, now: datetime | None = None) -> Config:
    """Load and validate every registered file. Raises ConfigError listing every problem found (at
    most MAX_PROBLEMS_PER_FILE per file) — for anything in the folder, never another exception.
    With `now` (an aware datetime: `check` passes the current time), time rules that can no longer
    fire (a one-off `at:` in the past, a campaign whose `end` has passed) are problems too."""
    config_dir = Path(config_dir)
    problems: list[str] = []
    files: dict[str, Any] = {}
    sources: dict[str, Source] = {}
    if not config_dir.is_dir():
        raise ConfigError([f"{config_dir}: config folder not found"])
    problems.extend(unknown_files(config_dir))
    for spec in FILES:
        paths = _paths_for(config_dir, spec, problems)
        if not paths:
            if spec.required:
                problems.append(f"{config_dir / spec.pattern}:1: file is required but missing")
                continue
            files[spec.attr] = {} if spec.many else spec.model()
            continue
        loaded: dict[str, Any] = {}
        for path in paths:
            model = _guarded(path, problems, lambda found: _load_one(path, spec, found, sources))
            if model is not None:
                loaded[path.stem] = model
        if spec.many:
            files[spec.attr] = loaded
        elif loaded:
            files[spec.attr] = next(iter(loaded.values()))
    if problems:
        raise ConfigError(problems)
    config = Config(dir=config_dir, **files, sources=sources, now=now)
    problems.extend(_cross_check(config))
    if problems:
        raise ConfigError(problems)
    return config


def _paths_for(config_dir: Path, spec: FileSpec, problems: list[str]) -> list[Path]:
    """The files of `spec` in the folder: `.yaml` or `.yml`, and also a dangling link or a folder in
    a file's place (reading it then reports the problem instead of treating the file as absent)."""
    if spec.many:
        folder_name, _, pattern = spec.pattern.rpartition("/")
        folder = config_dir / folder_name
        if not folder.is_dir():
            if os.path.lexists(folder):
                problems.append(f"{folder}:1: should be a folder of YAML files")
            return []
        suffix = Path(pattern).suffix
        try:
            candidates = [p for p in folder.iterdir() if not p.name.startswith(".") and p.suffix in _SUFFIXES[suffix]]
        except OSError as exc:  # no permission to list it
            problems.append(f"{folder}:1: cannot be read: {exc.strerror or exc}")
            return []
    else:
        name = Path(spec.pattern)
        candidates = [config_dir / name.with_suffix(s) for s in _SUFFIXES[name.suffix]
                      if os.path.lexists(config_dir / name.with_suffix(s))]
    by_stem: dict[str, Path] = {}
    for path in sorted(candidates):
        if path.stem in by_stem:
            problems.append(f"{path}:1: both {by_stem[path.stem].name} and {path.name} exist: keep one of them")
            continue
        by_stem[path.stem] = path
    return list(by_stem.values())


_SUFFIXES = {".yaml": (".yaml", ".yml")}


def unknown_files(config_dir: Path) -> list[str]:
    """YAML files (and folders of them) at the top of the config folder that Kizuna does not read:
    a misspelt name would otherwise silently drop everything in it."""
    known_files = {Path(spec.pattern).stem: spec.pattern for spec in ALL_FILES if not spec.many}
    known_folders = {spec.pattern.split("/")[0] for spec in ALL_FILES if spec.many}
    names = sorted(f"{stem}.yaml" for stem in known_files) + sorted(f"{f}/" for f in known_folders)
    problems: list[str] = []
    try:
        entries = sorted(config_dir.iterdir())
    except OSError as exc:
        return [f"{config_dir}: cannot be read: {exc.strerror or exc}"]
    for path in entries:
        if path.name.startswith("."):
            continue
        if path.suffix in (".yaml", ".yml") and path.stem not in known_files and not path.is_dir():
            hint = difflib.get_close_matches(f"{path.stem}.yaml", names, n=1, cutoff=0.6)
        elif path.is_dir() and path.name not in known_folders:
            # only a folder that looks like a misspelt one (quiz/ for quizzes/): others may be anything
            # (codes/, a last-good-config/ kept beside a database set inside this folder...)
            hint = difflib.get_close_matches(f"{path.name}/", [f"{f}/" for f in known_folders], n=1, cutoff=0.6)
            if not hint:
                continue
        else:
            continue
        mean = f"did you mean {hint[0]}? " if hint else ""
        problems.append(f"{path}:1: Kizuna does not read {path.name}: {mean}(the files it reads: {', '.join(names)})")
    return problems


def _guarded(path: Path, problems: list[str], work):
    """Run `work(found)` collecting its problems into `found`; cap them per file, and turn an
    unexpected exception (a bug in a validator, a file the checks did not foresee) into a problem
    line instead of a traceback: a config file must never stop the bot or the CLI."""
    found: list[str] = []
    try:
        result = work(found)
    except Exception as exc:  # noqa: BLE001 - reported with the file, logged with its traceback
        log.exception("unexpected error while reading %s", path)
        found.append(f"{path}:1: could not be checked ({type(exc).__name__}: {exc}); please report this")
        result = None
    problems.extend(capped(found, path))
    return result


def capped(found: list[str], path: Path | str) -> list[str]:
    if len(found) <= MAX_PROBLEMS_PER_FILE:
        return found
    return found[:MAX_PROBLEMS_PER_FILE] + [
        f"{path}: ... and {len(found) - MAX_PROBLEMS_PER_FILE:,} more problem(s) in this file (fix these first)"]


def save_last_good(config: Config, snapshot_dir: str | Path) -> None:
    """Keep a copy of a config that loaded cleanly, so a later broken edit cannot stop the bot.
    Only regular files are copied (not a database, a pipe or a dangling link that happens to sit in
    the folder); failing to save is logged, never raised: the bot runs on regardless."""
    snapshot_dir = Path(snapshot_dir)
    staging = snapshot_dir.with_name(snapshot_dir.name + ".new")
    try:
        shutil.rmtree(staging, ignore_errors=True)
        skip = {snapshot_dir.resolve(), staging.resolve()}  # a database kept inside the config folder
        for folder, dirs, names in os.walk(config.dir):
            dirs[:] = [d for d in dirs if d != "__pycache__" and not d.startswith(".")
                       and (Path(folder) / d).resolve() not in skip]
            target = staging / Path(folder).relative_to(config.dir)
            target.mkdir(parents=True, exist_ok=True)
            for name in names:
                source = Path(folder) / name
                if source.suffix == ".db" or ".db-" in name or not source.is_file():
                    continue
                shutil.copyfile(source, target / name)
        shutil.rmtree(snapshot_dir, ignore_errors=True)
        staging.rename(snapshot_dir)
    except OSError as exc:
        log.warning("could not save the last good config in %s: %s", snapshot_dir, exc)


def load_config_or_last_good(config_dir: str | Path, snapshot_dir: str | Path, *,
                             also: Callable[[Config], list[str]] | None = None) -> tuple[Config, list[str]]:
    """The config, or — when it is broken — the last good copy, with the problems that made us fall
    back. `also(config)` lists further problems that make a config that loads count as broken (the
    dry run of its messages, for the bot). Raises ConfigError only when there is no good copy either."""
    try:
        config = load_config(config_dir)
        problems = also(config) if also is not None else []
        if not problems:
            return config, []
        raise ConfigError(problems)
    except ConfigError as exc:
        if not Path(snapshot_dir).is_dir():
            raise
        problems = exc.problems
    try:
        config = load_config(snapshot_dir)
    except ConfigError as exc:
        raise ConfigError([*problems, f"{snapshot_dir}: the last good config does not load either "
                                      f"({len(exc.problems)} problem(s), first: {exc.problems[0]})"]) from None
    # keep reading (and reloading) the folder the brand team edits, not the snapshot
    return replace(config, dir=Path(config_dir)), problems


def _load_one(path: Path, spec: FileSpec, problems: list[str], sources: dict[str, Source]):
    try:
        source = load_source(path)
    except YamlSyntaxError as exc:
        problems.append(str(exc))
        return None
    key = f"{spec.attr}:{path.stem}" if spec.many else spec.attr
    sources[key] = source
    data = source.data if source.data is not None else {}
    if not isinstance(data, dict):
        problems.append(f"{path}:1: the file must be a mapping of keys (got {type(data).__name__})")
        return None
    try:
        return spec.model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        for err in errors[:MAX_PROBLEMS_PER_FILE]:
            problems.append(format_error(path, source, spec.model, err))
        problems.extend([""] * (len(errors) - MAX_PROBLEMS_PER_FILE))  # counted, not worth formatting
        return None


def _cross_check(config: Config) -> Iterable[str]:
    """Cross-file checks, in registry order. Other files' checks lean on community.yaml's keys, so
    they only run once community.yaml is consistent (a broken tier key would otherwise cascade)."""
    first = _checked_file(config, FILES[0])
    if first:
        yield from first
        return
    for spec in FILES[1:]:
        yield from _checked_file(config, spec)


def _checked_file(config: Config, spec: FileSpec) -> list[str]:
    problems: list[str] = []
    _guarded(config.dir / spec.pattern, problems, lambda found: found.extend(_check_file(config, spec)))
    return problems


def _check_file(config: Config, spec: FileSpec) -> Iterable[str]:
    value = getattr(config, spec.attr)
    items = value.items() if spec.many else [(None, value)]
    for stem, model in items:
        check = getattr(model, "references", None)
        if check is None:
            continue
        key = f"{spec.attr}:{stem}" if spec.many else spec.attr
        source = config.sources.get(key)
        path = source.path if source else config.dir / spec.pattern
        for loc, message in check(config):
            line = source.line_of(loc) if source else 1
            yield f"{path}:{line}: {dotted(loc)}: {message}"


def dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def format_error(path: Path, source: Source, model: type[BaseModel], err: dict) -> str:
    loc = tuple(p for p in err["loc"] if p != "[key]")
    # pydantic adds the member of a union it tried (e.g. 'str', 'function-after[...]'); drop them
    loc = _real_loc(loc, source)
    return f"{path}:{source.line_of(loc)}: {dotted(loc)}: {error_message(model, loc, err)}"


def error_message(model: type[BaseModel], loc: Loc, err: dict) -> str:
    """The problem of one pydantic error, in the words every config error uses (no file or field)."""
    kind = err["type"]
    value = err.get("input")
    if kind == "extra_forbidden":
        allowed = allowed_keys(model, loc[:-1])
        message = f"unknown key {loc[-1]!r}" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
    elif kind == "missing":
        message = "required field is missing"
    elif kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        expected = expected.replace("'", "").replace(" or ", ", ")
        message = f"{value!r} is not one of {expected}"
    elif kind in ("value_error", "assertion_error"):
        message = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    else:
        message = f"{err['msg']} (got {value!r})" if not isinstance(value, (dict, list)) else err["msg"]
    return message


def _real_loc(loc: Loc, source: Source) -> Loc:
    out: list = []
    for part in loc:
        candidate = tuple(out) + (part,)
        if candidate in source.lines or isinstance(part, int) or not _looks_internal(part):
            out.append(part)
    return tuple(out)


def _looks_internal(part: Any) -> bool:
    return isinstance(part, str) and ("[" in part or part in {"str", "int", "float", "bool", "list", "dict", "tuple"})


def allowed_keys(model: type[BaseModel], loc: Loc) -> list[str]:
    """The field names allowed at `loc` inside `model` (for 'unknown key' messages)."""
    tp: Any = model
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            info = _fields_by_key(tp).get(str(part))
            if info is None:
                return []
            tp = info.annotation
        else:
            args = typing.get_args(tp)
            origin = typing.get_origin(tp)
            if origin in (dict, typing.Mapping) and len(args) == 2:
                tp = args[1]
            elif origin in (tuple, list) and args:
                tp = args[0]
            else:
                return []
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return list(_fields_by_key(tp))
    return []


def _fields_by_key(model: type[BaseModel]) -> dict[str, Any]:
    """A model's fields by the key written in YAML (its alias, when it has one)."""
    return {info.alias or name: info for name, info in model.model_fields.items()}


def _unwrap(tp: Any) -> Any:
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            models = [a for a in typing.get_args(tp) if a is not type(None)]
            tp = models[0] if models else tp
            if len(models) <= 1:
                continue
            return tp
        else:
            return tp
