"""A first `demo` answers from a BM25-only index while the full one builds in the background: one
`prepare` at a time per home, and the demo knows when the background build still runs."""

import json
import subprocess
import sys
import time

from ninjarag.prepare import first_run
from services.common.paths import Home

HOLD_LOCK = """
import sys, time
from pathlib import Path
from ninjarag.prepare import first_run
from services.common.paths import Home
with first_run.prepare_lock(Home(Path(sys.argv[1])), print):
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _hold_lock(home: Home, seconds: float) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(home.root), str(seconds)], stdout=subprocess.PIPE,
                              text=True)
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_a_second_prepare_waits_for_the_first_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(first_run, "WAIT_REPORT_S", 0.2)
    home = Home(tmp_path)
    holder = _hold_lock(home, 1.5)
    assert first_run.prepare_running(home)
    reports, started = [], time.monotonic()
    with first_run.prepare_lock(home, reports.append):
        waited = time.monotonic() - started
    holder.wait()
    assert waited >= 0.8 and reports and "waiting for another `ninjarag prepare`" in reports[0]
    assert str(first_run.background_log(home)) in reports[0]
    assert not first_run.prepare_running(home)


def test_the_lock_is_given_back_when_its_holder_dies(tmp_path):
    home = Home(tmp_path)
    holder = _hold_lock(home, 60)
    holder.kill()
    holder.wait()
    assert not first_run.prepare_running(home)
    reports, started = [], time.monotonic()
    with first_run.prepare_lock(home, reports.append):
        assert time.monotonic() - started < first_run.WAIT_REPORT_S and reports == []


def test_a_lexical_only_index_is_told_apart_from_a_full_one(tmp_path):
    home = Home(tmp_path)
    assert not first_run.serves_lexical_only(home)  # no index at all
    home.demo_index.mkdir(parents=True)
    (home.demo_index / "manifest.json").write_text(json.dumps({"dense": False}))
    assert first_run.serves_lexical_only(home)
    (home.demo_index / "manifest.json").write_text(json.dumps({"index_version": "x"}))  # built before the field
    assert not first_run.serves_lexical_only(home)
