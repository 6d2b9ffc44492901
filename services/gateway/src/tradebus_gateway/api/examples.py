"""OpenAPI documentation of the online endpoints: the answers each may give, examples of
request bodies (as Swagger UI offers them) and of 200 answers."""

from __future__ import annotations

from typing import Any

from ..errors import responses


def online_responses(description: str, example: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": description,
            "headers": {
                "X-Correlation-Id": {
                    "description": "The call's correlation id (yours, or a new one).",
                    "schema": {"type": "string"},
                }
            },
            "content": {"application/json": {"example": example}},
        },
        **responses(401, 403, 413, 422, 429, 502, 503, 504),
    }


ASK_EXAMPLES: dict[str, Any] = {
    "question": {
        "summary": "A question over the knowledge base",
        "value": {"question": "Who pays import duty under DAP?", "top_k": 5},
    },
    "filtered": {
        "summary": "Only EU documents, continuing a conversation",
        "value": {
            "question": "Which documents must the seller provide?",
            "filters": {"region": "EU"},
            "session_id": "deal-4711",
        },
    },
}
MESSAGE_EXAMPLES: dict[str, Any] = {
    "follow_up": {
        "summary": "The next turn of a conversation",
        "value": {"content": "And who arranges the export clearance?"},
    }
}
ASK_REPLY_EXAMPLE: dict[str, Any] = {
    "answer": "Under DAP the buyer pays import duty and clears the goods for import [1].",
    "citations": [
        {
            "document_id": "7f3c2a9e",
            "chunk_id": "7f3c2a9e:4",
            "title": "Incoterms 2020 overview",
            "snippet": "DAP: the buyer is responsible for import clearance and duties...",
            "score": 0.83,
        }
    ],
    "degraded": [],
    "latency_ms": {"retrieve": 12.4, "rerank": 31.0, "answer": 820.5},
    "session_id": "deal-4711",
    "retrieved": 20,
}
HUNT_EXAMPLES: dict[str, Any] = {
    "importers": {
        "summary": "Importers in one country",
        "value": {"query": "cold-rolled steel coil importers", "country": "Vietnam", "limit": 5},
    }
}
HUNT_REPLY_EXAMPLE: dict[str, Any] = {
    "leads": [
        {
            "name": "Hai Phong Steel JSC",
            "url": "https://haiphongsteel.vn",
            "score": 0.78,
            "factors": {"relevance": 0.9, "corroboration": 0.67, "site": 1.0},
            "sources": [
                {
                    "provider": "searxng",
                    "url": "https://haiphongsteel.vn/about",
                    "title": "About us",
                    "snippet": "Importer of cold-rolled coil since 2004",
                }
            ],
        }
    ],
    "partial": False,
    "providers": {"searxng": "ok"},
    "degraded": [],
    "latency_ms": {"search": 640.2, "score": 3.1},
}
ASSESS_EXAMPLES: dict[str, Any] = {
    "counterparty": {
        "summary": "Assess a counterparty",
        "value": {"counterparty": "Hai Phong Steel JSC", "country": "Vietnam"},
    }
}
ASSESS_REPLY_EXAMPLE: dict[str, Any] = {
    "counterparty": "Hai Phong Steel JSC",
    "score": 72.5,
    "band": "high",
    "factors": [
        {
            "name": "web_presence",
            "weight": 0.4,
            "value": 0.9,
            "contribution": 36.0,
            "explanation": "An official site and three independent mentions.",
        },
        {
            "name": "knowledge_base",
            "weight": 0.6,
            "value": 0.61,
            "contribution": 36.5,
            "explanation": "Named in two of the tenant's onboarding documents.",
        },
    ],
    "evidence": [
        {
            "source": "search",
            "provider": "searxng",
            "title": "Hai Phong Steel JSC",
            "snippet": "Importer of cold-rolled coil",
            "url": "https://haiphongsteel.vn",
        }
    ],
    "rationale": "Well corroborated importer with an established web presence.",
    "partial": False,
    "degraded": [],
    "latency_ms": {"evidence": 710.0, "rationale": 905.3},
}
