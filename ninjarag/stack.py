"""`ninjarag up` / `down`: Redis and the four services as local processes under supervisord.

supervisord owns the processes (one log per program, process-group stop so vLLM's engine
workers go too); this module writes its config, waits for readiness and reports.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import redis

from ninjarag import envs, system
from ninjarag.errors import UserError
from ninjarag.settings import StackSettings
from ninjarag.stack_programs import Program, programs, redis_config
from services.common.paths import REPO_ROOT


def _supervisor_config(settings: StackSettings, progs: list[Program]) -> str:
    run = settings.run_path
    logs = run / "logs"
    sections = [
        f"[supervisord]\nlogfile={run}/supervisord.log\npidfile={run}/supervisord.pid\nchildlogdir={logs}\n"
        f"directory={REPO_ROOT}\nloglevel=info\n",
        f"[unix_http_server]\nfile={run}/supervisor.sock\nchmod=0700\n",
        f"[supervisorctl]\nserverurl=unix://{run}/supervisor.sock\n",
        "[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n",
    ]
    for prog in progs:
        env = ",".join(f'{key}="{value}"' for key, value in prog.environment.items())
        sections.append(
            f"[program:{prog.name}]\ncommand={prog.command}\n"
            + (f"environment={env}\n" if env else "")
            + f"stdout_logfile={logs}/{prog.name}.log\nredirect_stderr=true\nstdout_logfile_maxbytes=50MB\n"
            # A crashed program comes back by itself; one that dies within startsecs is retried with a
            # growing backoff (1 s, 2 s, ...) and given up (FATAL) after startretries.
            "autorestart=true\nstartsecs=3\nstartretries=5\nstopasgroup=true\nkillasgroup=true\nstopwaitsecs=20\n"
        )
    return "\n".join(sections)


def _config_path(settings: StackSettings) -> Path:
    return settings.run_path / "supervisord.conf"


def supervisord_pid(settings: StackSettings) -> int | None:
    pidfile = settings.run_path / "supervisord.pid"
    try:
        pid = int(pidfile.read_text().strip())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    return pid


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def _check_can_start(settings: StackSettings, progs: list[Program]) -> None:
    for prog in progs:
        if prog.name != "redis" and not envs.python_of(settings.paths, prog.env_name).exists():
            raise UserError(f"the {prog.env_name} environment is missing: run `ninjarag prepare` first")
    if not system.redis_server_binary():
        raise UserError("redis-server is not installed: run `ninjarag prepare` (or apt-get install redis-server)")
    for prog in progs:
        if _port_in_use(settings.host, prog.port):
            raise UserError(
                f"port {prog.port} ({prog.name}) is in use: stop what holds it, "
                + (f"or set NINJARAG_{prog.name.upper()}_PORT to a free port" if not prog.service
                   else "or set NINJARAG_COMPARE_PORT_OFFSET")
            )


def _supervisorctl(settings: StackSettings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "supervisor.supervisorctl", "-c", str(_config_path(settings)), *args],
        capture_output=True, text=True, check=False,
    )


def program_states(settings: StackSettings) -> dict[str, str]:
    states = {}
    for line in _supervisorctl(settings, "status").stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            states[parts[0]] = parts[1]
    return states


def readiness_checks(settings: StackSettings) -> dict[str, str]:
    """Each service's readiness checks as its /readyz reports them (what the retriever serves, for
    instance); a service that does not answer is left out."""
    checks = {}
    for prog in programs(settings):
        if prog.name == "redis":
            continue
        try:
            _, found = _readyz(prog, settings)
        except (httpx.HTTPError, ValueError):
            continue
        checks[prog.name] = "; ".join(f"{name}: {state}" for name, state in found.items())
    return checks


def program_pid(settings: StackSettings, name: str) -> int:
    """The process id supervisord runs a program under (the fault suite and tests signal it)."""
    return int(_supervisorctl(settings, "pid", name).stdout.strip())


@dataclass(frozen=True)
class Readiness:
    ready: bool
    failure: str | None = None  # a failed check will not heal by waiting, so `up` stops at once
    waiting_on: str = "starting"  # what it still waits for, as the program's /readyz says


def _readyz(prog: Program, settings: StackSettings) -> tuple[bool, dict[str, str]]:
    """A service's /readyz: whether it is ready, and its checks by name."""
    response = httpx.get(f"{prog.url(settings.host)}/readyz", timeout=2)
    return response.status_code == 200, response.json().get("checks", {})


def _readiness(prog: Program, settings: StackSettings) -> Readiness:
    try:
        if prog.name == "redis":
            return Readiness(bool(redis.Redis.from_url(settings.redis_url, socket_timeout=1).ping()))
        ready, checks = _readyz(prog, settings)
        failed = [f"{name}: {state}" for name, state in checks.items() if state.startswith("failed")]
        waiting = [f"{name}: {state}" for name, state in checks.items() if not state.startswith("ok")]
        return Readiness(ready, "; ".join(failed) or None, ", ".join(waiting) or "starting")
    except (redis.RedisError, httpx.HTTPError, ValueError):
        return Readiness(False)


def _log_tail(path: Path, lines: int = 5) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def up(settings: StackSettings, report: Callable[[str], None]) -> list[Program]:
    """Start the stack; where it runs already, start whatever of it is not running."""
    progs = programs(settings)
    if supervisord_pid(settings):
        stopped = [name for name, state in program_states(settings).items() if state != "RUNNING"]
        for name in stopped:
            report(f"{name} was not running: starting it")
            _supervisorctl(settings, "start", name)
        _wait_until_ready(settings, progs, report)
        return progs
    _check_can_start(settings, progs)
    for folder in (settings.run_path / "logs", settings.run_path / "redis"):
        folder.mkdir(parents=True, exist_ok=True)
    for path, text in ((settings.run_path / "redis.conf", redis_config(settings)),
                       (_config_path(settings), _supervisor_config(settings, progs))):
        path.touch(mode=0o600)  # they carry secrets
        path.write_text(text)
    started = subprocess.run(
        [sys.executable, "-m", "supervisor.supervisord", "-c", str(_config_path(settings))],
        capture_output=True, text=True, check=False,
    )
    if started.returncode != 0:
        raise UserError(f"supervisord did not start: {(started.stderr or started.stdout).strip()[:300]}")
    try:
        _wait_until_ready(settings, progs, report)
    except BaseException:
        down(settings)
        raise
    return progs


def restart(settings: StackSettings, name: str, report: Callable[[str], None]) -> Program:
    """Restart one program of the running stack and wait until it is ready again."""
    by_name = {prog.name: prog for prog in programs(settings)}
    if name not in by_name:
        raise UserError(f"no program {name!r}; the stack runs {', '.join(by_name)}")
    if not supervisord_pid(settings):
        raise UserError("the stack is not running: `ninjarag up` starts it")
    _supervisorctl(settings, "restart", name)
    _wait_until_ready(settings, [by_name[name]], report)
    return by_name[name]


# How often `up` says what it still waits for (vLLM compiles for a minute or two on a small CPU).
WAITING_REPORT_S = 10.0


def _wait_until_ready(settings: StackSettings, progs: list[Program], report: Callable[[str], None]) -> None:
    deadline = time.monotonic() + settings.ready_timeout_s
    pending = {prog.name: prog for prog in progs}
    started = next_report = time.monotonic()
    while pending:
        states = program_states(settings)
        waiting = []
        for name, prog in list(pending.items()):
            readiness = _readiness(prog, settings)
            if readiness.ready:
                report(f"{name} ready after {time.monotonic() - started:.1f}s")
                del pending[name]
            elif readiness.failure:
                raise UserError(f"{name} cannot become ready: {readiness.failure}")
            elif states.get(name) in {"EXITED", "FATAL", "BACKOFF"}:
                log = settings.run_path / "logs" / f"{name}.log"
                raise UserError(f"{name} exited before it was ready; last lines of {log}:\n{_log_tail(log)}")
            else:
                waiting.append(f"{name} ({readiness.waiting_on})")
        if waiting and time.monotonic() >= next_report + WAITING_REPORT_S:
            next_report = time.monotonic()
            report(f"waiting {next_report - started:.0f}s for: {', '.join(waiting)}")
        if pending and time.monotonic() > deadline:
            names = ", ".join(sorted(pending))
            raise UserError(
                f"not ready after {settings.ready_timeout_s:.0f}s: {names}; see the logs in {settings.run_path / 'logs'}"
            )
        time.sleep(0.5)


def down(settings: StackSettings, timeout_s: float = 60.0) -> bool:
    """Stop supervisord and everything under it; False when nothing was running."""
    pid = supervisord_pid(settings)
    if pid is None:
        return False
    _supervisorctl(settings, "shutdown")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    return True
