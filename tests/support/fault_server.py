"""A local stand-in for the external APIs the providers call, with faults on demand.

It speaks the same shapes as the real services: OpenAI-compatible chat completions and
embeddings, the Cohere/Jina rerank API and the SearXNG JSON search API (at `/search`
and per engine at `/engines/{engine}/search`). Answers are deterministic functions of
the request, so tests can assert on them.

Faults are set per route name (`chat`, `rerank`, `search`, `search:<engine>`,
`embeddings` or `*`) through the control API, so the same test drives an in-process
server or a separate process that real services point at:

    POST /_control/faults  {"route": "chat", "latency_ms": 800, "status": 429,
                            "retry_after": 1, "hang": false, "fail_first": 3,
                            "malformed": false}
    POST /_control/corpus  {"engine": "acme", "results": [{"title", "url", "content"}]}
    POST /_control/reset   (faults, stats and corpora)
    GET  /_control/stats   {route: {requests, in_flight, max_in_flight, statuses}}

`status` alone fails every request; with `fail_first: N` only the next N fail. A hang
lasts until the client disconnects (or HANG_CAP_SECONDS) and counts in `in_flight`;
a request whose client went away is recorded as status 499.

In a test:   async with running_fault_server() as server: ... server.url ...
As a process: python -m tests.support.fault_server --port 8930
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import re
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tradebus_knowledge import HashingEmbedder

HANG_CAP_SECONDS = 120.0
PAGE_SIZE = 10
CLIENT_CLOSED = 499  # nginx's code for "the client went away before the answer"
_ROUTE = re.compile(r"^(chat|rerank|search|embeddings|\*|search:[A-Za-z0-9_-]+)$")
_WORD = re.compile(r"\w+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_MARKER = re.compile(r"\[(\d+)\]")


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


# ---------------------------------------------------------------- faults and stats


@dataclass
class Fault:
    latency_ms: float = 0.0
    status: int | None = None
    retry_after: float | str | None = None
    hang: bool = False
    fail_first: int | None = None
    malformed: bool = False

    def failure(self) -> int | None:
        """The status this request fails with, if any (consumes a `fail_first` slot)."""
        if self.status is None:
            return None
        if self.fail_first is None:
            return self.status
        if self.fail_first > 0:
            self.fail_first -= 1
            return self.status
        return None


@dataclass
class RouteStats:
    requests: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    statuses: Counter[int] = field(default_factory=Counter)

    def as_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "statuses": {str(code): n for code, n in sorted(self.statuses.items())},
        }


@dataclass
class FaultState:
    faults: dict[str, Fault] = field(default_factory=dict)
    stats: dict[str, RouteStats] = field(default_factory=dict)
    corpora: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # OpenAI's API takes `dimensions` per request, but clients often omit it.
    embedding_dimensions: int = 384
    closing: asyncio.Event = field(default_factory=asyncio.Event)

    def fault_for(self, route: str) -> Fault | None:
        family = route.split(":", 1)[0]
        return self.faults.get(route) or self.faults.get(family) or self.faults.get("*")

    def reset(self) -> None:
        self.faults.clear()
        self.stats.clear()
        self.corpora.clear()


def parse_fault(spec: Mapping[str, Any]) -> tuple[str, Fault]:
    spec = dict(spec)
    route = spec.pop("route", None)
    if not isinstance(route, str) or not _ROUTE.match(route):
        raise BadRequest(
            f"route must be chat, rerank, search, search:<engine>, embeddings or *: {route!r}"
        )
    known = {f.name for f in fields(Fault)}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise BadRequest(f"unknown fault fields {unknown}; known: {sorted(known)}")
    return route, Fault(**spec)


# ---------------------------------------------------------------- the fake APIs


_COMMON = frozenset(
    ("the", "and", "for", "are", "but", "not", "you", "all", "any", "can", "has", "had", "was",
     "our", "who", "what", "which", "how", "does", "did", "with", "from", "that", "this",
     "these", "those", "under", "when", "where", "why", "into", "about", "their", "there",
     "them", "they", "then", "than", "will", "would", "should", "could")
)  # fmt: skip


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if len(w) > 2 and w not in _COMMON}


def chat_completion(body: Any) -> dict[str, Any]:
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, list) or not messages:
        raise BadRequest("messages must be a non-empty list")
    texts = [str(m.get("content", "")) if isinstance(m, dict) else "" for m in messages]
    users = [i for i, m in enumerate(messages) if isinstance(m, dict) and m.get("role") == "user"]
    if not users:
        raise BadRequest("no user message")
    question = texts[users[-1]]
    reply = _first_matching_sentence(
        _words(question), [t for i, t in enumerate(texts) if i != users[-1]]
    )
    words = reply.split()
    max_tokens = int(body.get("max_tokens") or 512)
    finish = "length" if len(words) > max_tokens else "stop"
    reply = " ".join(words[:max_tokens])
    prompt = sum(len(t.split()) for t in texts)
    digest = hashlib.blake2b(json.dumps(body, sort_keys=True).encode(), digest_size=8).hexdigest()
    return {
        "id": f"chatcmpl-{digest}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fault-server"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply},
                "finish_reason": finish,
            }
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": len(reply.split()),
            "total_tokens": prompt + len(reply.split()),
        },
    }


def _first_matching_sentence(wanted: set[str], context: list[str]) -> str:
    """The first context sentence sharing a word with the question, cited by the
    `[n]` label of the block it sits in ([1] when the context is not numbered)."""
    for text in context:
        pieces = _MARKER.split(text)  # ["instructions", "1", "block 1", "2", "block 2", ...]
        blocks = list(zip(pieces[1::2], pieces[2::2], strict=True)) or [("1", text)]
        for number, block in blocks:
            for sentence in _SENTENCE.split(" ".join(block.split())):
                if wanted & _words(sentence):
                    return f"{sentence} [{number}]"
    return "The context does not say."


def rerank(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("documents"), list):
        raise BadRequest("documents must be a list")
    query = _words(str(body.get("query", "")))
    docs = [d.get("text", "") if isinstance(d, dict) else str(d) for d in body["documents"]]
    scores = [len(query & _words(d)) / len(query) if query else 0.0 for d in docs]
    ranked = sorted(range(len(docs)), key=lambda i: (-scores[i], i))
    top_n = int(body.get("top_n") or len(docs))
    return {
        "id": hashlib.blake2b(json.dumps(body).encode(), digest_size=8).hexdigest(),
        "results": [{"index": i, "relevance_score": round(scores[i], 6)} for i in ranked[:top_n]],
        "meta": {"billed_units": {"search_units": 1}},
    }


def embeddings(body: Any, default_dimensions: int = 384) -> dict[str, Any]:
    texts = body.get("input") if isinstance(body, dict) else None
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise BadRequest("input must be a string or a list of strings")
    vectors = HashingEmbedder(int(body.get("dimensions") or default_dimensions)).embed_sync(texts)
    tokens = sum(len(t.split()) for t in texts)
    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": i, "embedding": v.tolist()}
            for i, v in enumerate(vectors)
        ],
        "model": body.get("model", "fault-server"),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


_PREFIXES = ("Global", "Pacific", "Nordic", "Atlas", "Meridian", "Harbor", "Summit", "Lotus",
             "Orion", "Evergreen", "Silkway", "Keystone")  # fmt: skip
_SUFFIXES = ("Trading Co., Ltd.", "GmbH", "Industries Inc.", "Exports Pvt. Ltd.", "S.A.",
             "Holdings Ltd.", "Manufacturing Co.", "Sourcing B.V.")  # fmt: skip
_CITIES = ("Shenzhen, China", "Hamburg, Germany", "Rotterdam, Netherlands", "Mumbai, India",
           "Da Nang, Vietnam", "Istanbul, Turkey", "Monterrey, Mexico",
           "Nairobi, Kenya")  # fmt: skip


def _hash(*parts: str) -> int:
    return int.from_bytes(hashlib.blake2b("|".join(parts).encode(), digest_size=8).digest(), "big")


def generated_results(query: str, engine: str) -> list[dict[str, Any]]:
    """Company-like leads for any query. Engines rank a shared candidate pool
    differently and each keeps part of it, so their results overlap like real ones."""
    terms = _WORD.findall(query.lower())[:3] or ["trade"]
    topic = " ".join(t.capitalize() for t in terms)
    pool = []
    for k in range(20):
        h = _hash(query, str(k))
        prefix = _PREFIXES[h % len(_PREFIXES)]
        suffix = _SUFFIXES[(h >> 8) % len(_SUFFIXES)]
        city = _CITIES[(h >> 16) % len(_CITIES)]
        slug = "-".join([prefix.lower(), *terms])
        pool.append(
            {
                "title": f"{prefix} {topic} {suffix}",
                "url": f"https://{slug}-{h % 10_000:04d}.example.com/",
                "content": f"{prefix} {topic} {suffix} supplies {' '.join(terms)} from {city}.",
            }
        )
    if engine:
        pool = sorted(pool, key=lambda r: _hash(engine, r["url"]))[:12]
    return pool


def corpus_results(query: str, corpus: list[dict[str, Any]]) -> list[dict[str, Any]]:
    wanted = _words(query)
    scored = [
        (len(wanted & _words(" ".join(str(r.get(k, "")) for k in ("title", "url", "content")))), i)
        for i, r in enumerate(corpus)
    ]
    return [dict(corpus[i]) for hits, i in sorted(scored, key=lambda p: (-p[0], p[1])) if hits]


def search_page(state: FaultState, route: str, request: Request) -> dict[str, Any]:
    query = request.query_params.get("q", "")
    if request.query_params.get("format") != "json":
        raise BadRequest("format=json is not enabled", status=403)  # as SearXNG answers
    page = max(1, int(request.query_params.get("pageno", "1") or 1))
    engine = route.partition(":")[2]
    corpus = state.corpora.get(route)
    found = (
        corpus_results(query, corpus) if corpus is not None else generated_results(query, engine)
    )
    results = []
    for rank, item in enumerate(found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]):
        position = (page - 1) * PAGE_SIZE + rank + 1
        if corpus is None:
            item["score"] = round(3.0 / position, 4)  # SearXNG-like: positive, falling
        item.update(engine=engine or "fault-server", positions=[position], category="general")
        results.append(item)
    return {
        "query": query,
        "number_of_results": len(found),
        "results": results,
        "answers": [],
        "corrections": [],
        "infoboxes": [],
        "suggestions": [],
        "unresponsive_engines": [],
    }


# ---------------------------------------------------------------- the app


async def _client_gone(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _wait(state: FaultState, request: Request, seconds: float) -> bool:
    """Sleep `seconds` unless the client disconnects first (True) or the server closes."""
    gone = asyncio.ensure_future(_client_gone(request))
    closing = asyncio.ensure_future(state.closing.wait())
    try:
        done, _ = await asyncio.wait(
            {gone, closing}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
        )
        return gone in done
    finally:
        gone.cancel()
        closing.cancel()


def _error(status: int, message: str, retry_after: float | str | None = None) -> Response:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    body = {"error": {"message": message, "type": "fault_injected", "code": status}}
    return JSONResponse(body, status_code=status, headers=headers)


async def _serve(
    state: FaultState,
    request: Request,
    route: str,
    produce: Callable[[Any], dict[str, Any]],
) -> Response:
    stats = state.stats.setdefault(route, RouteStats())
    stats.requests += 1
    stats.in_flight += 1
    stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
    response: Response | None = None
    try:
        raw = await request.body()
        fault = state.fault_for(route) or Fault()
        failure = fault.failure()  # decided on arrival, so concurrent requests count in order
        if fault.hang:
            if await _wait(state, request, HANG_CAP_SECONDS):
                response = Response(status_code=CLIENT_CLOSED)
                return response
            response = _error(504, "hang cap reached")
            return response
        if fault.latency_ms and await _wait(state, request, fault.latency_ms / 1000):
            response = Response(status_code=CLIENT_CLOSED)
            return response
        if failure is not None:
            response = _error(failure, "injected failure", fault.retry_after)
        elif fault.malformed:
            response = PlainTextResponse("<html><body>502 Bad Gateway (proxy)</body></html>")
        else:
            try:
                body = json.loads(raw) if raw else {}
                response = JSONResponse(produce(body))
            except BadRequest as exc:
                response = _error(exc.status, str(exc))
            except (ValueError, TypeError) as exc:
                response = _error(400, f"bad request: {exc}")
        return response
    finally:
        stats.in_flight -= 1
        stats.statuses[response.status_code if response is not None else 500] += 1


def create_app(state: FaultState | None = None) -> Starlette:
    state = state or FaultState()

    def api(route: str, produce: Callable[[Any], dict[str, Any]]) -> Callable[..., Any]:
        async def endpoint(request: Request) -> Response:
            return await _serve(state, request, route, produce)

        return endpoint

    async def search(request: Request) -> Response:
        engine = request.path_params.get("engine")
        route = f"search:{engine}" if engine else "search"
        return await _serve(state, request, route, lambda _: search_page(state, route, request))

    async def set_faults(request: Request) -> Response:
        specs = await request.json()
        try:
            parsed = [parse_fault(s) for s in (specs if isinstance(specs, list) else [specs])]
        except (BadRequest, TypeError) as exc:
            return _error(400, str(exc))
        state.faults.update(parsed)
        return JSONResponse({route: asdict(f) for route, f in state.faults.items()})

    async def set_corpus(request: Request) -> Response:
        spec = await request.json()
        results = spec.get("results")
        if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
            return _error(400, "results must be a list of objects")
        engine = spec.get("engine")
        state.corpora[f"search:{engine}" if engine else "search"] = results
        return JSONResponse({"loaded": len(results)})

    async def reset(_: Request) -> Response:
        state.reset()
        return JSONResponse({"reset": True})

    async def stats(_: Request) -> Response:
        return JSONResponse({route: s.as_json() for route, s in state.stats.items()})

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    app = Starlette(
        routes=[
            Route("/v1/chat/completions", api("chat", chat_completion), methods=["POST"]),
            Route("/v1/rerank", api("rerank", rerank), methods=["POST"]),
            Route(
                "/v1/embeddings",
                api("embeddings", lambda body: embeddings(body, state.embedding_dimensions)),
                methods=["POST"],
            ),
            Route("/search", search, methods=["GET"]),
            Route("/engines/{engine}/search", search, methods=["GET"]),
            Route("/_control/faults", set_faults, methods=["POST"]),
            Route("/_control/corpus", set_corpus, methods=["POST"]),
            Route("/_control/reset", reset, methods=["POST"]),
            Route("/_control/stats", stats, methods=["GET"]),
            Route("/healthz", health, methods=["GET"]),
        ]
    )
    app.state.faults = state
    return app


# ---------------------------------------------------------------- driving it


class FaultServerClient:
    """Drives a fault server by URL: the in-process one or a separate process."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as client:
            response = await client.request(method, path, json=body)
            response.raise_for_status()
            return response.json()

    async def set_faults(self, *faults: Mapping[str, Any], **fault: Any) -> None:
        """`set_faults(route="chat", status=429)` or `set_faults({...}, {...})`. A spec
        with only a route clears that route's fault."""
        specs = [dict(f) for f in faults] + ([fault] if fault else [])
        await self._call("POST", "/_control/faults", specs)

    async def load_corpus(
        self, results: list[dict[str, Any]], *, engine: str | None = None
    ) -> None:
        await self._call("POST", "/_control/corpus", {"engine": engine, "results": results})

    async def reset(self) -> None:
        await self._call("POST", "/_control/reset")

    async def stats(self, route: str | None = None) -> dict[str, Any]:
        """All routes' stats, or one route's (zeros when it saw no request)."""
        everything: dict[str, Any] = await self._call("GET", "/_control/stats")
        if route is None:
            return everything
        return everything.get(route) or RouteStats().as_json()

    async def until_idle(self, route: str, *, within: float = 10.0) -> dict[str, Any]:
        """The route's stats once nothing is in flight; fails after `within` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            stats = await self.stats(route)
            if stats["in_flight"] == 0:
                return stats
            if loop.time() > deadline:
                raise AssertionError(f"{route}: still {stats['in_flight']} in flight: {stats}")
            await asyncio.sleep(0.02)


class FaultServer(FaultServerClient):
    def __init__(self, url: str, state: FaultState) -> None:
        super().__init__(url)
        self.state = state


class _InProcessServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the test runner owns the signals, not a server inside it


@contextlib.asynccontextmanager
async def running_fault_server(
    host: str = "127.0.0.1", *, embedding_dimensions: int = 384
) -> AsyncIterator[FaultServer]:
    """A fault server on a free port, served by uvicorn in the running loop."""
    state = FaultState(embedding_dimensions=embedding_dimensions)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(state),
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    server = _InProcessServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()  # startup failed: raise its error
                raise RuntimeError("fault server stopped during startup")
            await asyncio.sleep(0.01)
        yield FaultServer(f"http://{host}:{port}", state)
    finally:
        state.closing.set()  # wake hung requests so shutdown need not wait for them
        server.should_exit = True
        await task


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log-level", default="warning")
    parser.add_argument("--embedding-dimensions", type=int, default=384)
    args = parser.parse_args(argv)
    uvicorn.run(
        create_app(FaultState(embedding_dimensions=args.embedding_dimensions)),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        lifespan="off",
        timeout_graceful_shutdown=1,
    )


if __name__ == "__main__":
    main()
