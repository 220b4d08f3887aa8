"""`python -m bot import trivia FILE [--config DIR]`: convert a Red-DiscordBot trivia list into
quizzes/<name>.yaml (see bot/config/red_trivia.py), say what could not be converted, and check the result
the way `check` does. Nothing is written when the bank would not load."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "import"
HELP = ("Convert content from other bots: `import trivia FILE [--name NAME] [--as KEY] [--force]` turns a "
        "Red-DiscordBot trivia list into quizzes/<KEY>.yaml.")


def add_arguments(parser) -> None:
    kinds = parser.add_subparsers(dest="kind", metavar="kind", required=True)
    trivia = kinds.add_parser("trivia", help="a Red-DiscordBot trivia list (YAML: `question: [answers]`)")
    trivia.add_argument("file", help="the Red trivia list (.yaml)")
    # SUPPRESS: a --config given before `trivia` (import --config DIR trivia FILE) is not overwritten
    trivia.add_argument("--config", default=argparse.SUPPRESS, help="the config folder (default: config)")
    trivia.add_argument("--as", dest="key", default=None,
                        help="the bank's key, quizzes/<KEY>.yaml (default: from the file name)")
    trivia.add_argument("--name", default=None, help="the bank's name as members see it (default: from the file name)")
    trivia.add_argument("--force", action="store_true", help="replace quizzes/<KEY>.yaml if it exists")


def run(args) -> int:
    import yaml

    from bot.config.red_trivia import bank_key, convert
    from bot.config.yamlsrc import YamlSyntaxError, load_source

    source_path = Path(args.file)
    if not source_path.is_file():
        print(f"{source_path}: no such file", file=sys.stderr)
        return 1
    config_dir = Path(args.config)
    if not (config_dir / "community.yaml").is_file():
        print(f"{config_dir}: not a config folder (no community.yaml)", file=sys.stderr)
        return 1
    try:
        source = load_source(source_path)
    except YamlSyntaxError as exc:
        print(exc, file=sys.stderr)
        return 1
    key = bank_key(args.key or source_path.stem)
    target = config_dir / "quizzes" / f"{key}.yaml"
    if target.exists() and not args.force:
        print(f"{target} exists already: choose another key with --as, or replace it with --force", file=sys.stderr)
        return 1
    conversion = convert(source, name=args.name or source_path.stem.replace("_", " ").replace("-", " ").title())
    for problem in conversion.problems:
        print(f"{source_path}:{problem.removeprefix('line ')}", file=sys.stderr)
    if not conversion.converted:
        print(f"nothing to convert in {source_path}: no question could be carried over", file=sys.stderr)
        return 1
    header = (f"# Converted from the Red-DiscordBot trivia list {source_path.name} by `python -m bot import trivia`.\n"
              "# Free-text questions: members type the answer; any of `answers` counts.\n")
    previous = target.read_bytes() if target.exists() else None
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(header + yaml.safe_dump(conversion.bank, allow_unicode=True, sort_keys=False, width=100),
                      encoding="utf-8")
    problems = _check(config_dir, target)
    if problems:
        for line in problems:
            print(line, file=sys.stderr)
        if previous is None:
            target.unlink()
        else:
            target.write_bytes(previous)
        print(f"{target} would not load: nothing written", file=sys.stderr)
        return 1
    left = conversion.questions_in - conversion.converted
    print(f"wrote {target}: {conversion.converted} of {conversion.questions_in} questions"
          + (f" ({left} left out, listed above)" if left else "")
          + (f"; {len(conversion.problems)} note(s) above" if conversion.problems and not left else ""))
    return 0


def _check(config_dir: Path, written: Path) -> list[str]:
    """What `check` would say about the new bank: the config loads, and Discord would take its messages."""
    from bot.config import load_config
    from bot.dryrun import dry_run
    from bot.errors import ConfigError

    try:
        config = load_config(config_dir)
    except ConfigError as exc:
        mine = [p for p in exc.problems if written.name in p]
        return mine or []  # other files' problems are not this command's business (check reports them)
    return [str(p) for p in dry_run(config) if Path(p.path).name == written.name]
