"""System packages: Debian's redis-server for the stack, kubectl for the deploy tests."""

from __future__ import annotations

import os
import shutil
import subprocess

from ninjarag.errors import UserError


def redis_server_binary() -> str | None:
    return shutil.which("redis-server") or (os.path.exists("/usr/bin/redis-server") and "/usr/bin/redis-server") or None


def _apt_install(package: str, binary: str) -> bool:
    """Install a Debian package when its binary is missing; False when it was already there."""
    if shutil.which(binary) or os.path.exists(f"/usr/bin/{binary}"):
        return False
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise UserError(f"{binary} is missing: install Debian's package (sudo apt-get install {package}), then rerun")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "--no-install-recommends", package]):
        result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise UserError(f"`{' '.join(command)}` failed: {last[:200]} — install {package} by hand and rerun")
    if not (shutil.which(binary) or os.path.exists(f"/usr/bin/{binary}")):
        raise UserError(f"apt-get installed {package} but {binary} is not on PATH")
    return True


def ensure_redis_server() -> bool:
    return _apt_install("redis-server", "redis-server")


def ensure_kubectl() -> bool:
    """kubectl renders the Kubernetes overlays in the deploy tests (Debian's kubernetes-client if missing)."""
    return _apt_install("kubernetes-client", "kubectl")
