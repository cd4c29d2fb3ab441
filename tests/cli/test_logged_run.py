"""Long prepare steps: the whole output in the log, and the terminal never silent for more than 10 s."""

from __future__ import annotations

import io
import sys
import time

from ninjarag import logged_run
from ninjarag import pip_sources as sources
from ninjarag.logged_run import StatusLine, run_logged


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_quiet_command_gets_a_status_line_every_10_seconds(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(logged_run.time, "monotonic", clock)
    out = io.StringIO()
    status = StatusLine("installing", out)
    for _ in range(50):  # 25 s in half-second ticks
        clock.now += 0.5
        status.tick()
    lines = out.getvalue().splitlines()
    assert lines == ["  … installing (0m10s)", "  … installing (0m20s)"]


def test_the_status_line_shows_the_latest_tqdm_redraw(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(logged_run.time, "monotonic", clock)
    out = io.StringIO()
    status = StatusLine("building the demo index", out)
    status.feed("#> encoding 31,178 passages\nencoding passages:  10%|█ | 3117/31178 [01:30<13:30, 34.6passage/s]")
    status.feed("\rencoding passages:  20%|██ | 6236/31178 [03:00<12:00, 34.6passage/s]\r")
    clock.now += 10
    status.tick()
    assert out.getvalue() == "  … building the demo index (0m10s): encoding passages:  20%|██ | 6236/31178 [03:00<12:00, 34.6passage/s]\n"


def test_a_line_without_an_end_is_bounded(monkeypatch):
    status = StatusLine("x", io.StringIO())
    started = time.perf_counter()
    for _ in range(200):
        status.feed("y" * 100_000)
    assert time.perf_counter() - started < 2.0
    assert len(status.pending) <= logged_run.MAX_PENDING_CHARS


def test_run_logged_keeps_the_whole_output_and_the_exit_status(tmp_path):
    log = tmp_path / "step.log"
    code = "import sys; print('to stdout'); print('to stderr', file=sys.stderr); sys.exit(3)"
    out = io.StringIO()
    assert run_logged([sys.executable, "-c", code], log, "a step", out=out) == 3
    assert log.read_text().splitlines() == ["to stdout", "to stderr"]
    log.write_text("earlier\n")
    assert run_logged([sys.executable, "-c", "print('again')"], log, "a step", append=True, out=out) == 0
    assert log.read_text().splitlines() == ["earlier", "again"]


def test_uv_gets_the_package_sources_pip_is_configured_with(monkeypatch):
    monkeypatch.setattr(sources, "_pip_config", lambda: {
        "find-links": ["/opt/wheels"], "extra-index-url": ["file:///a/simple", "file:///b/simple"],
        "constraint": ["/etc/c.txt"], "cert": ["/etc/ca.crt"], "default-timeout": ["180"]})
    assert sources.pip_sources() == [
        "--find-links", "/opt/wheels", "--extra-index-url", "file:///a/simple", "--extra-index-url", "file:///b/simple",
        "--constraint", "/etc/c.txt", "--index-strategy", "unsafe-best-match"]
    assert sources.pip_environment() == {"SSL_CERT_FILE": "/etc/ca.crt", "UV_HTTP_TIMEOUT": "180"}
    monkeypatch.setattr(sources, "_pip_config", dict)
    assert sources.pip_sources() == []
