"""Shorter versions of a sentence with its likely-unsupported parts cut: trailing clauses
("..., which ...", "... and ...", "... but ..."), appositives between commas and parentheticals.
The guard scores each and keeps the longest one the passages support.

The sentence is model output (untrusted): one pass over its words, at most MAX_CANDIDATES results.
"""

from __future__ import annotations

from services.common.sentences import strip_citations

MAX_CANDIDATES = 4  # each is embedded (twice when short): the ladder's main cost
MIN_WORDS = 3
# Words that start a clause which adds a claim of its own: cut from here to the end.
CLAUSE_STARTS = frozenset(
    "which who whom whose where when while and but although though because including making as whereas".split())
# Cut before these even without a comma.
BARE_CLAUSE_STARTS = frozenset("which who whom whose while and but although whereas".split())


def trim_candidates(sentence: str) -> list[str]:
    """Shorter versions of `sentence` (citations removed), longest first, each of at least MIN_WORDS words."""
    words = strip_citations(sentence).rstrip(" .!?").split()
    cuts: list[int] = []  # keep words[:cut]
    removals: list[tuple[int, int]] = []  # drop words[start:end]
    comma_at: int | None = None
    paren_at: int | None = None
    for i, word in enumerate(words[:-1]):
        following = words[i + 1].lower()
        if word.endswith((",", ";", ":")) and (following in CLAUSE_STARTS or word.endswith(";")):
            cuts.append(i + 1)
        elif following in BARE_CLAUSE_STARTS or word in {"-", "–", "—"}:
            cuts.append(i + 1 if word not in {"-", "–", "—"} else i)
        if word.startswith("(") and paren_at is None:
            paren_at = i
        if paren_at is not None and word.endswith(")"):
            removals.append((paren_at, i + 1))
            paren_at = None
        if word.endswith(","):
            # An appositive (", the X of Y,") unless it opens a clause: ", which is ..., California"
            # is cut at the comma instead, or its removal would leave "Valley California".
            if comma_at is not None and words[comma_at + 1].lower() not in CLAUSE_STARTS:
                removals.append((comma_at + 1, i + 1))
            comma_at = i
    # Only the few longest results are kept, so only that many are built: each costs O(len(words)).
    candidates = [_join(words[:cut]) for cut in cuts[-MAX_CANDIDATES:]]
    for start, end in sorted(removals, key=lambda r: r[1] - r[0])[:MAX_CANDIDATES]:
        kept = words[:start] + words[end:]
        if start > 0:
            kept[start - 1] = kept[start - 1].rstrip(",")
        candidates.append(_join(kept))
    unique = {c for c in candidates if len(c.split()) >= MIN_WORDS and c != _join(words)}
    return sorted(unique, key=len, reverse=True)[:MAX_CANDIDATES]


def _join(words: list[str]) -> str:
    return " ".join(words).rstrip(" ,;:-–—")
