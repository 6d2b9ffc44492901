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
        PREFIX + "taskid": {
            "type": "string",
            "description": "Task the message works on; inherited by the messages it causes.",
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


def asyncapi() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for model in REGISTRY:
        key = _key(model.message_type)
        schemas[key] = {"$ref": f"schemas/{model.message_type}.json"}
        messages[key] = {
            "name": model.message_type,
            "title": model.__name__,
            "summary": (model.__doc__ or model.__name__).strip().splitlines()[0],
            "contentType": "application/json",
            "headers": HEADERS_SCHEMA,
            "payload": {"$ref": f"#/components/schemas/{key}"},
        }
        exchange = EXCHANGES[model.kind]
        bindings: dict[str, Any]
        if exchange is None:
            address = "amq.rabbitmq.reply-to"
            bindings = {"amqp": {"is": "queue", "queue": {"name": address}}}
        else:
            address = model.message_type
            bindings = {
                "amqp": {
                    "is": "routingKey",
                    "exchange": {
                        "name": exchange,
                        "type": "topic" if exchange == "tradebus.events" else "direct",
                        "durable": True,
                        "autoDelete": False,
                        "vhost": "/",
                    },
                }
            }
        channels[key] = {
            "address": address,
            "description": f"{model.kind.value} on {exchange or 'the caller reply-to'}",
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
            "bindings": bindings,
        }
        senders, receivers = PARTIES.get(model.message_type, ([], []))
        for action, parties in (("send", senders), ("receive", receivers)):
            if parties:
                operations[f"{action}_{key}"] = {
                    "action": action,
                    "channel": {"$ref": f"#/channels/{key}"},
                    "summary": f"{', '.join(parties)} {action}s {model.message_type}",
                    "messages": [{"$ref": f"#/channels/{key}/messages/{key}"}],
                }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "tradebus",
            "version": "1.0.0",
            "description": "Messages exchanged by the tradebus services over RabbitMQ. "
            "Bind your own queue to tradebus.events with a routing-key pattern "
            "to subscribe to events.",
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
