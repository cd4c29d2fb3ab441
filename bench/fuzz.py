"""Fuzz every service of the running local stack from its own OpenAPI schema with schemathesis:
generated valid and invalid requests (examples, coverage and fuzzing phases), every check
schemathesis has (no 5xx, responses that match the schema, invalid data rejected, ...). Prints a
summary per service and writes it as JSON. Loopback only, bounded in examples and time.

    bin/ninjarag up
    .ninjarag/venvs/cli/bin/python bench/fuzz.py [--max-examples 25] [--out bench/results/fuzz.json]

The gateway is called with a key of its own (a generous rate), the internal services with the
stack's service token, the retriever's admin routes with its admin token.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import httpx

from ninjarag import keys
from ninjarag.settings import StackSettings
from report import emit
from services.common.http import bearer
from services.common.paths import Home

# Checks that do not apply to this stack, and why:
# - ignored_auth: health and metrics are open on purpose (probes, Prometheus).
# - positive_data_acceptance: a valid request may still be refused on purpose (429 quotas, 503 overload,
#   422 for a prompt longer than the model takes): the service's limits, not a schema violation.
EXCLUDED_CHECKS = "ignored_auth,positive_data_acceptance"


ADMIN_PATHS = "^/v1/admin/"
CONFIG = Path(__file__).parent / "schemathesis.toml"


@dataclass(frozen=True)
class Pass:
    name: str
    port: int
    token: str  # sent with every request of the pass
    path_filter: list[str]
    schema_token: str  # the OpenAPI document is an ordinary route: the service token (or the API key) reads it


def passes(settings: StackSettings, api_key: str) -> list[Pass]:
    """The admin routes take the admin token, the others the service token (or the API key, for the
    gateway), so each pass is authorised for what it fuzzes."""
    secrets = settings.secrets
    service = secrets.service_token
    return [Pass("gateway", settings.gateway_port, api_key, [], api_key),
            Pass("retriever", settings.retriever_port, service, ["--exclude-path-regex", ADMIN_PATHS], service),
            Pass("retriever admin", settings.retriever_port, secrets.admin_token, ["--include-path-regex", ADMIN_PATHS],
                 service),
            Pass("generator", settings.generator_port, service, [], service),
            Pass("guard", settings.guard_port, service, [], service)]


def fuzz_one(fuzz: Pass, host: str, max_examples: int, max_time_s: int, report_dir: Path) -> dict:
    schemathesis = Home.from_env().venv("audit") / "bin" / "schemathesis"
    base_url, name = f"http://{host}:{fuzz.port}", fuzz.name
    schema = report_dir / f"{name}-openapi.json"
    response = httpx.get(f"{base_url}/openapi.json", headers=bearer(fuzz.schema_token), timeout=30)
    response.raise_for_status()
    schema.write_bytes(response.content)
    command = [str(schemathesis), "--config-file", str(CONFIG), "run", str(schema), "--url", base_url,
               "--checks", "all", *fuzz.path_filter,
               "--exclude-checks", EXCLUDED_CHECKS, "--header", f"Authorization: Bearer {fuzz.token}",
               "--max-examples", str(max_examples), "--max-time", str(max_time_s), "--workers", "2",
               "--request-timeout", "120", "--report", "junit", "--report-dir", str(report_dir / name),
               "--phases", "examples,coverage,fuzzing", "--suppress-health-check", "all", "--no-color", "--seed", "0"]
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=max_time_s + 600)
    (report_dir / f"{name}.log").write_text(result.stdout + result.stderr)
    return summarise(name, result.stdout, next((report_dir / name).glob("*.xml"), None), result.returncode)


def summarise(name: str, output: str, junit: Path | None, returncode: int) -> dict:
    operations, failures = 0, {}
    if junit is not None:
        for case in ET.parse(junit).getroot().iter("testcase"):
            operations += 1
            for failure in [*case.iter("failure"), *case.iter("error")]:
                failures[case.get("name", "?")] = (failure.get("message") or failure.text or "")[:300]
    server_errors = output.count("Server error")
    return {"service": name, "operations": operations, "failed_operations": len(failures),
            "server_errors": server_errors, "exit_code": returncode, "failures": failures,
            "summary_line": next((line.strip() for line in reversed(output.splitlines()) if "passed" in line
                                  or "failed" in line), "")}


def table(report: dict) -> str:
    lines = ["| service | operations | failed operations | server errors (5xx) | schemathesis |", "|---|---|---|---|---|"]
    for row in report["services"]:
        lines.append(f"| {row['service']} | {row['operations']} | {row['failed_operations']} | {row['server_errors']} | "
                     f"{row['summary_line']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-examples", type=int, default=25)
    parser.add_argument("--max-time-s", type=int, default=300, help="Per service.")
    parser.add_argument("--only", action="append", help="Fuzz only these passes (gateway, retriever, ...).")
    parser.add_argument("--logs", type=Path, default=None, help="Keep schemathesis' output and JUnit reports here.")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "fuzz.json")
    args = parser.parse_args()
    settings = StackSettings()
    api_key = keys.create(settings, "fuzz", 100_000)[0]
    rows = []
    with tempfile.TemporaryDirectory(prefix="ninjarag-fuzz-") as folder:
        logs = args.logs or Path(folder)
        logs.mkdir(parents=True, exist_ok=True)
        for fuzz in passes(settings, api_key):
            if args.only and fuzz.name not in args.only:
                continue
            rows.append(fuzz_one(fuzz, settings.host, args.max_examples, args.max_time_s, logs))
    report = {"max_examples": args.max_examples, "excluded_checks": EXCLUDED_CHECKS.split(","), "services": rows}
    emit(report, table(report), args.out)
    print(json.dumps({"server_errors": sum(r["server_errors"] for r in rows),
                      "failed_operations": sum(r["failed_operations"] for r in rows)}))


if __name__ == "__main__":
    main()
