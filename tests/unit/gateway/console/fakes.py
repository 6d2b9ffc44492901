"""Hand-written fakes for console unit tests: a MongoDB collection with the few calls the
session store makes, and a fake operator API (the contract's routes, canned answers) on the
same app the console calls in-process, so a test sees exactly which calls a page makes."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tradebus_gateway.auth import Principal, digest
from tradebus_gateway.console import ConsoleSettings, install

OPERATOR_KEY = "tb_operator_unit_key"
TENANT_KEY = "tb_tenant_unit_key"
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


class FakeCollection:
    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.indexes: list[tuple[Any, dict[str, Any]]] = []

    async def create_index(self, keys: Any, **options: Any) -> str:
        self.indexes.append((keys, options))
        return str(keys)

    async def insert_one(self, doc: dict[str, Any]) -> None:
        assert doc["_id"] not in self.docs
        self.docs[doc["_id"]] = dict(doc)

    async def find_one(self, query: dict[str, Any]) -> dict[str, Any] | None:
        doc = self.docs.get(query["_id"])
        return dict(doc) if doc else None

    async def delete_one(self, query: dict[str, Any]) -> None:
        self.docs.pop(query["_id"], None)

    async def update_one(
        self, query: dict[str, Any], update: dict[str, Any], *, upsert: bool = False
    ) -> None:
        """`$set`, `$inc` and `$setOnInsert` by `_id`: what the login throttle and the
        sessions write."""
        doc = self.docs.get(query["_id"])
        if doc is None:
            if not upsert:
                return
            doc = self.docs[query["_id"]] = {"_id": query["_id"], **update.get("$setOnInsert", {})}
        doc.update(update.get("$set", {}))
        for name, by in update.get("$inc", {}).items():
            doc[name] = doc.get(name, 0) + by


class FakeDb:
    def __init__(self) -> None:
        self.collections: dict[str, FakeCollection] = {}

    def __getitem__(self, name: str) -> FakeCollection:
        return self.collections.setdefault(name, FakeCollection())


class FakeDirectory:
    async def resolve(self, api_key: str) -> Principal | None:
        if api_key == OPERATOR_KEY:
            return Principal("", digest(api_key), "operator", "night shift")
        if api_key == TENANT_KEY:
            return Principal("acme", digest(api_key), "tenant", "acme ci")
        return None


def _error(status: int, code: str, message: str = "") -> JSONResponse:
    return JSONResponse({"code": code, "message": message or code}, status_code=status)


def parked_message(**overrides: Any) -> dict[str, Any]:
    message = {
        "message_id": "m-1",
        "type": "omnirag.ingest.v1",
        "tenant_id": "acme",
        "task_id": "t-1",
        "reason": "malformed",
        "exception": "ValueError",
        "message": HOSTILE,
        "parked_at": "2026-12-03T08:00:00+00:00",
        "attempts": 4,
        "headers": {"x-exception-message": HOSTILE},
        "body_preview": HOSTILE,
    }
    return {**message, **overrides}


@dataclass
class FakeOperatorApi:
    """Answers as the contract says; `answers` overrides a path's JSON, `calls` records
    (method, path, query or body) of every call that got past auth."""

    answers: dict[str, Any] = field(default_factory=dict)
    statuses: dict[str, tuple[int, str]] = field(default_factory=dict)
    calls: list[tuple[str, str, Any]] = field(default_factory=list)
    revoked: bool = False

    def defaults(self) -> dict[str, Any]:
        lot = {
            "queue": "omnirag-ingest.ingest.dlq",
            "source": "omnirag-ingest.ingest",
            "count": 1,
            "groups": [{"reason": "malformed", "exception": "ValueError", "count": 1}],
        }
        task = {
            "id": "t-1",
            "tenant_id": "acme",
            "kind": "ingest",
            "status": "running",
            "progress": {"done": 3, "total": 8},
            "created_at": "2026-12-03T08:00:00+00:00",
            "updated_at": "2026-12-03T08:00:05+00:00",
            "error": None,
        }
        return {
            "/v1/operator/overview": {
                "queues": [
                    {
                        "name": "omnirag-ingest.ingest",
                        "kind": "work",
                        "ready": 7,
                        "unacked": 2,
                        "consumers": 1,
                        "publish_rate": 1.5,
                        "deliver_rate": 1.25,
                        "oldest_age_seconds": 95,
                    }
                ],
                "services": [
                    {"name": "omnirag-ingest", "consumers": 1, "queues": ["omnirag-ingest.ingest"]}
                ],
                "alerts": [],
                "sampled_at": "2026-12-03T08:00:00+00:00",
            },
            "/v1/operator/parking": {"lots": [lot]},
            "/v1/operator/parking/omnirag-ingest.ingest.dlq/messages": {
                "items": [parked_message()],
                "next_cursor": None,
            },
            "/v1/operator/tasks": {"items": [task], "next_cursor": None},
            "/v1/operator/tasks/t-1": {**task, "history": [], "result": None},
            "/v1/operator/parking/omnirag-ingest.ingest.dlq/replay": {"replayed": 1},
            "/v1/operator/parking/omnirag-ingest.ingest.dlq/purge": {"purged": 1},
            "/v1/operator/tasks/t-1/cancel": {**task, "status": "cancelled"},
        }

    def install(self, app: FastAPI) -> None:
        @app.api_route("/v1/operator/{rest:path}", methods=["GET", "POST"])
        async def operator(request: Request, rest: str) -> Any:
            auth = request.headers.get("authorization", "")
            key = auth.removeprefix("Bearer ")
            if key == TENANT_KEY:
                return _error(403, "forbidden", "this route needs an operator key")
            if key != OPERATOR_KEY or self.revoked:
                return _error(401, "unauthorized", "missing or invalid API key")
            path = request.url.path
            if request.method == "POST":
                body = await request.json() if await request.body() else None
                self.calls.append(("POST", path, body))
            else:
                self.calls.append(("GET", path, dict(request.query_params)))
            if path in self.statuses:
                return _error(*self.statuses[path])
            answers = {**self.defaults(), **self.answers}
            if path not in answers:
                return _error(404, "not_found", f"{path} not found")
            return answers[path]


def console_app(api: FakeOperatorApi | None = None) -> tuple[FastAPI, FakeDb]:
    """The console installed on a bare app holding only what it reads of the gateway's
    state (the database, the key directory) and the fake operator API."""
    app = FastAPI()
    db = FakeDb()
    app.state.gateway = SimpleNamespace(db=db, directory=FakeDirectory())
    (api or FakeOperatorApi()).install(app)
    install(app, ConsoleSettings(cookie_secure=False))
    return app, db
