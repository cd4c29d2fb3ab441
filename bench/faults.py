"""Fault suite against the real local stack: concurrent streamed answers while, in turn, each service
is killed (SIGKILL; supervisord brings it back), the generator is frozen (SIGSTOP) for a while, and
Redis is stopped and started. Every request must end with exactly one terminal event (`done` or
`error`) or a clean HTTP error, none may outlive the request deadline, the stack must answer again
within 60 s of each fault, and no key, revocation or rate-limit state may be lost across the Redis
restart (AOF). Prints JSON and a table; loopback only, bounded in requests and time.

    .ninjarag/venvs/cli/bin/python bench/faults.py [--streams 32] [--freeze-s 30] [--out bench/results/faults.json]

It starts its own stack (own run dir and ports, GATEWAY_REQUEST_DEADLINE_S=60, eager generator) and
stops it at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from httpx_sse import EventSource

from ninjarag import keys, stack
from ninjarag.settings import StackSettings
from report import emit, free_port
from services.common.contracts.answer import TERMINAL_EVENTS

DEADLINE_S = 60.0
RECOVERY_LIMIT_S = 60.0
QUESTIONS = ["Who wrote Hamlet?", "What is the capital of Italy?", "When did Apollo 11 land?", "Who painted the Mona Lisa?",
             "What is the largest planet?", "Who discovered penicillin?", "What is the speed of light?",
             "Who composed the Ninth Symphony?"]


@dataclass
class Outcome:
    """One request as its client saw it."""

    status: int = 0
    terminal: list[str] = field(default_factory=list)
    error_type: str | None = None
    seconds: float = 0.0

    @property
    def clean(self) -> bool:
        """Exactly one terminal event in a stream, or a refusal / error answered as plain HTTP."""
        return len(self.terminal) == 1 if self.status == 200 else self.status in (401, 429, 502, 503, 504)


async def one_answer(http: httpx.AsyncClient, key: str, question: str, max_tokens: int) -> Outcome:
    outcome, started = Outcome(), time.monotonic()
    headers = {"Authorization": f"Bearer {key}", "Accept": "text/event-stream", "Cache-Control": "no-cache"}
    try:
        async with http.stream("POST", "/v1/answer", json={"question": question, "max_tokens": max_tokens},
                               headers=headers) as response:
            outcome.status = response.status_code
            if response.is_error:
                await response.aread()
                outcome.error_type = response.json().get("type", f"http_{response.status_code}")
            else:
                async for sse in EventSource(response).aiter_sse():
                    if sse.event in TERMINAL_EVENTS:
                        outcome.terminal.append(sse.event)
                        if sse.event == "error":
                            outcome.error_type = json.loads(sse.data)["type"]
    except httpx.HTTPError as exc:
        outcome.error_type = f"transport:{type(exc).__name__}"
    outcome.seconds = time.monotonic() - started
    return outcome


async def answers_until_healthy(settings: StackSettings, key: str, limit_s: float) -> float | None:
    """Seconds until a fresh answer ends in `done` again, or None past `limit_s`."""
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=settings.gateway_url, timeout=httpx.Timeout(DEADLINE_S + 10)) as http:
        while time.monotonic() - started < limit_s:
            outcome = await one_answer(http, key, "What is the capital of France?", 16)
            if outcome.terminal == ["done"]:
                return round(time.monotonic() - started, 1)
            await asyncio.sleep(1)
    return None


Fault = Callable[[StackSettings], Awaitable[dict | None]]


def kill(program: str) -> Fault:
    async def inject(settings: StackSettings) -> None:
        os.kill(stack.program_pid(settings, program), signal.SIGKILL)  # supervisord restarts it (autorestart)

    return inject


def freeze(program: str, seconds: float) -> Fault:
    async def inject(settings: StackSettings) -> None:
        pid = stack.program_pid(settings, program)
        os.kill(pid, signal.SIGSTOP)
        await asyncio.sleep(seconds)
        os.kill(pid, signal.SIGCONT)

    return inject


async def restart_redis(settings: StackSettings) -> dict:
    """Redis stopped for 3 s and started again; a witness key's rate-limit bucket, drawn down just
    before, must still be there afterwards (AOF), not refilled as if the key were new."""
    import redis.asyncio as redis  # noqa: PLC0415

    from services.gateway.ratelimit import RateLimiter  # noqa: PLC0415

    client = redis.Redis.from_url(settings.redis_url)
    bucket = "ninjarag:ratelimit:faults-witness"
    limiter = RateLimiter(client)
    for _ in range(30):
        await limiter.take("faults-witness", 60)  # 30 of 60 taken: refills at 1 a second
    await client.aclose()
    stack._supervisorctl(settings, "stop", "redis")  # noqa: SLF001
    await asyncio.sleep(3)
    stack._supervisorctl(settings, "start", "redis")  # noqa: SLF001
    client = redis.Redis.from_url(settings.redis_url)
    try:
        tokens = await client.hget(bucket, "tokens")
    finally:
        await client.aclose()
    return {"rate_limit_state_kept": tokens is not None and float(tokens) < 50}


async def run_fault(settings: StackSettings, name: str, inject: Fault,
                    api_keys: list[str], probe_key: str, streams: int, max_tokens: int) -> dict:
    """Recovery is timed from the end of the fault (the kill, the thaw, Redis started again) to the
    first fresh answer that ends in `done`, probed once a second beside the requests still in flight."""
    limits = httpx.Limits(max_connections=streams + 4)
    async with httpx.AsyncClient(base_url=settings.gateway_url, timeout=httpx.Timeout(DEADLINE_S + 30, connect=5),
                                 limits=limits) as http:
        requests = [asyncio.create_task(one_answer(http, api_keys[i % len(api_keys)], QUESTIONS[i % len(QUESTIONS)],
                                                   max_tokens)) for i in range(streams)]
        await asyncio.sleep(1.0)  # the answers are under way
        facts = await inject(settings) or {}
        recovery = asyncio.create_task(answers_until_healthy(settings, probe_key, RECOVERY_LIMIT_S))
        outcomes = await asyncio.gather(*requests)
        recovery_s = await recovery
    errors = Counter(o.error_type for o in outcomes if o.error_type)
    return {
        "fault": name, "requests": len(outcomes),
        "one_terminal_event_or_clean_http_error": sum(o.clean for o in outcomes),
        "not_clean": sum(not o.clean for o in outcomes),
        "done": sum(o.terminal == ["done"] for o in outcomes), "errors": dict(errors),
        "max_latency_s": round(max(o.seconds for o in outcomes), 1),
        "past_deadline": sum(o.seconds > DEADLINE_S + 5 for o in outcomes),
        "recovery_s": recovery_s,
        **facts,
    }


def key_state(settings: StackSettings) -> dict[str, bool]:
    return {key.key_id: key.revoked for key in keys.list_keys(settings)}


def make_keys(settings: StackSettings, count: int) -> list[str]:
    made = [keys.create(settings, f"faults-{n}", 600)[0] for n in range(count)]
    _, revoked = keys.create(settings, "faults-revoked", 600)
    keys.revoke(settings, revoked.key_id)
    return made


def faults(freeze_s: float) -> list[tuple[str, Fault]]:
    return [("kill retriever", kill("retriever")), ("kill generator", kill("generator")), ("kill guard", kill("guard")),
            (f"freeze generator {freeze_s:g} s", freeze("generator", freeze_s)), ("restart redis", restart_redis)]


async def run_suite(settings: StackSettings, selected: list[tuple[str, Fault]], streams: int, max_tokens: int) -> dict:
    # The key commands run their own event loop: in a thread, beside this one.
    api_keys = await asyncio.to_thread(make_keys, settings, max(1, streams // 4))  # 4 streams a key: the limit
    probe_key = (await asyncio.to_thread(keys.create, settings, "faults-probe", 600))[0]
    rows = []
    for name, inject in selected:
        before_keys = await asyncio.to_thread(key_state, settings)
        row = await run_fault(settings, name, inject, api_keys, probe_key, streams, max_tokens)
        after_keys = await asyncio.to_thread(key_state, settings)
        row["keys_lost"] = sum(key_id not in after_keys or after_keys[key_id] != revoked
                               for key_id, revoked in before_keys.items())
        rows.append(row)
    return {"streams": streams, "deadline_s": DEADLINE_S, "faults": rows}


def table(report: dict) -> str:
    lines = ["| fault | requests | one terminal event / clean HTTP error | done | errors by type | max latency s | "
             "recovery s | keys lost |", "|---|---|---|---|---|---|---|---|"]
    for row in report["faults"]:
        errors = ", ".join(f"{k} {v}" for k, v in sorted(row["errors"].items())) or "none"
        lines.append(f"| {row['fault']} | {row['requests']} | {row['one_terminal_event_or_clean_http_error']} | "
                     f"{row['done']} | {errors} | {row['max_latency_s']} | {row['recovery_s']} | {row['keys_lost']} |")
    return "\n".join(lines)


def fault_stack_settings(run_dir: Path) -> StackSettings:
    os.environ.update({"GENERATOR_ENFORCE_EAGER": "true", "GATEWAY_REQUEST_DEADLINE_S": str(DEADLINE_S)})
    return StackSettings(run_dir=run_dir, gateway_port=free_port(), retriever_port=free_port(),
                         generator_port=free_port(), guard_port=free_port(), redis_port=free_port(), ready_timeout_s=600)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, default=32)
    parser.add_argument("--freeze-s", type=float, default=30.0)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--only", action="append", help="Run only the faults whose name starts with this.")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "faults.json")
    args = parser.parse_args()
    selected = [f for f in faults(args.freeze_s) if not args.only or any(f[0].startswith(o) for o in args.only)]
    with tempfile.TemporaryDirectory(prefix="ninjarag-faults-") as run_dir:
        settings = fault_stack_settings(Path(run_dir))
        stack.up(settings, print)
        try:
            report = asyncio.run(run_suite(settings, selected, args.streams, args.max_tokens))
        finally:
            stack.down(settings)
    emit(report, table(report), args.out)


if __name__ == "__main__":
    main()
