"""A broken config FILE — not a wrong field, but a file that is not UTF-8 text, a folder or a dangling
link in its place, nesting 600 deep, an alias bomb, an oversized file, duplicate keys, a misnamed
file — is a clear `file:line:` problem from `check`, quickly and never a traceback; and it never stops
the bot: a restart runs on the last good config and a reload keeps the current one.

Each kind is one entry of BROKEN: (file, line, what the message says, how to break the file)."""
from __future__ import annotations

import gzip
import os
import random
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from bot.__main__ import main
from bot.app import App
from bot.cli.run import load_or_fall_back, load_with_fallback
from bot.clock import FakeClock
from bot.config import load_config
from bot.config.loader import MAX_PROBLEMS_PER_FILE
from bot.config.yamlsrc import MAX_BYTES, YamlSyntaxError, load_source
from tests.helpers import CONFIG, config_dir_with


def shipped(name: str) -> str:
    return (CONFIG / name).read_text(encoding="utf-8")


def nested(depth: int, open_: str = "[", close: str = "]", inner: str = "") -> str:
    if open_ == "{":
        return "{a: " * depth + "1" + "}" * depth
    return open_ * depth + inner + close * depth


def billion_laughs(kind: str = "list") -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n in range(1, 9):
        prev, name = chr(ord("a") + n - 1), chr(ord("a") + n)
        refs = ", ".join(f"*{prev}" for _ in range(9))
        lines.append(f"{name}: &{name} [{refs}]" if kind == "list"
                     else f"{name}: &{name} {{" + ", ".join(f"k{i}: *{prev}" for i in range(9)) + "}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Broken:
    file: str  # relative to the config folder, as named in the problem line
    line: int | None  # the line the problem names (None: any)
    says: str  # a regex the problem line's text matches
    apply: Callable[[Path], None]

    def expected(self, folder: Path) -> re.Pattern:
        line = str(self.line) if self.line is not None else r"\d+"
        return re.compile(rf"^{re.escape(str(folder / self.file))}:{line}: .*{self.says}", re.M)


def write(name: str, data: bytes | Callable[[], bytes]) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        (folder / name).write_bytes(data() if callable(data) else data)
    return apply


def edit(name: str, old: str, new: str, encoding: str = "utf-8") -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        text = shipped(name)
        assert old in text, old
        (folder / name).write_bytes(text.replace(old, new, 1).encode(encoding, "replace"))
    return apply


def prepend(name: str, extra: str, encoding: str = "utf-8") -> Callable[[Path], None]:
    return write(name, lambda: (extra + shipped(name)).encode(encoding, "replace"))


def replace_with_folder(name: str) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        (folder / name).unlink(missing_ok=True)
        (folder / name).mkdir()
        (folder / name / "inside.yaml").write_text("a: 1\n", encoding="utf-8")
    return apply


def dangling_link(name: str, target: str = "gone.yaml") -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        (folder / name).unlink(missing_ok=True)
        (folder / name).symlink_to(folder / target)
    return apply


def fifo(name: str) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        (folder / name).unlink()
        os.mkfifo(folder / name)  # reading it would block for ever
    return apply


def rename(old: str, new: str) -> Callable[[Path], None]:
    return lambda folder: (folder / old).rename(folder / new)


def copy(old: str, new: str) -> Callable[[Path], None]:
    return lambda folder: shutil.copyfile(folder / old, folder / new)


def random_bytes(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


NOT_UTF8 = r"the file is not UTF-8: byte 0x[0-9a-f]{2} at column \d+ cannot be read"
SAVE = r"save it as UTF-8"
BINARY = r"binary data"
DEEP = r"nested more than 50 levels deep"
SYNTAX = r"YAML syntax error"

BROKEN: dict[str, Broken] = {
    # --- encodings: a clear line saying which, and how to save as UTF-8 -------------------------------
    "shift-jis name": Broken("community.yaml", 4, rf"{NOT_UTF8} \(it looks like Shift-JIS\); {SAVE}",
                             edit("community.yaml", "name: Sakura Tea House", "name: 桜ティーハウス", "cp932")),
    "shift-jis comment": Broken("schedules.yaml", 1, rf"{NOT_UTF8} \(it looks like Shift-JIS\)",
                                prepend("schedules.yaml", "# 毎日のお知らせです\n", "cp932")),
    "shift-jis quiz": Broken("quizzes/tea.yaml", 3, r"it looks like Shift-JIS",
                             edit("quizzes/tea.yaml", "name: Tea basics", "name: お茶のきほん", "cp932")),
    "euc-jp": Broken("prompts.yaml", 1, rf"{NOT_UTF8} \(it looks like (EUC-JP|Shift-JIS)\)",
                     prepend("prompts.yaml", "# きょうのおだい\n", "euc_jp")),
    "latin-1": Broken("community.yaml", 5, rf"{NOT_UTF8} \(it looks like Latin-1 / Windows-1252\); {SAVE}",
                      edit("community.yaml", "A cosy place", "A cosy café", "latin-1")),
    "windows-1252 quotes": Broken("drops.yaml", None, r"it looks like Latin-1 / Windows-1252",
                                  edit("drops.yaml", "Hanami (illustrator)", "“Hanami” (illustrator)", "cp1252")),
    "latin-1 on the last line": Broken("quizzes/tea.yaml", None, r"it looks like Latin-1",
                                       write("quizzes/tea.yaml", lambda: (shipped("quizzes/tea.yaml")
                                                                          + "# fin: thé\n").encode("latin-1",
                                                                                                   "replace"))),
    "utf-16 le with bom": Broken("community.yaml", 1, rf"saved as UTF-16, not UTF-8: {SAVE}",
                                 write("community.yaml", lambda: shipped("community.yaml").encode("utf-16"))),
    "utf-16 be with bom": Broken("schedules.yaml", 1, r"saved as UTF-16",
                                 write("schedules.yaml", lambda: b"\xfe\xff" + shipped("schedules.yaml")
                                       .encode("utf-16-be"))),
    "utf-16 without bom": Broken("prompts.yaml", 1, r"saved as UTF-16",
                                 write("prompts.yaml", lambda: shipped("prompts.yaml").encode("utf-16-le"))),
    "utf-32": Broken("drops.yaml", 1, r"saved as UTF-32",
                     write("drops.yaml", lambda: shipped("drops.yaml").encode("utf-32"))),
    # --- not text at all ----------------------------------------------------------------------------
    "random bytes": Broken("community.yaml", None, BINARY, write("community.yaml", random_bytes(4096, 1))),
    "a png": Broken("schedules.yaml", None, BINARY,
                    write("schedules.yaml", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + random_bytes(2000, 2))),
    "a nul byte": Broken("community.yaml", 4, r"binary data \(a NUL byte\)",
                         edit("community.yaml", "  name: Sakura", "  name: Sak\x00ura")),
    "gzip": Broken("content.yaml", 1, BINARY, write("content.yaml", lambda: gzip.compress(shipped("content.yaml")
                                                                                          .encode()))),
    "control characters": Broken("participation.yaml", 1, BINARY,
                                 write("participation.yaml", bytes(range(1, 9)) * 300 + b"\xff\xfe\xfd")),
    # --- the wrong kind of thing in a file's place -------------------------------------------------------
    "schedules.yaml is a folder": Broken("schedules.yaml", 1, r"is a folder, not a YAML file",
                                         replace_with_folder("schedules.yaml")),
    "community.yaml is a folder": Broken("community.yaml", 1, r"is a folder", replace_with_folder("community.yaml")),
    "a quiz is a folder": Broken("quizzes/x.yaml", 1, r"is a folder", replace_with_folder("quizzes/x.yaml")),
    "dangling schedules link": Broken("schedules.yaml", 1, r"is a link to .*gone.yaml, which does not exist",
                                      dangling_link("schedules.yaml")),
    "dangling community link": Broken("community.yaml", 1, r"which does not exist", dangling_link("community.yaml")),
    "dangling quiz link": Broken("quizzes/tea.yaml", 1, r"which does not exist", dangling_link("quizzes/tea.yaml")),
    "a link to itself": Broken("drops.yaml", 1, r"cannot be read", dangling_link("drops.yaml", "drops.yaml")),
    "a named pipe": Broken("schedules.yaml", 1, r"is not a regular file", fifo("schedules.yaml")),
    "quizzes is a file": Broken("quizzes", 1, r"should be a folder of YAML files",
                                lambda f: (shutil.rmtree(f / "quizzes"), (f / "quizzes").write_text("x\n"))),
    # --- size -----------------------------------------------------------------------------------------
    "2 MiB of comments": Broken("schedules.yaml", 1, r"over the 1 MiB limit for a config file \(2,\d{3},\d{3} bytes\)",
                                prepend("schedules.yaml", "# padding padding padding\n" * 80_000)),
    "one byte over": Broken("community.yaml", 1, r"over the 1 MiB limit",
                            write("community.yaml", lambda: shipped("community.yaml").encode().ljust(MAX_BYTES + 1,
                                                                                                      b"\n"))),
    # --- nesting --------------------------------------------------------------------------------------
    "lists 600 deep": Broken("schedules.yaml", 1, DEEP, prepend("schedules.yaml", f"junk: {nested(600)}\n")),
    "maps 600 deep": Broken("schedules.yaml", 1, DEEP, prepend("schedules.yaml", f"junk: {nested(600, '{')}\n")),
    "block maps 600 deep": Broken("prompts.yaml", None, DEEP,
                                  write("prompts.yaml", "".join("  " * i + "k:\n" for i in range(600)).encode())),
    "lists 60 deep": Broken("community.yaml", None, DEEP, prepend("community.yaml", f"junk: {nested(60)}\n")),
    "lists 5000 deep": Broken("schedules.yaml", 1, r"maximum nesting depth",
                              prepend("schedules.yaml", f"junk: {nested(5000)}\n")),
    "deep through aliases": Broken("content.yaml", None, DEEP,
                                   prepend("content.yaml", f"x: &x {nested(30)}\ny: {nested(30, inner='*x')}\n")),
    # --- aliases ---------------------------------------------------------------------------------------
    "billion laughs": Broken("schedules.yaml", None, r"aliases \(\*name\) expand this file to [\d,]+ values",
                             prepend("schedules.yaml", billion_laughs())),
    "billion laughs of maps": Broken("drops.yaml", None, r"expand this file to",
                                     prepend("drops.yaml", billion_laughs("map"))),
    "a bomb in a quiz": Broken("quizzes/tea.yaml", None, r"expand this file to",
                               prepend("quizzes/tea.yaml", billion_laughs())),
    "an alias inside itself": Broken("community.yaml", 1, r"alias \(\*name\) is used inside the value it names",
                                     prepend("community.yaml", "loop: &l [1, *l]\n")),
    # --- duplicate keys: both lines named -------------------------------------------------------------
    "limit twice": Broken("drops.yaml", 28, r"duplicate key 'limit': it is already set on line 27",
                          edit("drops.yaml", "    limit: 1\n", "    limit: 1\n    limit: 3\n")),
    "a top-level section twice": Broken("community.yaml", None,
                                        r"duplicate key 'membership': it is already set on line 9",
                                        lambda f: (f / "community.yaml").write_text(
                                            shipped("community.yaml") + "membership:\n  mode: open\n")),
    "twice in a flow map": Broken("drops.yaml", 25, r"duplicate key 'blossom': it is already set earlier on this line",
                                  edit("drops.yaml", "early: {blossom: 24h, leaf: 6h}",
                                       "early: {blossom: 24h, blossom: 6h}")),
    "twice in a quiz": Broken("quizzes/tea.yaml", 4, r"duplicate key 'name': it is already set on line 3",
                              edit("quizzes/tea.yaml", "name: Tea basics\n", "name: Tea basics\nname: Tea\n")),
    "twice beside an alias": Broken("community.yaml", 2, r"duplicate key 'junk'",
                                    prepend("community.yaml", "junk: &j [1]\njunk: *j\n")),
    "a number key twice": Broken("prompts.yaml", 2, r"duplicate key 1", prepend("prompts.yaml", "1: a\n0x1: b\n")),
    # --- values YAML itself cannot read ---------------------------------------------------------------------
    "february 30": Broken("drops.yaml", 24, r"'2026-02-30 20:00:00' is not a valid timestamp .*quote it",
                          edit("drops.yaml", 'opens: "2026-12-10 20:00"', "opens: 2026-02-30 20:00:00")),
    "an int of 5,000 digits": Broken("drops.yaml", 22, r"is not a valid int",
                                     edit("drops.yaml", "stock: 50", "stock: " + "9" * 5000)),
    "a python tag": Broken("community.yaml", 1, SYNTAX,
                           prepend("community.yaml", "x: !!python/object/apply:os.system [echo hi]\n")),
    "a tab": Broken("community.yaml", None, SYNTAX, edit("community.yaml", "  timezone:", "\ttimezone:")),
    "an unclosed bracket": Broken("schedules.yaml", None, SYNTAX, prepend("schedules.yaml", "x: [1, 2\n")),
    # --- the wrong shape, misnamed or doubled files ----------------------------------------------------------
    "a list file": Broken("prompts.yaml", 1, r"must be a mapping of keys \(got list\)",
                          write("prompts.yaml", b"- a\n- b\n")),
    "a text file": Broken("drops.yaml", 1, r"must be a mapping of keys \(got str\)", write("drops.yaml", b"hello\n")),
    "schedule.yaml": Broken("schedule.yaml", 1, r"Kizuna does not read schedule.yaml: did you mean schedules.yaml\?",
                            rename("schedules.yaml", "schedule.yaml")),
    "comunity.yml beside community.yaml": Broken("comunity.yml", 1, r"did you mean community.yaml\?",
                                                 copy("community.yaml", "comunity.yml")),
    "a quiz/ folder": Broken("quiz", 1, r"Kizuna does not read quiz: did you mean quizzes/\?",
                             rename("quizzes", "quiz")),
    "schedules.yaml and schedules.yml": Broken("schedules.yml", 1, r"both schedules.yaml and schedules.yml exist",
                                               copy("schedules.yaml", "schedules.yml")),
    "tea.yaml and tea.yml": Broken("quizzes/tea.yml", 1, r"both tea.yaml and tea.yml exist",
                                   copy("quizzes/tea.yaml", "quizzes/tea.yml")),
}

# one of each family, for the heavier whole-process paths (playground)
FAMILIES = ["shift-jis name", "utf-16 le with bom", "random bytes", "schedules.yaml is a folder",
            "dangling community link", "lists 600 deep", "billion laughs", "limit twice", "schedule.yaml",
            "2 MiB of comments"]


@pytest.fixture(params=list(BROKEN), ids=list(BROKEN))
def broken(request):
    return request.param, BROKEN[request.param]


@pytest.fixture
def quiet_discord_logger_restored():
    """The playground CLI quiets the "discord" logger for its transcript; later tests (strict harness
    mode) need discord's error logs again."""
    import logging

    logger = logging.getLogger("discord")
    level = logger.level
    yield
    logger.setLevel(level)


def break_folder(tmp_path: Path, case: Broken) -> Path:
    folder = config_dir_with(tmp_path)
    case.apply(folder)
    return folder


def problem_lines(err: str, folder: Path) -> list[str]:
    return [line for line in err.splitlines() if line.strip() and not line.startswith(f"{len(err)}")]


def test_check_names_file_and_line_and_never_shows_a_traceback(broken, tmp_path, capsys):
    name, case = broken
    folder = break_folder(tmp_path, case)
    assert main(["check", "--config", str(folder)]) == 1
    out = capsys.readouterr()
    assert "Traceback" not in out.err and "config OK" not in out.out
    lines = out.err.splitlines()
    assert re.fullmatch(rf"\d+ problem\(s\) in {re.escape(str(folder))}/", lines[-1])
    for line in lines[:-1]:  # every problem names a file in the folder, and a line
        assert re.match(rf"^{re.escape(str(folder))}/\S+:\d+: ", line), line
    assert case.expected(folder).search(out.err), out.err


def test_a_restart_runs_on_the_last_good_config(broken, tmp_path, capsys):
    name, case = broken
    folder = config_dir_with(tmp_path)
    db = tmp_path / "data" / "kizuna.db"
    assert load_with_fallback(str(folder), str(db)) is not None  # a clean start saves the last good copy
    case.apply(folder)
    config, problems = load_or_fall_back(str(folder), str(db))
    assert config is not None and config.community.info.name == "Sakura Tea House"
    assert config.dir == folder and "schedules" in config.files
    assert any(case.expected(folder).search(p) for p in problems), problems
    err = capsys.readouterr().err
    assert "running on the last good config" in err and "Traceback" not in err


async def test_a_reload_keeps_the_current_config_and_lists_the_problems(broken, tmp_path):
    name, case = broken
    folder = config_dir_with(tmp_path)
    app = await App.open(load_config(folder), db_path=tmp_path / "k.db", clock=FakeClock(), real_scheduler=False)
    try:
        before = app.config
        case.apply(folder)
        problems = await app.reload_config()
        assert app.config is before
        assert any(case.expected(folder).search(p) for p in problems), problems
    finally:
        await app.close()


@pytest.mark.parametrize("name", FAMILIES)
def test_the_playground_starts_on_the_last_good_config(name, tmp_path, capsys, quiet_discord_logger_restored):
    folder = config_dir_with(tmp_path)
    db = tmp_path / "data" / "kizuna.db"
    assert load_with_fallback(str(folder), str(db)) is not None
    BROKEN[name].apply(folder)
    script = tmp_path / "s.txt"
    script.write_text(":read mod-log\n", encoding="utf-8")
    assert main(["playground", "--config", str(folder), "--db", str(db), "--script", str(script)]) == 0
    out = capsys.readouterr()
    assert "running on the last good config" in out.err and "Traceback" not in out.err
    assert "started on the last good config" in out.out  # the mod-log was told


def test_the_playground_with_nothing_to_fall_back_on_exits_1(tmp_path, capsys, quiet_discord_logger_restored):
    folder = break_folder(tmp_path, BROKEN["latin-1"])
    assert main(["playground", "--config", str(folder), "--db", str(tmp_path / "none" / "k.db")]) == 1
    err = capsys.readouterr().err
    assert "no last good config" in err and "Traceback" not in err


async def test_the_mod_log_hears_why_the_bot_runs_on_the_last_good_config(harness):
    from bot.cli._common import note_fallback

    g = await harness()
    await note_fallback(g.app, ["config/schedule.yaml:1: Kizuna does not read schedule.yaml"])
    await g.settle()
    note = g.channel("mod-log").messages[-1].content
    assert "started on the last good config" in note and "schedule.yaml:1:" in note


# --- what still loads --------------------------------------------------------------------------------


def test_a_utf8_bom_is_fine(tmp_path):
    folder = config_dir_with(tmp_path)
    path = folder / "community.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert load_config(folder).community.info.name == "Sakura Tea House"


def test_yml_files_are_read_like_yaml_files(tmp_path):
    folder = config_dir_with(tmp_path)
    (folder / "quizzes" / "tea.yaml").rename(folder / "quizzes" / "tea.yml")
    (folder / "schedules.yaml").rename(folder / "schedules.yml")
    config = load_config(folder)
    assert "tea" in config.quizzes and config.quizzes["tea"] == load_config(CONFIG).quizzes["tea"]
    assert config.schedules.schedules
    assert config.schedules == load_config(CONFIG).schedules


def test_anchors_and_merge_keys_still_work(tmp_path):
    path = tmp_path / "f.yaml"
    path.write_text("base: &b {x: 1, y: 2}\nchild:\n  <<: *b\n  y: 3\nlist: &l [1, 2]\nagain: *l\n")
    assert load_source(path).data == {"base": {"x": 1, "y": 2}, "child": {"x": 1, "y": 3}, "list": [1, 2],
                                      "again": [1, 2]}


def test_a_file_of_a_hundred_thousand_unknown_keys_prints_a_capped_list(tmp_path, capsys):
    folder = config_dir_with(tmp_path)
    junk = "".join(f"junk{i}: {i}\n" for i in range(40_000))  # ~0.5 MiB
    (folder / "prompts.yaml").write_text(shipped("prompts.yaml") + junk, encoding="utf-8")
    assert main(["check", "--config", str(folder)]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == MAX_PROBLEMS_PER_FILE + 2
    assert re.fullmatch(rf"{re.escape(str(folder / 'prompts.yaml'))}: \.\.\. and 39,980 more problem\(s\) in this "
                        r"file \(fix these first\)", lines[-2])


def test_an_unexpected_error_in_a_check_is_a_problem_line_not_a_traceback(tmp_path, monkeypatch, capsys):
    from bot.config.community import CommunityFile

    def boom(self, config):
        raise RuntimeError("a bug in a check")
        yield  # pragma: no cover

    monkeypatch.setattr(CommunityFile, "references", boom, raising=False)
    assert main(["check", "--config", str(config_dir_with(tmp_path))]) == 1
    err = capsys.readouterr().err
    assert "community.yaml:1: could not be checked (RuntimeError: a bug in a check); please report this" in err


def test_the_last_good_copy_skips_what_is_not_a_regular_file(tmp_path):
    from bot.config.loader import save_last_good

    folder = config_dir_with(tmp_path)
    config = load_config(folder)
    os.mkfifo(folder / "codes" / "pipe.csv")  # copying it would block for ever
    (folder / "codes" / "gone.csv").symlink_to(folder / "nowhere.csv")
    save_last_good(config, tmp_path / "last-good-config")
    assert (tmp_path / "last-good-config" / "community.yaml").is_file()
    assert not (tmp_path / "last-good-config" / "codes" / "pipe.csv").exists()
    assert load_config(tmp_path / "last-good-config").community == config.community


def test_yaml_errors_are_yamlsyntaxerror(tmp_path):
    path = tmp_path / "f.yaml"
    path.write_bytes("a: é\n".encode("latin-1"))
    with pytest.raises(YamlSyntaxError, match=r"f.yaml:1: the file is not UTF-8"):
        load_source(path)


def test_run_itself_starts_the_bot_on_the_last_good_config(tmp_path, monkeypatch, capsys):
    """`python -m bot run` up to connecting: with a Latin-1 file it used to crash before the fallback."""
    import bot.cli.run as run_cli

    folder = config_dir_with(tmp_path)
    db = tmp_path / "data" / "kizuna.db"
    assert load_with_fallback(str(folder), str(db)) is not None
    BROKEN["latin-1"].apply(folder)
    started = {}

    def fake_loop(main):
        started["args"] = main.cr_frame.f_locals  # _run(config, token, db_path, problems), not awaited
        main.close()
        return 0

    monkeypatch.setenv("DISCORD_TOKEN", "x")
    monkeypatch.setattr(run_cli, "run_loop", fake_loop)
    monkeypatch.setattr(run_cli, "tune_process", lambda: None)
    monkeypatch.setattr(run_cli, "setup_logging", lambda: None)
    assert main(["run", "--config", str(folder), "--db", str(db)]) == 0
    args = started["args"]
    assert args["config"].community.info.purpose.startswith("A cosy place for fans")
    assert any(BROKEN["latin-1"].expected(folder).search(p) for p in args["problems"])
    assert "running on the last good config" in capsys.readouterr().err


def test_a_big_file_with_one_merge_key_is_not_an_alias_bomb(tmp_path):
    path = tmp_path / "f.yaml"
    items = "- 1\n" * 120_000  # 120,000 values spelled out, under 1 MiB
    path.write_text(f"base: &b {{x: 1}}\nchild:\n  <<: *b\nitems:\n{items}")
    assert len(load_source(path).data["items"]) == 120_000


@pytest.mark.parametrize("name", FAMILIES)
async def test_admin_reload_lists_the_file_problem_and_keeps_running(name, harness, tmp_path):
    folder = config_dir_with(tmp_path)
    g = await harness(config=load_config(folder))
    before = g.app.config
    BROKEN[name].apply(folder)
    reply = await g.slash("/admin reload", user="mod")
    assert reply.ephemeral and "Nothing changed" in reply.content and "Something went wrong" not in reply.content
    assert BROKEN[name].expected(folder).search(reply.content), reply.content
    assert g.app.config is before


@pytest.mark.parametrize("command", [["preview"], ["export", "feedback"], ["stats"]], ids=["preview", "export", "stats"])
@pytest.mark.parametrize("name", ["shift-jis name", "billion laughs", "dangling schedules link"])
def test_other_commands_report_a_broken_file_without_a_traceback(command, name, tmp_path, capsys):
    folder = break_folder(tmp_path, BROKEN[name])
    assert main([*command, "--config", str(folder)]) != 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and BROKEN[name].expected(folder).search(err), err


def test_a_database_kept_inside_the_config_folder_does_not_break_it(tmp_path):
    """Its last-good-config/ lands in the config folder: it is neither an unknown folder nor copied
    into itself."""
    folder = config_dir_with(tmp_path)
    db = folder / "kizuna.db"
    for _ in range(2):
        config, problems = load_or_fall_back(str(folder), str(db))
        assert config is not None and problems == []
    assert (folder / "kizuna.last-good-config" / "community.yaml").is_file()
    assert not (folder / "kizuna.last-good-config" / "kizuna.last-good-config").exists()
