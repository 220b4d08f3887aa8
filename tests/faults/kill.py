"""Running a fault child: a script under tests/faults that sets up, prints "ready", and SIGKILLs itself
at its kill point (printing "survived" if it never got there)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_child(child: Path, *args, never_reached: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run `child` with `args` to its kill point; `never_reached` is the failure message when it printed
    "survived". Returns the finished process (its returncode is -9 when the kill happened)."""
    proc = subprocess.run([sys.executable, str(child), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHONHASHSEED": "0"})
    assert "ready" in proc.stdout, proc.stderr[-2000:]
    assert "survived" not in proc.stdout, never_reached
    return proc
