"""`ninjarag eval`: ask every question of every system through the running gateway, score the
answers (citations through the guard), append each record as it finishes, then write the summary,
the records and the plots. A second run with the same output folder resumes where the first stopped."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import httpx
from tqdm import tqdm

from ninjarag.errors import UserError
from ninjarag.eval.citations import CitationScores, citation_scores, evidence_needed
from ninjarag.client import GatewayAnswer, ask_gateway
from ninjarag.eval.dataset import EvalQuestion, load_questions
from ninjarag.eval.plots import write_plots
from ninjarag.eval.records import Record, RecordStore, score
from ninjarag.eval.summary import markdown_table, summarize
from ninjarag.eval.systems import System, select_systems
from services.common.contracts.answer import AnswerRequest
from services.common.contracts.guard import SupportPair, SupportRequest, SupportResult
from services.common.contracts.search import Passage
from services.common.http import bearer


@dataclass
class EvalConfig:
    questions: Path
    out: Path
    # Gateways to compare, by name (e.g. two models behind the same retrieval); with more than one,
    # each system is asked of each, and named "<gateway>/<system>".
    gateways: dict[str, str]
    guard_url: str
    api_key: str | None
    systems: list[str]
    service_token: str | None = None  # the guard's /v1/guard/support is an internal route
    limit: int | None = None
    concurrency: int = 4
    top_k: int = 10
    max_tokens: int = 64
    restart: bool = False
    command: str = ""
    split: str = "custom question file"  # which questions, and how they were chosen (recorded in the outputs)
    # A generator variant to ask of a gateway, by gateway name (`--variant`): its `model` in each request.
    models: dict[str, str] = field(default_factory=dict)


@dataclass
class EvalOutcome:
    summary: dict[str, dict]
    table: str
    files: list[Path]
    asked: int
    resumed: int


# Answers refused for load are asked again after their Retry-After, a few times, before they count as errors.
BUSY = {"rate_limited", "overloaded"}
BUSY_RETRIES = 5
BUSY_WAIT_MAX_S = 10.0


def run_eval(config: EvalConfig) -> EvalOutcome:
    return asyncio.run(_run(config))


async def _run(config: EvalConfig) -> EvalOutcome:
    questions = load_questions(config.questions, config.limit)
    systems = select_systems(config.systems)
    routes = [(name, url, replace(system, name=f"{name}/{system.name}") if len(config.gateways) > 1 else system)
              for name, url in config.gateways.items() for system in systems]
    store = RecordStore(config.out / "records.jsonl")
    if config.restart:
        store.reset()
    # The latest record per (system, question) wins; failed ones are asked again.
    latest = {record.key: record for record in store.load()}
    todo = [(q, route) for q in questions for route in routes
            if (route[2].name, q.id) not in latest or latest[(route[2].name, q.id)].error_type]
    async with contextlib.AsyncExitStack() as clients:
        gateways = {name: await clients.enter_async_context(
            httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(300, connect=5))) for name, url in config.gateways.items()}
        guard = await clients.enter_async_context(httpx.AsyncClient(
            base_url=config.guard_url, timeout=httpx.Timeout(60, connect=5), headers=bearer(config.service_token)))
        for name, gateway in gateways.items():
            label = f"gateway {name}" if len(gateways) > 1 else "gateway"
            await _check_reachable(gateway, label, "start the stack with `ninjarag up`")
        await _check_reachable(guard, "guard", "citation scores need the guard; start the stack with `ninjarag up`")
        progress = tqdm(total=len(todo), unit="answer", desc="eval", dynamic_ncols=True)
        gate = asyncio.Semaphore(config.concurrency)

        async def one(question: EvalQuestion, route: tuple[str, str, System]) -> None:
            gateway_name, _, system = route
            async with gate:
                record = await _evaluate(gateways[gateway_name], guard, config, question, system,
                                         config.models.get(gateway_name))
            store.append(record)
            latest[record.key] = record
            progress.update()
            outcome = f"error {record.error_type}" if record.error_type else ("correct" if record.accuracy else "wrong")
            progress.set_postfix_str(f"{system.name}: {outcome}")

        await asyncio.gather(*(one(q, route) for q, route in todo))
        progress.close()
    records = [latest[(system.name, q.id)] for _, _, system in routes for q in questions]
    return _write_outputs(config, records, asked=len(todo), resumed=len(records) - len(todo))


async def _check_reachable(client: httpx.AsyncClient, name: str, hint: str) -> None:
    try:
        response = await client.get("/readyz")
    except httpx.HTTPError:
        raise UserError(f"no {name} answers at {client.base_url}: {hint}") from None
    if response.status_code != 200:
        raise UserError(f"the {name} at {client.base_url} is not ready ({response.text[:200]}); wait, or see its log")


async def _evaluate(gateway: httpx.AsyncClient, guard: httpx.AsyncClient, config: EvalConfig,
                    question: EvalQuestion, system: System, model: str | None) -> Record:
    request = AnswerRequest(question=question.question, top_k=config.top_k, max_tokens=config.max_tokens,
                            retrieval=system.retrieval, guard=system.guard, model=model)
    answer = await ask_gateway(gateway, request, config.api_key)
    for _ in range(BUSY_RETRIES):  # a limit reached for a moment (a stream lease not yet given back)
        if answer.error_type not in BUSY:
            break
        wait_s = answer.retry_after_s if answer.retry_after_s is not None else 1.0
        await asyncio.sleep(min(BUSY_WAIT_MAX_S, wait_s))
        answer = await ask_gateway(gateway, request, config.api_key)
    citations = None
    if answer.error_type is None and answer.verdict != "refuse" and answer.sources and answer.sentences:
        try:
            citations = await _score_citations(guard, question.question, answer)
        except httpx.HTTPError as exc:
            answer.error_type, answer.error = "citation_scoring_failed", f"{type(exc).__name__}: {exc}"
    return score(system, question, answer, citations)


async def _score_citations(guard: httpx.AsyncClient, question: str, answer: GatewayAnswer) -> CitationScores:
    """Each sentence judged as the answer to the question, as the guard's output check judges it (a bare
    "Mariah Carey [1]." says nothing on its own)."""
    cited = [[n for n in s.citations if 1 <= n <= len(answer.sources)] for s in answer.sentences]
    needed = evidence_needed(cited)
    if not needed:
        return citation_scores(cited, {})
    request = SupportRequest(
        sentences=[s.text for s in answer.sentences],
        passages=[Passage(id=s.id, title=s.title, text=s.text) for s in answer.sources],
        pairs=[SupportPair(sentence=index, passages=list(numbers)) for index, numbers in needed], question=question)
    response = await guard.post("/v1/guard/support", json=request.model_dump(mode="json"))
    response.raise_for_status()
    result = SupportResult.model_validate(response.json())
    return citation_scores(cited, {pair: s.supported for pair, s in zip(needed, result.scores, strict=True)})


def _write_outputs(config: EvalConfig, records: list[Record], asked: int, resumed: int) -> EvalOutcome:
    summary = summarize(records)
    table = markdown_table(summary)
    out = config.out
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items() if k != "api_key"}
    (out / "results.json").write_text(json.dumps(
        {"config": settings, "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
         "summary": summary, "records": [r.model_dump(mode="json") for r in records]}) + "\n")
    questions = len({r.id for r in records})
    (out / "summary.md").write_text(
        f"# Evaluation: {config.questions.name}, {questions} questions\n\n"
        f"Command: `{config.command}`\n\nQuestions: {config.split}.\n\n"
        f"top_k {config.top_k}, max_tokens {config.max_tokens}, concurrency {config.concurrency}. Accuracy: an "
        "accepted answer occurs in the normalised answer (DBRX RAG eval / FlashRAG `acc`); R@k: an accepted "
        "answer occurs in one of the top k passages; citation precision and recall as ALCE computes them, with "
        "the guard's support scorer in place of ALCE's NLI model, each sentence judged with its question (a "
        "sentence of at most 5 content words as the answer to it, as the guard judges it). Percentages; "
        "latencies in ms, measured by the client.\n\n" + table + "\n\n![accuracy by retrieval](accuracy_by_retrieval.png)\n"
        "![latency](latency.png)\n![recall at k](recall_at_k.png)\n")
    plots = write_plots(records, summary, out)
    return EvalOutcome(summary, table, [out / "results.json", out / "summary.md", out / "records.jsonl", *plots],
                       asked, resumed)
