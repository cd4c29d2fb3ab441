"""The prepare manifest: per step, what went in (a fingerprint) and what came out (sizes, sha256, counts)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from services.common.files import sha256_of


def describe(path: Path, root: Path) -> dict[str, Any]:
    """Size and sha256 of a file, or of a folder (over its files' relative names and hashes)."""
    if path.is_file():
        return {"path": str(path.relative_to(root)), "bytes": path.stat().st_size, "sha256": sha256_of(path)}
    files = sorted(p for p in path.rglob("*") if p.is_file())
    digest = hashlib.sha256()
    for file in files:
        digest.update(f"{file.relative_to(path)}:{sha256_of(file)}\n".encode())
    return {
        "path": str(path.relative_to(root)),
        "bytes": sum(file.stat().st_size for file in files),
        "files": len(files),
        "sha256": digest.hexdigest(),
    }


class Manifest:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.steps: dict[str, dict[str, Any]] = {}
        if path.is_file():
            self.steps = json.loads(path.read_text()).get("steps", {})

    def is_current(self, step: str, fingerprint: str, outputs: list[Path]) -> bool:
        recorded = self.steps.get(step)
        if not recorded or recorded.get("fingerprint") != fingerprint:
            return False
        sizes = {entry["path"]: entry["bytes"] for entry in recorded.get("outputs", [])}
        root = self.path.parent
        for output in outputs:
            if not output.exists():
                return False
            size = output.stat().st_size if output.is_file() else sum(p.stat().st_size for p in output.rglob("*") if p.is_file())
            if sizes.get(str(output.relative_to(root))) != size:
                return False
        return True

    def record(self, step: str, fingerprint: str, outputs: list[Path], counts: dict[str, Any], seconds: float) -> None:
        root = self.path.parent
        self.steps[step] = {
            "fingerprint": fingerprint,
            "outputs": [describe(output, root) for output in outputs],
            "counts": counts,
            "seconds": round(seconds, 2),
        }
        self.save()

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"version": 1, "steps": self.steps}, indent=2) + "\n")
        os.replace(tmp, self.path)
