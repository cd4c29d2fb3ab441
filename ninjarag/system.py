"""System packages the stack needs: Debian's redis-server."""

from __future__ import annotations

import os
import shutil
import subprocess

from ninjarag.errors import UserError


def redis_server_binary() -> str | None:
    return shutil.which("redis-server") or (os.path.exists("/usr/bin/redis-server") and "/usr/bin/redis-server") or None


def ensure_redis_server() -> bool:
    """Install Debian's redis-server when missing; False when it was already there."""
    if redis_server_binary():
        return False
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise UserError("redis-server is missing: install Debian's package (sudo apt-get install redis-server), then rerun")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "redis-server"]):
        result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise UserError(f"`{' '.join(command)}` failed: {last[:200]} — install redis-server by hand and rerun")
    if not redis_server_binary():
        raise UserError("apt-get installed redis-server but the binary is not on PATH; check /usr/bin/redis-server")
    return True
