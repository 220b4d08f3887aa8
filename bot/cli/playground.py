"""`python -m bot playground`: the real bot in a fake server, in your terminal (no Discord needed)."""
from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path


HELP = "Try the bot offline: act as any member of a fake server in a terminal REPL (or run a --script)."


def add_arguments(parser) -> None:
    parser.add_argument("--db", help="SQLite file to use (default: a fresh temporary one)")
    parser.add_argument("--script", help="run the lines of FILE instead of a prompt and print the transcript")
    parser.add_argument("--files", help="folder for the attachments the bot sends, e.g. CSV exports "
                                        "(default: kizuna-playground-files in the system's temporary folder)")
    parser.add_argument("--as", dest="user", default="mod",
                        help="who you are at the start (default: mod; others: alice, bob, carol, vera)")
    parser.add_argument("--web", action="store_true",
                        help="also serve the dashboard (community.yaml web:) and print a one-time sign-in link")


def run(args) -> int:
    from .run import load_or_fall_back

    # a broken config falls back to the last good one, as `run` does (read, never written here)
    config, problems = load_or_fall_back(args.config, args.db, save=False)
    if config is None:
        return 1
    if args.script:
        try:
            lines = Path(args.script).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            print(f"cannot read the script: {exc}", file=sys.stderr)
            return 2
    else:
        lines = None
    with _quiet_logging():
        return asyncio.run(_play(config, args, lines, problems))


@contextmanager
def _quiet_logging():
    """The transcript is the output: only real problems are logged, and only while the playground runs
    (the process may go on: tests run it in-process, and a harness there must see discord's errors)."""
    root, discord_logger = logging.getLogger(), logging.getLogger("discord")
    saved = (root.level, list(root.handlers), discord_logger.level)
    logging.basicConfig(level=logging.ERROR, format="  [log] %(levelname)s %(name)s: %(message)s")
    discord_logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        added = [h for h in root.handlers if h not in saved[1]]
        for handler in added:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(saved[0])
        discord_logger.setLevel(saved[2])


async def _play(config, args, lines, problems=()) -> int:
    from bot.offline import Harness
    from bot.clock import FakeClock
    from bot.offline.playground import Playground, install_completion, session_start

    from ._common import note_fallback

    tmp = None
    db_path = args.db
    if not db_path:
        tmp = tempfile.TemporaryDirectory(prefix="kizuna-playground-")
        db_path = str(Path(tmp.name) / "playground.db")
    try:
        harness = await Harness.start(config=config, db_path=db_path, strict=False,
                                      clock=FakeClock(session_start(config)))
        pg = None
        try:
            await note_fallback(harness.app, list(problems))
            await harness.settle()  # posted to the mod-log before the first line
            pg = Playground(harness, user=args.user, files_dir=args.files)
            if args.user not in harness.world.names:
                print(f"unknown user {args.user!r} (known: {', '.join(harness.world.names)})", file=sys.stderr)
                return 2
            if getattr(args, "web", False):
                pg.web = await _serve_dashboard(harness)
                print(f"Dashboard: {pg.web.url}\nOne-time sign-in link for {args.user}: "
                      f"{pg.web.sign_in_link(args.user)}\n(:web NAME prints one for someone else)")
            if lines is not None:
                await pg.run_script(lines)
                return 0
            name = config.community.info.name
            print(f"Kizuna playground: {name}, offline. You are {pg.user}. :help for help, Tab completes, :quit.")
            install_completion(harness)
            while True:
                try:
                    # with the dashboard on, the prompt waits in a thread: the loop keeps serving pages
                    line = (await asyncio.to_thread(input, f"{pg.user}> ")) if pg.web else input(f"{pg.user}> ")
                except (EOFError, KeyboardInterrupt):
                    print()
                    break
                pg.out = _no_echo(pg, line)
                if not await pg.run_line(line):
                    break
            return 0
        finally:
            if pg is not None and pg.web is not None:
                await pg.web.close()
            await harness.close(check=False)
    finally:
        if tmp is not None:
            tmp.cleanup()


def _no_echo(pg, line: str):
    """At the prompt the input is already on screen: do not echo it a second time."""
    echo = f"{pg.user}> {line.strip()}"

    def out(text: str) -> None:
        if text != echo:
            print(text)

    return out


async def _serve_dashboard(harness):
    """The configured port when it is free, else any free one."""
    from bot.offline.oauth import serve_dashboard

    try:
        return await serve_dashboard(harness, port=harness.config.community.web.port)
    except OSError:
        return await serve_dashboard(harness, port=0)
