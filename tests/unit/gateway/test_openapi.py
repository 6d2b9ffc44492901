"""The OpenAPI document is complete: every status the API answers is documented with the
shared error body, and the upload accepts both JSON and multipart."""

from tradebus_gateway.app import create_app
from tradebus_gateway.settings import GatewaySettings


def spec() -> dict:
    return create_app(GatewaySettings()).openapi()


def test_every_error_status_is_documented_with_the_error_body() -> None:
    paths = spec()["paths"]
    expected = {
        ("/v1/rag/documents", "post"): {"202", "401", "413", "415", "422", "429", "503"},
        ("/v1/tasks/{task_id}", "get"): {"200", "401", "404", "429"},
        ("/v1/tasks/{task_id}/result", "get"): {"200", "401", "404", "409", "410", "429"},
        ("/v1/tasks", "get"): {"200", "401", "422", "429"},
        ("/v1/tasks/{task_id}", "delete"): {"200", "401", "404", "409", "429"},
    }
    for (path, method), statuses in expected.items():
        responses = paths[path][method]["responses"]
        assert statuses <= set(responses), (path, method, sorted(responses))
        for status in statuses - {"200", "202"}:
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
