"""`ninjarag test`: each service's tests in that service's environment, then the command line's and
the cross-service tests; one closing line that sums them all."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ninjarag import envs
from services.common.paths import REPO_ROOT, Home


@dataclass(frozen=True)
class Suite:
    name: str
    env: str
    paths: tuple[str, ...]


SUITES = (
    Suite("common+gateway", "gateway", ("tests/common", "tests/gateway")),
    Suite("retriever", "retriever", ("tests/retriever",)),
    Suite("generator", "generator", ("tests/generator",)),
    Suite("guard", "guard", ("tests/guard",)),
    Suite("finetune", "generator", ("tests/finetune",)),
    Suite("cli+deploy+stack", "cli", ("tests/cli", "tests/deploy", "tests/stack")),
)


@dataclass
class Totals:
    passed: int = 0
    failed: int = 0
    skipped: int = 0

    def add_junit(self, path: Path) -> None:
        root = ET.parse(path).getroot()
        for suite in root.iter("testsuite"):
            tests = int(suite.get("tests", 0))
            failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
            skipped = int(suite.get("skipped", 0))
            self.passed += tests - failed - skipped
            self.failed += failed
            self.skipped += skipped


def run_suites(home: Home, selected: list[str], pytest_args: list[str], echo: Callable[[str], None]) -> Totals:
    results_dir = home.run / "test-results"
    results_dir.mkdir(parents=True, exist_ok=True)
    totals = Totals()
    for suite in SUITES:
        if selected and suite.name not in selected and suite.env not in selected:
            continue
        paths = [path for path in suite.paths if (REPO_ROOT / path).is_dir()]
        junit = results_dir / f"{suite.env}.xml"
        junit.unlink(missing_ok=True)
        echo(f"\n=== {suite.name} tests ({suite.env} environment) ===")
        python = Path(sys.executable) if suite.env == "cli" else envs.python_of(home, suite.env)
        code = subprocess.run(
            [str(python), "-m", "pytest", *paths, f"--junitxml={junit}", "-p", "no:cacheprovider", *pytest_args],
            cwd=REPO_ROOT, check=False,
        ).returncode
        if junit.is_file():
            totals.add_junit(junit)
        if code not in (0, 1, 5) or not junit.is_file():
            echo(f"{suite.name}: pytest exited {code} without results")
            totals.failed += 1
    return totals
