"""Parsers of untrusted text, before and after, in one run: the sentence splitter (one shot and streamed
token by token) and the guard's injection patterns, on the adversarial inputs that were reported,
at growing sizes. "Before" is the code at a git revision (loaded from history), "after" the working
tree. Each call runs in a child process with a time limit, so an exponential case is reported as
"> limit" instead of hanging the benchmark.

    .ninjarag/venvs/guard/bin/python bench/parsers.py [--before aa0104b] [--limit-s 10] [--out bench/results/parsers.json]
"""

from __future__ import annotations

import argparse
import multiprocessing
import re
import subprocess
import time
import types
from pathlib import Path

from report import emit

REPO = Path(__file__).resolve().parents[1]


def module_at(revision: str | None, path: str, name: str) -> types.ModuleType:
    source = (REPO / path).read_text() if revision is None else subprocess.run(
        ["git", "show", f"{revision}:{path}"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    module = types.ModuleType(name)
    module.__dict__["__file__"] = str(REPO / path)
    exec(compile(source, f"{revision or 'HEAD+'}:{path}", "exec"), module.__dict__)  # noqa: S102 - our own history
    return module


def splitter(revision: str | None, streamed: bool):  # noqa: ANN201
    sentences = module_at(revision, "services/common/sentences.py", "sentences")
    if not streamed:
        return sentences.split_sentences

    def stream(text: str) -> list[str]:
        s, out = sentences.SentenceStream(), []
        for start in range(0, len(text), 4):
            out += s.feed(text[start:start + 4])
        return out + s.flush()

    return stream


def injection_pattern_11(revision: str | None):  # noqa: ANN201
    lines = (REPO / "services/guard/data/injection_patterns.txt").read_text() if revision is None else subprocess.run(
        ["git", "show", f"{revision}:services/guard/data/injection_patterns.txt"], cwd=REPO, capture_output=True,
        text=True, check=True).stdout
    pattern = [line for line in lines.splitlines() if line.strip() and not line.startswith("#")][8]
    if revision is None:
        import re2  # noqa: PLC0415 - the guard's engine now

        options = re2.Options()
        options.case_sensitive, options.dot_nl = False, True
        return re2.compile(pattern, options).search
    return re.compile(pattern, re.IGNORECASE | re.DOTALL).search


CASES = {
    "splitter, '[' then ', ' x n after a full stop": (lambda n: "Paris is big. [" + ", " * n + "] Next.",
                                                       lambda rev: splitter(rev, streamed=False)),
    "splitter streamed, the same": (lambda n: "Paris is big. [" + ", " * n + "] Next.", lambda rev: splitter(rev, True)),
    "splitter, n characters without a space": (lambda n: "a" * n + " b. Next", lambda rev: splitter(rev, False)),
    "splitter streamed, one n-character sentence": (lambda n: "word " * (n // 5), lambda rev: splitter(rev, True)),
    "injection pattern 11, '<' then n spaces": (lambda n: "<" + " " * n, injection_pattern_11),
}
SIZES = {
    "splitter, '[' then ', ' x n after a full stop": [16, 18, 20, 22, 24, 50_000],
    "splitter streamed, the same": [16, 18, 20, 22, 24, 50_000],
    "splitter, n characters without a space": [4_000, 16_000, 100_000],
    "splitter streamed, one n-character sentence": [10_000, 50_000, 100_000],
    "injection pattern 11, '<' then n spaces": [5_000, 20_000, 100_000],
}


def _timed(case: str, revision: str | None, n: int, queue: multiprocessing.Queue) -> None:
    text = CASES[case][0](n)
    function = CASES[case][1](revision)
    started = time.perf_counter()
    function(text)
    queue.put(time.perf_counter() - started)


def measure(case: str, revision: str | None, n: int, limit_s: float) -> float | None:
    queue: multiprocessing.Queue = multiprocessing.Queue()
    child = multiprocessing.Process(target=_timed, args=(case, revision, n, queue))
    child.start()
    child.join(limit_s)
    if child.is_alive():
        child.kill()
        child.join()
        return None
    return queue.get() if not queue.empty() else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", default="aa0104b", help="The revision to compare with.")
    parser.add_argument("--limit-s", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "parsers.json")
    args = parser.parse_args()
    rows = []
    for case in CASES:
        for n in SIZES[case]:
            before = measure(case, args.before, n, args.limit_s)
            after = measure(case, None, n, args.limit_s)
            rows.append({"case": case, "n": n, "before_s": before, "after_s": after})
            print(rows[-1], flush=True)
    report = {"before": args.before, "limit_s": args.limit_s, "rows": rows}

    def show(seconds: float | None) -> str:
        return f"> {args.limit_s:g} s" if seconds is None else f"{seconds * 1000:.1f} ms"

    lines = [f"| input | n | before ({args.before}) | after |", "|---|---|---|---|"]
    lines += [f"| {r['case']} | {r['n']:,} | {show(r['before_s'])} | {show(r['after_s'])} |" for r in rows]
    emit(report, "\n".join(lines), args.out)


if __name__ == "__main__":
    main()
