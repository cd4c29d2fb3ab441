"""A first `ninjarag demo` answers before the demo index's dense part exists: the ColBERT encoding of
the corpus is most of a first run (about 10 minutes on 2 cores), so the demo prepares everything else,
writes a BM25-only index (seconds), starts the stack on it, and builds the full index in the
background (`ninjarag index build-demo`), after which the retriever reloads it. Answers until then
come from BM25 alone, and the retriever's readiness says so."""

from __future__ import annotations

import fcntl
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from ninjarag import envs
from services.common.paths import REPO_ROOT, Home

# What only the dense index needs, left to the background build: about 11 of a first run's 16 minutes.
BACKGROUND_STEPS = ("colbert-extensions", "demo-index")
WAIT_REPORT_S = 10.0


def _lock_path(home: Home) -> Path:
    return home.root / "prepare.lock"


def _acquired(lock: IO[str]) -> bool:
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextmanager
def prepare_lock(home: Home, report: Callable[[str], None]) -> Iterator[None]:
    """One `prepare` at a time per home (a second would rebuild what the first is writing): a second
    one waits, saying so every 10 s."""
    home.root.mkdir(parents=True, exist_ok=True)
    with _lock_path(home).open("a") as lock:
        started = time.monotonic()
        last = started
        while not _acquired(lock):
            if time.monotonic() - last >= WAIT_REPORT_S:
                last = time.monotonic()
                report(f"  … waiting for another `ninjarag prepare` of {home.root} ({int(last - started)}s; "
                       f"the demo index may be building in the background: {background_log(home)})")
            time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def prepare_running(home: Home) -> bool:
    """Does another process hold the prepare lock (the background index build)?"""
    if not _lock_path(home).is_file():
        return False
    with _lock_path(home).open("a") as lock:
        if not _acquired(lock):
            return True
        fcntl.flock(lock, fcntl.LOCK_UN)
        return False


def serves_lexical_only(home: Home) -> bool:
    manifest = home.demo_index / "manifest.json"
    return manifest.is_file() and json.loads(manifest.read_text()).get("dense", True) is False


def background_log(home: Home) -> Path:
    return home.logs / "prepare-demo-index-background.log"


def build_lexical_index(home: Home) -> None:
    envs.run_module(home, "retriever", ["services.retriever.build.indexing", "--corpus", str(home.corpus),
                    "--out", str(home.demo_index), "--checkpoint", str(home.colbert_checkpoint), "--lexical-only"],
                    "building the BM25 index the demo answers from first", envs.retriever_env_vars(home),
                    home.logs / "prepare-demo-index-lexical.log")


def start_background_build(home: Home) -> Path:
    """`ninjarag index build-demo` detached from this terminal: it outlives the demo command."""
    log_path = background_log(home)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        subprocess.Popen([str(Path(sys.executable).with_name("ninjarag")), "index", "build-demo"], cwd=REPO_ROOT,
                         stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    return log_path
