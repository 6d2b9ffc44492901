"""The Node subscriber's validation (`examples/node-subscriber/contract.mjs`: ajv in strict
mode over contracts/schemas) agrees with the pydantic models: every payload the models
accept passes, payloads they refuse are refused, and the envelope is read from the headers
as our runtime writes them. No broker: the e2e tier runs the whole subscriber."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.support.node import NODE_SUBSCRIBER, ensure_packages, node
from tests.unit.contracts.test_registry_and_schemas import EXAMPLES
from tradebus_contracts import REGISTRY, Envelope

SCRIPT = """
import { readFileSync } from "node:fs";
import { decode, loadValidators, ContractError } from "./contract.mjs";
const validators = loadValidators(process.argv[1]);
const cases = JSON.parse(readFileSync(0, "utf8"));
const out = cases.map(({ headers, body }) => {
  try {
    const decoded = decode(validators, headers, Buffer.from(body, "utf8"));
    return decoded === null ? { skipped: true } : { ok: true, ...decoded };
  } catch (error) {
    if (!(error instanceof ContractError)) throw error;
    return { ok: false, error: error.message };
  }
});
console.log(JSON.stringify({ types: validators.size, out }));
"""


def _decode(cases: list[dict[str, Any]]) -> dict[str, Any]:
    ensure_packages(NODE_SUBSCRIBER)
    done = subprocess.run(
        [
            node(),
            "--input-type=module",
            "-e",
            SCRIPT,
            str(NODE_SUBSCRIBER.parents[1] / "contracts" / "schemas"),
        ],
        input=json.dumps(cases),
        cwd=NODE_SUBSCRIBER,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _case(message_type: str, payload: Any, **headers: str) -> dict[str, Any]:
    envelope = Envelope(type=message_type, source="tradebus/test", tenant_id="acme")
    return {"headers": {**envelope.to_headers(), **headers}, "body": json.dumps(payload)}


def test_every_schema_compiles_and_every_valid_payload_passes() -> None:
    examples = {t: p for t, p in EXAMPLES.items() if t in REGISTRY}
    assert len(examples) >= 10
    result = _decode([_case(t, p) for t, p in examples.items()])
    assert result["types"] == len(REGISTRY)  # ajv strict mode compiled every schema
    for (message_type, payload), got in zip(examples.items(), result["out"], strict=True):
        assert got["ok"], (message_type, got)
        assert got["data"] == payload
        assert got["envelope"]["type"] == message_type
        assert got["envelope"]["tenantid"] == "acme"


REFUSED = [
    ({"chunk_count": -1}, "/chunk_count must be >= 0"),
    ({"indexed_at": "yesterday"}, 'must match format "date-time"'),
    ({"title": None}, "/title must be string"),
]


def test_payloads_the_models_refuse_are_refused() -> None:
    model = REGISTRY.model_for("omnirag.document.indexed.v1")
    payloads = [EXAMPLES["omnirag.document.indexed.v1"] | change for change, _ in REFUSED]
    for payload in payloads:
        with pytest.raises(ValueError):
            model.model_validate(payload)
    results = _decode([_case("omnirag.document.indexed.v1", p) for p in payloads])["out"]
    for (_, reason), got in zip(REFUSED, results, strict=True):
        assert got["ok"] is False
        assert reason in got["error"]


def test_missing_fields_and_bad_envelopes_are_refused_unknown_types_skipped() -> None:
    payload = dict(EXAMPLES["omnirag.document.indexed.v1"])
    del payload["document_id"]
    no_type = _case("omnirag.document.indexed.v1", EXAMPLES["omnirag.document.indexed.v1"])
    del no_type["headers"]["cloudEvents:type"]
    results = _decode(
        [
            _case("omnirag.document.indexed.v1", payload),
            no_type,
            _case(
                "omnirag.document.indexed.v1",
                EXAMPLES["omnirag.document.indexed.v1"],
                **{"cloudEvents:specversion": "0.3"},
            ),
            _case("omnirag.document.archived.v1", {"anything": 1}),
            _case(
                "omnirag.document.indexed.v1",
                EXAMPLES["omnirag.document.indexed.v1"] | {"added_in_v1_later": True},
            ),
        ]
    )["out"]
    assert "must have required property 'document_id'" in results[0]["error"]
    assert "missing required header cloudEvents:type" in results[1]["error"]
    assert "unsupported CloudEvents specversion" in results[2]["error"]
    assert results[3] == {"skipped": True}
    assert results[4]["ok"] is True  # additive fields within v1 are accepted
