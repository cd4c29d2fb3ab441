"""Citation precision and recall in the manner of ALCE (Gao et al., 2023, `compute_autoais`), with
the guard's support scorer (POST /v1/guard/support) in place of ALCE's TRUE NLI model.

- recall: the share of an answer's sentences whose cited passages, together, support the sentence
  (a sentence without citations counts as unsupported);
- precision: the share of citations that are needed: in a sentence with several citations whose
  joint support holds, a citation is irrelevant when it alone does not support the sentence and
  the others still do without it; in a sentence whose citations do not support it, none count.
"""

from __future__ import annotations

from dataclasses import dataclass

Evidence = tuple[int, tuple[int, ...]]  # (sentence index, 1-based passage numbers judged together)


@dataclass(frozen=True)
class CitationScores:
    precision: float
    recall: float
    citations: int


def evidence_needed(citations: list[list[int]]) -> list[Evidence]:
    """Every (sentence, passages) support judgement the scores need, without repeats."""
    needed: list[Evidence] = []
    for index, cited in enumerate(citations):
        cited = sorted(set(cited))
        if not cited:
            continue
        needed.append((index, tuple(cited)))
        if len(cited) > 1:
            for n in cited:
                needed.append((index, (n,)))
                needed.append((index, tuple(c for c in cited if c != n)))
    return list(dict.fromkeys(needed))


def citation_scores(citations: list[list[int]], supported: dict[Evidence, bool]) -> CitationScores:
    """`citations`: each sentence's cited passage numbers; `supported`: the judgements for
    `evidence_needed(citations)`. An answer without sentences scores 0 recall and precision."""
    entailed, precise, total = 0, 0, 0
    for index, cited in enumerate(citations):
        cited = sorted(set(cited))
        if not cited:
            continue
        total += len(cited)
        joint = supported[(index, tuple(cited))]
        entailed += joint
        if joint and len(cited) > 1:
            for n in cited:
                alone = supported[(index, (n,))]
                others_suffice = supported[(index, tuple(c for c in cited if c != n))]
                precise += alone or not others_suffice
        else:
            precise += joint
    return CitationScores(precision=precise / total if total else 0.0,
                          recall=entailed / len(citations) if citations else 0.0, citations=total)
