"""The RAG prompt: versioned template files rendered into the model's own chat template.

A template is a folder under prompts/ with `system.jinja`, `user.jinja` and `refusal.txt`; the user
template gets `question` and `passages` (each with `n`, `title`, `text`), numbered [1], [2], ... in
prompt order; the system template gets `refusal`, the sentence the model says when the passages do
not hold the answer (fine-tuning targets use the same sentence).
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
        if not all((folder / file).is_file() for file in ("system.jinja", "user.jinja", "refusal.txt")):
            available = ", ".join(sorted(p.name for p in PROMPTS_DIR.iterdir() if p.is_dir()))
            raise ValueError(f"no prompt template {name!r}; available: {available}")
        environment = jinja2.Environment(loader=jinja2.FileSystemLoader(folder), autoescape=False,
                                         keep_trailing_newline=False, undefined=jinja2.StrictUndefined)
        self.name = name
        self.refusal = (folder / "refusal.txt").read_text(encoding="utf-8").strip()
        self._system = environment.get_template("system.jinja")
        self._user = environment.get_template("user.jinja")
        self._tokenizer = tokenizer
        self._specials = special_token_strings(tokenizer)

    def messages(self, question: str, passages: list[NumberedPassage]) -> list[dict[str, str]]:
        defuse = self.defuse
        passages = [NumberedPassage(p.n, defuse(p.title), defuse(p.text)) for p in passages]
        return [
            {"role": "system", "content": self._system.render(refusal=self.refusal).strip()},
            {"role": "user", "content": self._user.render(question=defuse(question), passages=passages).strip()},
        ]

    def defuse(self, text: str) -> str:
        """Untrusted text with the model's control tokens ("<|im_end|>") broken up, so that they
        tokenize as plain text: a passage must not end the turn or open one of its own."""
        for special in self._specials:
            if special in text:
                text = text.replace(special, f"{special[0]} {special[1:]}")
        return text

    def token_ids(self, question: str, passages: list[NumberedPassage]) -> list[int]:
        ids = self._tokenizer.apply_chat_template(self.messages(question, passages), tokenize=True,
                                                  add_generation_prompt=True)
        return list(ids["input_ids"] if hasattr(ids, "keys") else ids)


def special_token_strings(tokenizer) -> list[str]:  # noqa: ANN001 - a transformers tokenizer
    """Every string the tokenizer turns into a special (control) token."""
    specials = set(getattr(tokenizer, "all_special_tokens", []))
    for token in getattr(tokenizer, "added_tokens_decoder", {}).values():
        if getattr(token, "special", False):
            specials.add(str(token))
    return sorted((s for s in specials if len(s) > 1), key=len, reverse=True)
