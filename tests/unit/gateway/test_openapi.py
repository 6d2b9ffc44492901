"""The OpenAPI document is complete: every status the API answers is documented with the
shared error body, the upload accepts both JSON and multipart, and the online endpoints
document their bodies with examples, their deadline header and Retry-After."""

from tradebus_gateway.app import create_app
from tradebus_gateway.settings import GatewaySettings

ONLINE = {
    "/v1/dealbrain/ask": ("AskIn", "AskOut"),
    "/v1/dealbrain/sessions/{session_id}/messages": ("SessionMessageIn", "AskOut"),
    "/v1/shadowhunter/hunt": ("HuntIn", "HuntOut"),
    "/v1/nexus/assess": ("AssessIn", "AssessOut"),
}
ONLINE_STATUSES = {"200", "401", "422", "429", "502", "503", "504"}


def spec() -> dict:
    return create_app(GatewaySettings()).openapi()


def test_every_error_status_is_documented_with_the_error_body() -> None:
    paths = spec()["paths"]
    expected = {
        ("/v1/rag/documents", "post"): {"202", "401", "413", "415", "422", "429", "503"},
        ("/v1/tasks/{task_id}", "get"): {"200", "401", "404", "422", "429", "503"},
        ("/v1/tasks/{task_id}/result", "get"): {
            "200",
            "401",
            "404",
            "409",
            "410",
            "422",
            "429",
            "503",
        },
        ("/v1/tasks", "get"): {"200", "401", "422", "429", "503"},
        ("/v1/tasks/{task_id}/cancel", "post"): {"200", "401", "404", "409", "422", "429", "503"},
        ("/v1/tasks/{task_id}", "delete"): {"204", "401", "404", "409", "422", "429", "503"},
        **{(path, "post"): ONLINE_STATUSES for path in ONLINE},
    }
    for (path, method), statuses in expected.items():
        responses = paths[path][method]["responses"]
        assert statuses <= set(responses), (path, method, sorted(responses))
        for status in statuses - {"200", "202", "204"}:
            schema = responses[status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (path, status)


def test_submission_documents_both_bodies_and_the_location_header() -> None:
    operation = spec()["paths"]["/v1/rag/documents"]["post"]
    assert set(operation["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    assert "Location" in operation["responses"]["202"]["headers"]
    assert "Idempotency-Key" in {p["name"] for p in operation["parameters"]}


def test_the_api_key_scheme_is_declared() -> None:
    document = spec()
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_online_endpoints_document_bodies_examples_and_headers() -> None:
    document = spec()
    schemas = document["components"]["schemas"]
    for path, (request_model, reply_model) in ONLINE.items():
        operation = document["paths"][path]["post"]
        body = operation["requestBody"]["content"]["application/json"]
        assert body["schema"] == {"$ref": f"#/components/schemas/{request_model}"}, path
        assert body["examples"], path
        assert "tenant_id" not in schemas[request_model]["properties"]  # the key decides
        ok = operation["responses"]["200"]
        assert ok["content"]["application/json"]["schema"] == {
            "$ref": f"#/components/schemas/{reply_model}"
        }
        assert ok["content"]["application/json"]["example"], path
        assert "X-Correlation-Id" in ok["headers"]
        for status in ("429", "503"):
            assert "Retry-After" in operation["responses"][status]["headers"], (path, status)
        parameters = {p["name"]: p for p in operation["parameters"]}
        assert {"X-Request-Timeout", "X-Correlation-Id", "traceparent"} <= set(parameters)
        assert parameters["X-Request-Timeout"]["in"] == "header"
        assert operation["security"] == [{"HTTPBearer": []}]


def test_reply_schemas_carry_the_reply_fields() -> None:
    schemas = spec()["components"]["schemas"]
    assert {"answer", "citations", "degraded", "latency_ms", "session_id", "retrieved"} <= set(
        schemas["AskOut"]["properties"]
    )
    assert {"leads", "partial", "providers", "degraded", "latency_ms"} <= set(
        schemas["HuntOut"]["properties"]
    )
    assert {"score", "band", "factors", "evidence", "rationale", "degraded"} <= set(
        schemas["AssessOut"]["properties"]
    )


def test_no_operation_documents_fastapis_own_validation_body() -> None:
    # Every 422 the gateway sends is an ErrorBody; FastAPI's default would lie about it.
    document = spec()
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_metadata_keys_are_constrained_by_name_not_by_pattern_properties() -> None:
    body = spec()["paths"]["/v1/rag/documents"]["post"]["requestBody"]["content"]
    metadata = body["application/json"]["schema"]["properties"]["metadata"]
    assert metadata["propertyNames"]["pattern"] == "^[A-Za-z0-9_:-]{1,64}$"
    assert metadata["maxProperties"] == 32
    assert "patternProperties" not in metadata
