"""The RAG prompt: versioned template files rendered into the model's own chat template.

A template is a folder under prompts/ with `system.jinja` and `user.jinja`; the user template
gets `question` and `passages` (each with `n`, `title`, `text`), numbered [1], [2], ... in
prompt order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2

PROMPTS_DIR = Path(__file__).parent / "prompts"


@dataclass(frozen=True)
class NumberedPassage:
    n: int
    title: str
    text: str


class PromptTemplate:
    def __init__(self, name: str, tokenizer) -> None:  # noqa: ANN001 - a transformers tokenizer
        folder = PROMPTS_DIR / name
        if not (folder / "system.jinja").is_file() or not (folder / "user.jinja").is_file():
            available = ", ".join(sorted(p.name for p in PROMPTS_DIR.iterdir() if p.is_dir()))
            raise ValueError(f"no prompt template {name!r}; available: {available}")
        environment = jinja2.Environment(loader=jinja2.FileSystemLoader(folder), autoescape=False,
                                         keep_trailing_newline=False, undefined=jinja2.StrictUndefined)
        self.name = name
        self._system = environment.get_template("system.jinja")
        self._user = environment.get_template("user.jinja")
        self._tokenizer = tokenizer

    def messages(self, question: str, passages: list[NumberedPassage]) -> list[dict[str, str]]:
        return [
            {"role": "system", "content": self._system.render().strip()},
            {"role": "user", "content": self._user.render(question=question, passages=passages).strip()},
        ]

    def token_ids(self, question: str, passages: list[NumberedPassage]) -> list[int]:
        ids = self._tokenizer.apply_chat_template(self.messages(question, passages), tokenize=True,
                                                  add_generation_prompt=True)
        return list(ids["input_ids"] if hasattr(ids, "keys") else ids)
