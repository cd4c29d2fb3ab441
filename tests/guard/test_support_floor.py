"""The support scorer's floor: pairs that cannot reach it are not embedded, and every other score is
the one it gets without a floor."""

import asyncio

from tests.guard.conftest import APOLLO

PASSAGES = [f"{APOLLO['title']}. {APOLLO['text']}", "Paris. Paris is the capital and largest city of France."]
CLAIMS = [
    "Neil Armstrong landed on the Moon in 1969.",  # supported: must be scored as without a floor
    "Yuri Gagarin landed on the Moon in 1971.",  # a name and a number the passages lack: below any floor of 0.7
    "Bananas grow in tropical rainforests.",  # no content word in common: at most 0.5
]
PAIRS = [(c, (p,)) for c in range(len(CLAIMS)) for p in range(len(PASSAGES))]


def test_floor_skips_unreachable_claims_and_keeps_the_rest_exact(client):
    scorer = client.app.state.guard.support
    exact = asyncio.run(scorer.score(CLAIMS, PASSAGES, PAIRS, "who landed on the moon"))
    encoded: list[str] = []
    encode = scorer.encoder.encode
    scorer.encoder.encode = lambda texts: encoded.extend(texts) or encode(texts)
    try:
        floored = asyncio.run(scorer.score(CLAIMS, PASSAGES, PAIRS, "who landed on the moon", floor=0.7))
    finally:
        scorer.encoder.encode = encode
    assert CLAIMS[0] in encoded and CLAIMS[1] not in encoded and CLAIMS[2] not in encoded
    for pair, without, with_floor in zip(PAIRS, exact, floored, strict=True):
        if "below the floor unembedded" in with_floor.reasons:  # an upper bound, below the floor
            assert without.score <= with_floor.score < 0.7
        else:
            assert with_floor.score == without.score
    assert floored[0].score == exact[0].score >= 0.7  # the supported claim against its passage
    assert all("below the floor unembedded" in s.reasons for s in floored[2:])
