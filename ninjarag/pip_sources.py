"""This machine's pip configuration, translated for uv, which does not read it.

Importable without the project installed: bin/ninjarag runs it as a script (printing the flags, one
per line) to make the command-line environment with uv before anything else exists.

    python ninjarag/pip_sources.py
"""

from __future__ import annotations

import functools
import subprocess
import sys


@functools.cache
def _pip_config() -> dict[str, list[str]]:
    """pip's effective settings on this machine (config files and PIP_* variables): key -> values."""
    listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, check=False)
    settings: dict[str, list[str]] = {}
    from_environment: set[str] = set()
    for line in listed.stdout.splitlines():
        key, _, value = line.partition("=")
        scope, _, name = key.rpartition(".")
        if name in from_environment:
            continue  # PIP_* variables win over config files, as in pip
        settings[name] = value.strip().strip("'\"").split()
        if scope == ":env:":
            from_environment.add(name)
    return settings


def pip_sources() -> list[str]:
    """uv flags for the package sources pip is configured with (local wheel folders and indexes,
    constraints): torch's CPU build comes from such a source here."""
    config = _pip_config()
    flags = [flag for link in config.get("find-links", []) for flag in ("--find-links", link)]
    flags += [flag for url in config.get("index-url", [])[:1] for flag in ("--index-url", url)]
    flags += [flag for url in config.get("extra-index-url", []) for flag in ("--extra-index-url", url)]
    flags += [flag for path in config.get("constraint", []) for flag in ("--constraint", path)]
    # pip picks the best version across all sources; uv's default stops at the first index that has the package.
    return [*flags, "--index-strategy", "unsafe-best-match"] if flags else []


def pip_environment() -> dict[str, str]:
    config = _pip_config()
    environment = {}
    if config.get("cert"):
        environment["SSL_CERT_FILE"] = config["cert"][0]
    if config.get("default-timeout"):
        environment["UV_HTTP_TIMEOUT"] = config["default-timeout"][0]
    return environment


if __name__ == "__main__":
    for flag in pip_sources():  # nothing at all when pip has no sources configured
        print(flag)
