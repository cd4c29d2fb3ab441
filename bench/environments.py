"""Service environments on a fresh machine, pip against uv, in one run: every environment `prepare`
makes, each installer with its own empty download cache (shared across its environments, as one
machine's would be), into a scratch folder.

Run with the command-line environment (it has uv), from the repository root:
    .ninjarag/venvs/cli/bin/python bench/environments.py [--envs gateway,retriever] [--out bench/results/environments.json]
Needs about 15 GB of free disk in the scratch folder while it runs; removes it afterwards.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from report import emit
from ninjarag import envs
from services.common.paths import REPO_ROOT, Home


def timed(command: list[str], environment: dict[str, str], log: Path) -> float:
    started = time.perf_counter()
    with log.open("a") as sink:
        subprocess.run(command, env={**os.environ, **environment}, stdout=sink, stderr=subprocess.STDOUT, check=True)
    return time.perf_counter() - started


def with_pip(scratch: Path, env: envs.ServiceEnv) -> float:
    venv = scratch / "pip" / env.name
    environment = {"PIP_CACHE_DIR": str(scratch / "pip-cache")}
    log = scratch / f"pip-{env.name}.log"
    seconds = timed([sys.executable, "-m", "venv", str(venv)], environment, log)
    seconds += timed([str(venv / "bin" / "pip"), "install", "-e", f"{REPO_ROOT}[{env.extras}]"], environment, log)
    if env.remove_after_install:
        seconds += timed([str(venv / "bin" / "pip"), "uninstall", "-y", *env.remove_after_install], environment, log)
    return seconds


def with_uv(scratch: Path, env: envs.ServiceEnv) -> float:
    home = Home(scratch / "uv-home")
    home.logs.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    envs.ensure_env(home, env)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", default=",".join(envs.SERVICE_ENVS))
    parser.add_argument("--scratch", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="ninjarag-envs-", dir=args.scratch))
    names = args.envs.split(",")
    try:
        runs = {}
        for name in names:
            env = envs.SERVICE_ENVS[name]
            runs[name] = {"pip_s": round(with_pip(scratch, env), 1), "uv_s": round(with_uv(scratch, env), 1)}
            print(f"{name}: {runs[name]}", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    total = {"pip_s": round(sum(r["pip_s"] for r in runs.values()), 1), "uv_s": round(sum(r["uv_s"] for r in runs.values()), 1)}
    for run in [*runs.values(), total]:
        run["speedup"] = round(run["pip_s"] / run["uv_s"], 1)
    report = {"machine": {"cpus": os.cpu_count()}, "environments": runs, "total": total,
              "note": "fresh download caches; pip and uv interleaved per environment, same package sources"}
    lines = [f"{'environment':<12} {'pip s':>7} {'uv s':>7} {'speedup':>8}"]
    lines += [f"{name:<12} {r['pip_s']:>7} {r['uv_s']:>7} {r['speedup']:>8}" for name, r in [*runs.items(), ("total", total)]]
    emit(report, "\n".join(lines), args.out)


if __name__ == "__main__":
    main()
