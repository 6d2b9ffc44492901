"""Write the published schemas: one JSON Schema per message type and an AsyncAPI 3.0
document. `--check` fails (exit 1) when a committed file differs, so CI catches a
contract change whose schemas were not regenerated.

    python -m tradebus_contracts.generate [--check] [--out contracts]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from . import REGISTRY
from ._base import Contract, MessageKind
from ._envelope import PREFIX

DEFAULT_OUT = Path(__file__).resolve().parents[2]
SCHEMA_ID = "https://schemas.tradebus.dev/{}.json"

EXCHANGES = {
    MessageKind.COMMAND: "tradebus.commands",
    MessageKind.EVENT: "tradebus.events",
    MessageKind.REQUEST: "tradebus.commands",
    MessageKind.REPLY: None,
}

# Who sends and who receives each type (AsyncAPI operations).
PARTIES: dict[str, tuple[list[str], list[str]]] = {
    "omnirag.document.ingest.v1": (["gateway"], ["omnirag-ingest"]),
    "omnirag.chunks.embed.v1": (["omnirag-ingest"], ["omnirag-embed"]),
    "omnirag.document.indexed.v1": (["omnirag-embed"], ["dealbrain", "notifier"]),
    "omnirag.document.deleted.v1": (
        ["gateway"],
        ["dealbrain", "shadowhunter", "omnirag-ingest", "notifier"],
    ),
    "task.status.changed.v1": (["gateway", "omnirag-ingest", "omnirag-embed"], ["notifier"]),
    "tradebus.message.faulted.v1": (["every service"], ["notifier"]),
    "dealbrain.ask.v1": (["gateway"], ["dealbrain"]),
    "dealbrain.ask-reply.v1": (["dealbrain"], ["gateway"]),
    "dealbrain.session.summarize.v1": (["dealbrain"], ["dealbrain"]),
    "shadowhunter.hunt.v1": (["gateway"], ["shadowhunter"]),
    "shadowhunter.hunt-reply.v1": (["shadowhunter"], ["gateway"]),
    "shadowhunter.assess.v1": (["gateway"], ["shadowhunter"]),
    "shadowhunter.assess-reply.v1": (["shadowhunter"], ["gateway"]),
    "tradebus.rpc.error.v1": (["every RPC server"], ["every RPC client"]),
    "notifier.webhook.deliver.v1": (["notifier", "gateway"], ["notifier"]),
    "notifier.webhook.disabled.v1": (["notifier"], []),
    "tradebus.webhook.test.v1": (["gateway"], ["notifier"]),
    "omnirag.kb.check.v1": (["notifier", "omnirag-ingest"], ["omnirag-ingest"]),
    "omnirag.kb.checked.v1": (["omnirag-ingest"], ["notifier"]),
    "notifier.sweeps.run.v1": (["notifier"], ["notifier"]),
    "tradebus.alert.raised.v1": (["notifier"], ["notifier"]),
    "tradebus.alert.resolved.v1": (["notifier"], ["notifier"]),
    "notifier.alert.notify.v1": (["notifier"], ["notifier"]),
    "dealbrain.recall.evaluate.v1": (["notifier"], ["dealbrain"]),
    "dealbrain.recall.evaluated.v1": (["dealbrain"], ["notifier"]),
}

# RPC pairs (AsyncAPI `reply`): each request type and the replies its server may answer
# with. Every request type must be listed (a unit test checks it).
REPLIES: dict[str, tuple[str, ...]] = {
    "dealbrain.ask.v1": ("dealbrain.ask-reply.v1", "tradebus.rpc.error.v1"),
    "shadowhunter.hunt.v1": ("shadowhunter.hunt-reply.v1", "tradebus.rpc.error.v1"),
    "shadowhunter.assess.v1": ("shadowhunter.assess-reply.v1", "tradebus.rpc.error.v1"),
}

SCHEMA_FORMAT = "application/schema+json;version=draft-07"
AMQP_BINDING_VERSION = "0.3.0"
# AMQP's reply-to is a message property; AsyncAPI's runtime expressions name it a header.
REPLY_ADDRESS: dict[str, str] = {
    "location": "$message.header#/reply_to",
    "description": "The request's AMQP reply_to property: RabbitMQ direct reply-to.",
}

HEADERS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "CloudEvents 1.0 attributes as AMQP application properties "
    "(CloudEvents AMQP binding, binary mode).",
    "required": [PREFIX + n for n in ("id", "source", "type", "specversion")],
    "properties": {
        PREFIX + "id": {"type": "string", "description": "Unique message id."},
        PREFIX + "source": {"type": "string", "examples": ["tradebus/gateway"]},
        PREFIX + "type": {
            "type": "string",
            "description": "The message type; also the routing key.",
        },
        PREFIX + "specversion": {"const": "1.0"},
        PREFIX + "time": {"type": "string", "format": "date-time"},
        PREFIX + "subject": {"type": "string"},
        PREFIX + "tenantid": {"type": "string", "description": "Tenant the message belongs to."},
        PREFIX + "correlationid": {"type": "string", "description": "Conversation id."},
        PREFIX + "causationid": {
            "type": "string",
            "description": "Id of the message that caused this one.",
        },
        PREFIX + "traceparent": {"type": "string", "description": "W3C trace context."},
        PREFIX + "tracestate": {
            "type": "string",
            "description": "W3C trace state, vendor data that travels with traceparent.",
        },
        PREFIX + "taskid": {
            "type": "string",
            "description": "Task the message works on; inherited by the messages it causes.",
        },
        PREFIX + "priority": {
            "enum": ["high", "normal", "bulk"],
            "description": "Share of the batch queues the work gets; inherited like taskid.",
        },
    },
}


def schema_for(model: type[Contract]) -> dict[str, Any]:
    schema = model.model_json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID.format(model.message_type),
        **schema,
        "title": model.message_type,
        "description": (model.__doc__ or model.__name__).strip().splitlines()[0],
        "x-message-kind": model.kind.value,
        "x-exchange": EXCHANGES[model.kind] or "reply-to",
    }


def _key(message_type: str) -> str:
    return message_type.replace(".", "_").replace("-", "_")


def _ref(*parts: str) -> dict[str, str]:
    return {"$ref": "#/" + "/".join(parts)}


def _exchange_binding(exchange: str) -> dict[str, Any]:
    return {
        "amqp": {
            "is": "routingKey",
            "exchange": {
                "name": exchange,
                "type": "topic" if exchange == "tradebus.events" else "direct",
                "durable": True,
                "autoDelete": False,
                "vhost": "/",
            },
            "bindingVersion": AMQP_BINDING_VERSION,
        }
    }


def _operation_binding(kind: MessageKind, action: str) -> dict[str, Any]:
    if action == "receive":
        # Consumers ack after their effects are durable; a nack dead-letters.
        return {"amqp": {"ack": True, "bindingVersion": AMQP_BINDING_VERSION}}
    # Requests are transient (they expire with the caller's deadline); the rest persist.
    mode = 1 if kind is MessageKind.REQUEST else 2
    return {
        "amqp": {"deliveryMode": mode, "mandatory": True, "bindingVersion": AMQP_BINDING_VERSION}
    }


def _reply(key: str, reply_types: tuple[str, ...]) -> dict[str, Any]:
    channel = f"{key}_reply"
    return {
        "address": REPLY_ADDRESS,
        "channel": _ref("channels", channel),
        "messages": [_ref("channels", channel, "messages", _key(t)) for t in reply_types],
    }


def _message(model: type[Contract], key: str) -> dict[str, Any]:
    return {
        "name": model.message_type,
        "title": model.__name__,
        "summary": (model.__doc__ or model.__name__).strip().splitlines()[0],
        "contentType": "application/json",
        "headers": HEADERS_SCHEMA,
        "payload": _ref("components", "schemas", key),
        "bindings": {
            "amqp": {"messageType": model.message_type, "bindingVersion": AMQP_BINDING_VERSION}
        },
        "x-message-kind": model.kind.value,
    }


def asyncapi() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for model in REGISTRY:
        key = _key(model.message_type)
        # The payload schemas are the JSON Schema files beside this document; naming their
        # format keeps pydantic's OpenAPI-style `discriminator` object from being read as
        # an AsyncAPI Schema `discriminator` (a string). `$defs`, `const` and `examples`
        # mean the same in draft-07.
        schemas[key] = {
            "schemaFormat": SCHEMA_FORMAT,
            "schema": {"$ref": f"schemas/{model.message_type}.json"},
        }
        messages[key] = _message(model, key)
        exchange = EXCHANGES[model.kind]
        if exchange is None:
            # Replies have no channel of their own: they travel on the reply channel of the
            # requests that answer with them (the caller's direct reply-to).
            continue
        channels[key] = {
            "address": model.message_type,
            "title": model.message_type,
            "description": f"{model.kind.value} on {exchange}, routing key = message type",
            "messages": {key: _ref("components", "messages", key)},
            "bindings": _exchange_binding(exchange),
        }
        reply_types = REPLIES.get(model.message_type, ())
        if reply_types:
            channels[f"{key}_reply"] = {
                # Dynamic: the caller's reply-to, given in each request (`reply.address`).
                "address": None,
                "title": f"replies to {model.message_type}",
                "description": "The caller's RabbitMQ direct reply-to "
                "(amq.rabbitmq.reply-to); the reply carries the request's correlation_id.",
                "messages": {_key(t): _ref("components", "messages", _key(t)) for t in reply_types},
            }
        senders, receivers = PARTIES.get(model.message_type, ([], []))
        for action, parties in (("send", senders), ("receive", receivers)):
            if not parties:
                continue
            operation: dict[str, Any] = {
                "action": action,
                "channel": _ref("channels", key),
                "summary": f"{', '.join(parties)} {action}s {model.message_type}",
                "messages": [_ref("channels", key, "messages", key)],
                "bindings": _operation_binding(model.kind, action),
            }
            if reply_types:
                operation["reply"] = _reply(key, reply_types)
            operations[f"{action}_{key}"] = operation
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "tradebus",
            "version": "1.0.0",
            "description": "Messages exchanged by the tradebus services over RabbitMQ. "
            "Bind your own queue to tradebus.events with a routing-key pattern "
            "to subscribe to events (docs/subscribing.md).",
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {"host": "127.0.0.1:5672", "protocol": "amqp", "protocolVersion": "0.9.1"}
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def expected_files(out: Path) -> dict[Path, str]:
    files = {out / "schemas" / f"{m.message_type}.json": render(schema_for(m)) for m in REGISTRY}
    files[out / "asyncapi.json"] = render(asyncapi())
    return files


def stale_files(out: Path = DEFAULT_OUT) -> list[Path]:
    stale = [
        p for p, text in expected_files(out).items() if not p.exists() or p.read_text() != text
    ]
    known = {p.name for p in expected_files(out)}
    stale += [p for p in sorted((out / "schemas").glob("*.json")) if p.name not in known]
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if files are stale")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files(args.out)
        for path in stale:
            print(f"stale: {path}", file=sys.stderr)
        if stale:
            print("run `make contracts` and commit the result", file=sys.stderr)
        return 1 if stale else 0
    (args.out / "schemas").mkdir(parents=True, exist_ok=True)
    for path in (args.out / "schemas").glob("*.json"):
        path.unlink()
    for path, text in expected_files(args.out).items():
        path.write_text(text)
    print(f"wrote {len(REGISTRY)} schemas and asyncapi.json under {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
