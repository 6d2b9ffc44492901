"""The fast path's parts that need no broker: it refuses to start for a path no FastAPI
route documents, reads a body up to its cap and hands on every byte it read."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.types import Message

from tradebus_gateway.api import dealbrain
from tradebus_gateway.app import ONLINE_FAST_ROUTES, ONLINE_ROUTERS
from tradebus_gateway.asgi_headers import first_headers
from tradebus_gateway.online_fast_path import (
    MAX_BODY_BYTES,
    OnlineFastPath,
    _read,
    _replaying,
)


async def app(scope: Any, receive: Any, send: Any) -> None:  # never reached here
    raise AssertionError


def test_every_fast_route_is_a_documented_post_route() -> None:
    OnlineFastPath(app, routes=ONLINE_FAST_ROUTES, declared=_all_routes(), prefixes=())
    with pytest.raises(ValueError, match="/v1/dealbrain/nowhere"):
        OnlineFastPath(
            app,
            routes={"/v1/dealbrain/nowhere": dealbrain.ASK},
            declared=_all_routes(),
            prefixes=(),
        )


def _all_routes() -> list[Any]:
    return [route for router in ONLINE_ROUTERS for route in router.routes]


def receiving(messages: list[Message]) -> Any:
    queue = list(messages)

    async def receive() -> Message:
        return queue.pop(0)

    return receive


async def test_a_body_in_chunks_is_read_whole() -> None:
    receive = receiving(
        [
            {"type": "http.request", "body": b'{"question": ', "more_body": True},
            {"type": "http.request", "body": b'"x"}', "more_body": False},
        ]
    )
    assert await _read(receive) == (b'{"question": "x"}', True)


async def test_over_the_cap_what_was_read_is_handed_on_then_the_rest() -> None:
    big = b"x" * (MAX_BODY_BYTES + 1)
    receive = receiving(
        [
            {"type": "http.request", "body": big, "more_body": True},
            {"type": "http.request", "body": b"tail", "more_body": False},
        ]
    )
    body, complete = await _read(receive)
    assert (body, complete) == (big, False)
    replay = _replaying(body, complete, receive)
    assert await replay() == {"type": "http.request", "body": big, "more_body": True}
    assert await replay() == {"type": "http.request", "body": b"tail", "more_body": False}


async def test_a_disconnect_is_not_a_whole_body() -> None:
    receive = receiving([{"type": "http.disconnect"}, {"type": "http.disconnect"}])
    body, complete = await _read(receive)
    assert (body, complete) == (b"", False)
    replay = _replaying(body, complete, receive)
    assert (await replay())["more_body"] is True
    assert (await replay())["type"] == "http.disconnect"


def test_the_first_of_a_repeated_header_counts_as_starlette_reads_it() -> None:
    raw = [
        (b"x-correlation-id", b"first"),
        (b"x-correlation-id", b"second"),
        (b"authorization", b"Bearer k\xe9"),
        (b"x-other", b"ignored"),
    ]
    assert first_headers(raw, frozenset({b"x-correlation-id", b"authorization"})) == {
        b"x-correlation-id": "first",
        b"authorization": "Bearer ké",
    }
