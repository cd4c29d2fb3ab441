"""System packages: Debian's redis-server for the stack, kubectl for the deploy tests, Chromium for the
web page's browser test."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ninjarag.errors import UserError
from ninjarag.logged_run import last_line, run_logged


def redis_server_binary() -> str | None:
    return shutil.which("redis-server") or (os.path.exists("/usr/bin/redis-server") and "/usr/bin/redis-server") or None


def _apt_install(package: str, binary: str, log_path: Path) -> bool:
    """Install a Debian package when its binary is missing; False when it was already there."""
    if shutil.which(binary) or os.path.exists(f"/usr/bin/{binary}"):
        return False
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise UserError(f"{binary} is missing: install Debian's package (sudo apt-get install {package}), then rerun")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "--no-install-recommends", package]):
        if run_logged(command, log_path, f"installing {package}", {"DEBIAN_FRONTEND": "noninteractive"}, append=True):
            raise UserError(f"`{' '.join(command)}` failed: {last_line(log_path)} — install {package} by hand and rerun; log: {log_path}")
    if not (shutil.which(binary) or os.path.exists(f"/usr/bin/{binary}")):
        raise UserError(f"apt-get installed {package} but {binary} is not on PATH")
    return True


def ensure_redis_server(log_path: Path) -> bool:
    return _apt_install("redis-server", "redis-server", log_path)


def ensure_kubectl(log_path: Path) -> bool:
    """kubectl renders the Kubernetes overlays in the deploy tests (Debian's kubernetes-client if missing)."""
    return _apt_install("kubernetes-client", "kubectl", log_path)


def ensure_chromium(log_path: Path) -> bool:
    """Debian's Chromium: the web page's test drives it headless (Playwright, with this executable)."""
    return _apt_install("chromium", "chromium", log_path)
