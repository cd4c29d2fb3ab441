"""The capacity model (ninjarag/capacity): Llama-3-8B and -70B on inf2.xlarge, inf2.48xlarge and
trn2.48xlarge, for this system's measured tokens per answer under both packing policies.

1. Calibration: each published benchmark's replica constants, and the model's figures beside every
   published one (the calibration figures and the checks), with the relative errors.
2. Plan: per deployment and packing, the answers/s one replica and one instance serve with the first
   sentence's p95 within --first-sentence-p95, p50/p95 time to first sentence there, the ceiling
   (every batch slot busy), cost per million answers, replicas and instances for --target answers/s,
   and the KEDA threshold (admitted requests per replica).

    .ninjarag/venvs/cli/bin/python bench/capacity.py [--records docs/results/token-counts/results.json] \
        [--first-sentence-p95 5] [--target 10] [--price trn2.48xlarge=38.47] [--out bench/results/capacity.json]
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from ninjarag.capacity.measured import workloads_from_results
from ninjarag.capacity.planning import DEPLOYMENTS, HOURLY_USD, calibrated, plan, replica_capacity
from ninjarag.capacity.published import BENCHMARKS, TGI_70B_OTHER_RUNS, TGI_LLAMA3_70B_INF2_48XLARGE, calibrate, reproduce
from report import emit
from services.common.paths import REPO_ROOT


def calibration_report() -> tuple[list[dict], list[str]]:
    rows, lines = [], ["| benchmark | users | TTFT p50 s published / model (error) | ITL ms published / model (error) "
                       "| output tok/s published / model (error) |", "|---|---|---|---|---|"]
    runs = [(b.name, b, b.points) for b in BENCHMARKS]
    runs += [(f"{TGI_LLAMA3_70B_INF2_48XLARGE.name}, run of {day}", TGI_LLAMA3_70B_INF2_48XLARGE, points)
             for day, points in TGI_70B_OTHER_RUNS.items()]
    for name, benchmark, points in runs:
        server = calibrate(benchmark)
        for row in reproduce(server, benchmark.workload, points):
            rows.append({"benchmark": name, "server": dataclasses.asdict(server), **row})
            p, m, e = row["published"], row["model"], row["error"]
            lines.append(f"| {name} | {row['users']} "
                         f"| {p['ttft_p50_s']:.2f} / {m['ttft_p50_s']:.2f} ({e['ttft_p50_s']:+.0%}) "
                         f"| {1000 * p['itl_s']:.1f} / {1000 * m['itl_s']:.1f} ({e['itl_s']:+.0%}) "
                         f"| {p['output_tokens_per_s']:.1f} / {m['output_tokens_per_s']:.1f} ({e['output_tokens_per_s']:+.0%}) |")
    return rows, lines


def plan_report(records: Path, first_sentence_p95: float, target: float, prices: dict[str, float]) -> tuple[list[dict], list[str]]:
    workloads = workloads_from_results(records)
    rows, lines = [], [
        f"| model | instance | packing (prompt + answer tokens) | answers/s per replica at p95 ≤ {first_sentence_p95:g} s "
        "| first sentence p50 / p95 s there | ceiling answers/s per replica | answers/s per instance "
        f"| $ per million answers | replicas / instances for {target:g}/s | KEDA threshold |", "|" + "---|" * 10]
    for deployment in DEPLOYMENTS:
        server = calibrated(deployment)
        for system, workload in workloads.items():
            tokens = f"{system.split('/')[0]} ({workload.prompt_tokens:,.0f} + {workload.output_tokens:.0f})"
            if server is None:
                rows.append({"model": deployment.model, "instance": deployment.instance, "packing": system,
                             "not_modelled": deployment.why_not})
                lines.append(f"| {deployment.model} | {deployment.instance} | {tokens} | {deployment.why_not} |" + " |" * 6)
                continue
            capacity = replica_capacity(server, workload, first_sentence_p95)
            result = plan(capacity, deployment.replicas_per_instance, prices[deployment.instance], target)
            rows.append({"model": deployment.model, "instance": deployment.instance, "packing": system,
                         "workload": dataclasses.asdict(workload), "hourly_usd": prices[deployment.instance],
                         "replicas_per_instance": deployment.replicas_per_instance,
                         "at_rate": dataclasses.asdict(capacity.at_rate), "ceiling": dataclasses.asdict(capacity.saturated),
                         **result})
            cost = result["usd_per_million_answers"]
            lines.append(
                f"| {deployment.model} | {deployment.instance} | {tokens} | {capacity.answers_per_s:.2f} "
                f"| {capacity.at_rate.first_sentence_p50_s:.2f} / {capacity.at_rate.first_sentence_p95_s:.2f} "
                f"| {capacity.saturated.answers_per_s:.2f} | {result['answers_per_s_per_instance']:.2f} "
                f"| {'—' if cost is None else f'{cost:,.0f}'} "
                f"| {result['replicas_for_target'] or '—'} / {result['instances_for_target'] or '—'} "
                f"| {result['keda_threshold'] or '—'} |")
    return rows, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=Path, default=REPO_ROOT / "docs/results/token-counts/results.json")
    parser.add_argument("--first-sentence-p95", type=float, default=5.0)
    parser.add_argument("--target", type=float, default=10.0, help="answers per second to plan for")
    parser.add_argument("--price", action="append", default=[], metavar="INSTANCE=USD")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    prices = HOURLY_USD | {k: float(v) for k, v in (p.split("=", 1) for p in args.price)}
    calibration, calibration_lines = calibration_report()
    plans, plan_lines = plan_report(args.records, args.first_sentence_p95, args.target, prices)
    report = {"records": str(args.records), "first_sentence_p95_s": args.first_sentence_p95,
              "target_answers_per_s": args.target, "hourly_usd": prices, "calibration": calibration, "plan": plans}
    emit(report, "\n".join(calibration_lines + [""] + plan_lines), args.out)


if __name__ == "__main__":
    main()
