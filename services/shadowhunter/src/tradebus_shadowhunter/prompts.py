"""The LLM's instructions for an assessment rationale: the rubric's verdict and the
numbered evidence, and an order to use nothing else."""

from __future__ import annotations

from collections.abc import Sequence

from tradebus_contracts import AssessRequest
from tradebus_providers import ChatMessage

from .domain.rubric import Assessment, Item

MAX_EVIDENCE = 12
SNIPPET_CHARS = 300

SYSTEM = (
    "You explain counterparty assessments for a cross-border B2B trade platform. "
    "Write one short paragraph (at most five sentences) explaining the score. Use only the "
    "rubric and the numbered evidence given; cite evidence as [n]. If the evidence is thin, "
    "say so. Do not invent facts, names, dates or numbers."
)


def rationale_messages(
    request: AssessRequest, assessment: Assessment, evidence: Sequence[Item]
) -> list[ChatMessage]:
    about = [f"Counterparty: {request.counterparty}"]
    if request.country:
        about.append(f"Country: {request.country}")
    if request.website:
        about.append(f"Stated website: {request.website}")
    rubric = [
        f"- {f.name} (weight {f.weight:g}, value {f.value:g}, {f.contribution:g} points): "
        f"{f.explanation}"
        for f in assessment.factors
    ]
    items = [
        f"[{n}] ({item.source}, {item.url or item.title}) {item.title}: "
        f"{item.snippet[:SNIPPET_CHARS]}"
        for n, item in enumerate(evidence[:MAX_EVIDENCE], start=1)
    ]
    user = "\n".join(
        [
            *about,
            f"Score: {assessment.score:g}/100 ({assessment.band} confidence)",
            "Rubric:",
            *rubric,
            "Evidence:",
            *(items or ["(none found)"]),
        ]
    )
    return [ChatMessage("system", SYSTEM), ChatMessage("user", user)]
