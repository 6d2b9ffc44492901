"""The published AsyncAPI document: the official parser (`@asyncapi/parser`, Node.js)
accepts it without errors or warnings, and every RPC request models its replies."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.support.node import ASYNCAPI_CHECK, ensure_packages, node
from tradebus_contracts import REGISTRY, MessageKind
from tradebus_contracts.generate import REPLIES, asyncapi, render

CONTRACTS = Path(__file__).resolve().parents[3] / "contracts"


def _parse(path: Path) -> dict[str, Any]:
    ensure_packages(ASYNCAPI_CHECK)
    done = subprocess.run(
        [node(), str(ASYNCAPI_CHECK / "validate.mjs"), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    assert (done.returncode == 0) == result["ok"], done.stderr
    return result


def _problems(result: dict[str, Any]) -> list[dict[str, Any]]:
    # Spectral severities: 0 error, 1 warning, 2 information, 3 hint.
    return [d for d in result["diagnostics"] if d["severity"] <= 1]


def _copy_with(tmp_path: Path, document: dict[str, Any]) -> Path:
    shutil.copytree(CONTRACTS / "schemas", tmp_path / "schemas")
    path = tmp_path / "asyncapi.json"
    path.write_text(render(document))
    return path


def test_committed_document_passes_the_official_parser() -> None:
    result = _parse(CONTRACTS / "asyncapi.json")
    assert result["ok"], result["diagnostics"]
    assert _problems(result) == []
    requests = [m for m in REGISTRY if m.kind is MessageKind.REQUEST]
    assert result["summary"]["messages"] == len(REGISTRY)
    # Both ends of each RPC (the caller's send, the server's receive) carry the reply.
    assert result["summary"]["replies"] == 2 * len(requests)


def test_the_parser_check_fails_on_a_broken_reference_or_payload_schema(
    tmp_path: Path,
) -> None:
    # One parse for both (the parser takes seconds): a reply naming a missing channel,
    # and a payload schema file (reached through its $ref) that is not valid JSON Schema.
    document = asyncapi()
    ask = document["operations"]["receive_dealbrain_ask_v1"]
    ask["reply"]["channel"] = {"$ref": "#/channels/no_such_channel"}
    path = _copy_with(tmp_path, document)
    broken = tmp_path / "schemas" / "omnirag.document.indexed.v1.json"
    schema = json.loads(broken.read_text())
    schema["properties"]["chunk_count"]["type"] = "count"
    broken.write_text(json.dumps(schema))
    result = _parse(path)
    assert not result["ok"]
    errors = {d["path"] for d in result["diagnostics"] if d["severity"] == 0}
    assert "operations/receive_dealbrain_ask_v1/reply/channel/$ref" in errors
    assert "properties/chunk_count/type" in errors


def test_every_request_lists_the_replies_its_server_answers_with() -> None:
    kinds = {m.message_type: m.kind for m in REGISTRY}
    requests = {t for t, k in kinds.items() if k is MessageKind.REQUEST}
    assert set(REPLIES) == requests, "add each request type to REPLIES in generate.py"
    replied = {r for replies in REPLIES.values() for r in replies}
    assert all(kinds[r] is MessageKind.REPLY for r in replied)
    assert replied == {t for t, k in kinds.items() if k is MessageKind.REPLY}


def test_rpc_operations_reply_on_the_callers_reply_to() -> None:
    document = asyncapi()
    for request, replies in REPLIES.items():
        key = request.replace(".", "_").replace("-", "_")
        channel = document["channels"][f"{key}_reply"]
        assert channel["address"] is None  # dynamic: the request's reply_to
        for action in ("send", "receive"):
            reply = document["operations"][f"{action}_{key}"]["reply"]
            assert reply["channel"] == {"$ref": f"#/channels/{key}_reply"}
            assert reply["address"]["location"] == "$message.header#/reply_to"
            names = [r["$ref"].rsplit("/", 1)[-1] for r in reply["messages"]]
            assert names == [r.replace(".", "_").replace("-", "_") for r in replies]
            assert set(names) <= set(channel["messages"])


def test_replies_have_no_channel_or_operation_of_their_own() -> None:
    document = asyncapi()
    replies = {m.message_type for m in REGISTRY if m.kind is MessageKind.REPLY}
    addresses = {c["address"] for c in document["channels"].values()}
    assert not replies & addresses
    assert "amq.rabbitmq.reply-to" not in addresses


def test_event_channels_are_routing_keys_on_the_topic_exchange() -> None:
    # What docs/subscribing.md tells downstream teams to bind their queues to.
    document = asyncapi()
    events = [m.message_type for m in REGISTRY if m.kind is MessageKind.EVENT]
    assert "omnirag.document.indexed.v1" in events
    for event in events:
        channel = document["channels"][event.replace(".", "_").replace("-", "_")]
        exchange = channel["bindings"]["amqp"]["exchange"]
        assert (exchange["name"], exchange["type"]) == ("tradebus.events", "topic")
        assert channel["address"] == event
