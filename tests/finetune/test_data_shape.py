"""The training prompts are shaped as the generator serves them: the same packer, the same tokens."""

from __future__ import annotations

from pathlib import Path

import pytest

from ninjarag.finetune.data import Builder, Example
from ninjarag.finetune.recipe import RECIPES_DIR, Recipe
from services.common.contracts.search import Passage
from services.generator.packing import build_packer
from services.generator.settings import GeneratorSettings

QUESTION = "who wrote the novel moby dick"


def passage(n: int, words: int) -> Passage:
    return Passage(id=f"p{n}", title=f"Title {n}", text=" ".join(f"word{n}x{i}" for i in range(words)) + ".")


@pytest.fixture(scope="module")
def builder(home) -> Builder:
    # The retriever is not asked: these tests shape passages given to them.
    return Builder(Recipe.load(RECIPES_DIR / "smollm2-135m-v2.toml"), home, retriever=None, models=home.models)


def test_packed_examples_render_the_served_prompt_token_for_token(builder, home):
    passages = [passage(n, 90) for n in range(1, 11)]
    shown = builder.shape(QUESTION, passages)
    served = build_packer(GeneratorSettings(), builder.tokenizer).pack(QUESTION, passages, 64, "latency")
    example = builder.tokenize(Example("test", QUESTION, shown, "Herman Melville [1]."))
    assert 3 <= len(shown) < len(passages)  # latency packing: the first three, then what fits the bucket
    assert example.prompt_ids == served.token_ids


def test_an_answer_the_prompt_leaves_out_is_moved_into_view(builder):
    passages = [passage(n, 90) for n in range(1, 11)]
    passages[9] = Passage(id="answer", title="Moby-Dick", text="Moby-Dick is an 1851 novel by Herman Melville.")
    shown = builder.shape(QUESTION, passages)
    assert all("Melville" not in p["text"] for p in shown)
    moved = builder.with_answer_in_view(QUESTION, passages, ["Herman Melville"])
    assert len(moved) >= len(shown)  # a shorter passage in view can leave room for one more
    assert sum("Melville" in p["text"] for p in moved) == 1


def test_own_paragraph_is_shown_at_the_number_the_target_cites(builder):
    own = passage(0, 400)  # longer than max_passage_tokens: the packer cuts it
    distractors = [passage(n, 10 + 15 * n) for n in range(1, 11)]
    placed = [builder.among_distractors(QUESTION, own, distractors) for _ in range(20)]
    numbers = set()
    for result in placed:
        if result is not None:  # None: the packer left it out; that question gives no example
            shown, n = result
            assert shown[n - 1]["text"].startswith("word0x0")
            numbers.add(n)
    assert len(numbers) > 1  # the own paragraph moves: the model must not learn "always [1]"


def test_span_recipes_target_only_the_answer_and_sentence_recipes_the_sentence(builder, home):
    sentence = "Moby-Dick is an 1851 novel by American writer Herman Melville."
    answers = ["jules verne", "herman melville"]
    assert builder.answer_target(sentence, answers, 2) == (
        "Moby-Dick is an 1851 novel by American writer Herman Melville [2].")
    # The Qwen span recipe's data settings, on the default model's tokenizer (the target is text).
    span_recipe = Recipe.load(RECIPES_DIR / "qwen2.5-coder-0.5b-v2.toml").model_copy(
        update={"base_model": builder.recipe.base_model})
    assert span_recipe.data.answer == "span"
    span_builder = Builder(span_recipe, home, retriever=None, models=home.models)
    assert span_builder.answer_target(sentence, answers, 2) == "Herman Melville [2]."


def test_the_shipped_recipes_load():
    for path in Path(RECIPES_DIR).glob("*.toml"):
        Recipe.load(path)
