"""Run a long command with its whole output in a log file, and never leave the terminal silent.

The command's output goes to the log as it comes. The terminal gets a status line at least every
10 s while the command runs (in place on a terminal, a new line in a CI log): what runs, for how
long, and the command's latest output line, which for our own long steps is a tqdm bar with counts
and an ETA (the index build's encoding phases, for instance).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TextIO

from services.common.paths import REPO_ROOT

QUIET_LIMIT_S = 10.0
TERMINAL_REFRESH_S = 1.0
MAX_STATUS_CHARS = 160
# The output is our own commands', but a partial line is still bounded.
MAX_PENDING_CHARS = 4096


class StatusLine:
    """The latest output line of a command and when to show it."""

    def __init__(self, what: str, out: TextIO) -> None:
        self.what = what
        self.out = out
        self.interactive = out.isatty()
        self.started = time.monotonic()
        self.last_shown = self.started
        self.pending = ""
        self.latest = ""
        self.lock = threading.Lock()

    def feed(self, text: str) -> None:
        """tqdm redraws with carriage returns, other output ends in newlines: both end a line."""
        with self.lock:
            segments = (self.pending + text).replace("\r", "\n").split("\n")
            self.pending = segments.pop()[-MAX_PENDING_CHARS:]
            for segment in reversed(segments):
                if segment.strip():
                    self.latest = segment.strip()[:MAX_STATUS_CHARS]
                    break

    def tick(self) -> None:
        now = time.monotonic()
        if now - self.last_shown < (TERMINAL_REFRESH_S if self.interactive else QUIET_LIMIT_S):
            return
        self.last_shown = now
        with self.lock:
            latest = self.latest
        elapsed = int(now - self.started)
        line = f"  … {self.what} ({elapsed // 60}m{elapsed % 60:02d}s)" + (f": {latest}" if latest else "")
        if self.interactive:
            width = shutil.get_terminal_size().columns - 1
            self.out.write("\r" + line[:width].ljust(width))
        else:
            self.out.write(line + "\n")
        self.out.flush()

    def close(self) -> None:
        if self.interactive and self.last_shown != self.started:
            self.out.write("\r" + " " * (shutil.get_terminal_size().columns - 1) + "\r")
            self.out.flush()


def run_logged(command: list[str], log_path: Path, what: str, extra_env: dict[str, str] | None = None,
               append: bool = False, out: TextIO | None = None) -> int:
    """Run `command` from the repository root with its output appended (or written) to `log_path`,
    showing its progress on `out` (default stdout); returns its exit status."""
    status = StatusLine(what, out or sys.stdout)
    with log_path.open("ab" if append else "wb") as log:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=REPO_ROOT,
                                   env={**os.environ, **(extra_env or {})})

        def copy_output() -> None:
            assert process.stdout is not None
            while chunk := process.stdout.read1(65536):
                log.write(chunk)
                log.flush()
                status.feed(chunk.decode("utf-8", errors="replace"))

        reader = threading.Thread(target=copy_output, daemon=True)
        reader.start()
        try:
            while True:
                try:
                    returncode = process.wait(timeout=0.5)
                    break
                except subprocess.TimeoutExpired:
                    status.tick()
        except BaseException:
            process.kill()
            process.wait()
            raise
        finally:
            reader.join(timeout=5)
            status.close()
    return returncode


def last_line(log_path: Path, limit: int = 200) -> str:
    """The log's last non-empty line, for an error message that points at the full log."""
    lines = log_path.read_text(errors="replace").strip().splitlines()
    return lines[-1][:limit] if lines else "(no output)"
