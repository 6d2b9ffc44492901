"""Citations from `[n]` markers in an answer.

Passages are numbered from 1 in the prompt. The reply lists only the passages the answer
cites, in the order it first cites them, and the markers are renumbered to match, so a
client renders `[k]` as `citations[k-1]` without knowing the prompt. Markers that name no
passage (a model's slip) are removed rather than left dangling."""

from __future__ import annotations

import re
from collections.abc import Sequence

# [3]  [1, 2]  [2-4]  [1; 3]  (also the en dash a model may write in a range, and the
# full-width comma, enumeration comma and semicolon of a model answering in Chinese)
_MARKER = re.compile(r"\s?\[(\d{1,3}(?:\s*[,;\-\u2013\uff0c\u3001\uff1b]\s*\d{1,3})*)\]")
_PART = re.compile(r"(\d{1,3})(?:\s*[\-\u2013]\s*(\d{1,3}))?")
_MAX_RANGE = 20


def _numbers(group: str) -> list[int]:
    out: list[int] = []
    for match in _PART.finditer(group):
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) else first
        if last < first or last - first > _MAX_RANGE:
            last = first
        out.extend(range(first, last + 1))
    return out


def resolve_citations(
    text: str, passage_count: int, *, fallback: Sequence[int] = ()
) -> tuple[str, list[int]]:
    """(text with renumbered markers, 0-based passage indices in citation order).

    Without a single valid marker the text is returned as is and `fallback` (0-based
    indices, e.g. what an extractive answerer reports it used) gives the order."""
    order: list[int] = []
    position: dict[int, int] = {}

    def cite(number: int) -> int:
        if number not in position:
            position[number] = len(order) + 1
            order.append(number - 1)
        return position[number]

    def replace(match: re.Match[str]) -> str:
        valid = [n for n in _numbers(match.group(1)) if 1 <= n <= passage_count]
        if not valid:
            return ""
        renumbered = list(dict.fromkeys(cite(n) for n in valid))
        lead = match.group(0)[0]
        space = lead if lead.isspace() else ""
        return f"{space}[{', '.join(str(n) for n in renumbered)}]"

    rewritten = _MARKER.sub(replace, text)
    if order:
        return rewritten.strip(), order
    cited = [i for i in dict.fromkeys(fallback) if 0 <= i < passage_count]
    return rewritten.strip(), cited


def strip_citations(text: str) -> str:
    """An earlier answer without its markers: its `[n]` named that ask's passages, and
    left in a later prompt (or a summary) it would point at the wrong ones."""
    return _MARKER.sub("", text).strip()
