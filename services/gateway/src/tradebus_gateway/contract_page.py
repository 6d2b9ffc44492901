"""The AsyncAPI document as a page people read: channels grouped by kind, who sends and
receives each message, the envelope headers and every payload field, rendered on the
server from the document and the JSON Schemas. One self-contained HTML file (styles
inline, no scripts, no fonts or assets from elsewhere), so it works offline."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from importlib import resources
from string import Template
from typing import Any

Schema = Mapping[str, Any]

# Order of the sections: what a downstream team subscribes to comes first.
_KINDS = (
    ("event", "Events", "Facts on tradebus.events: bind your own queue with a pattern."),
    ("command", "Commands", "Work for exactly one owner, on tradebus.commands."),
    ("request", "Requests and replies", "RPC on tradebus.commands, answered on reply-to."),
)
_CONSTRAINTS = (
    ("minLength", "min length"),
    ("maxLength", "max length"),
    ("minimum", "≥"),
    ("exclusiveMinimum", ">"),
    ("maximum", "≤"),
    ("exclusiveMaximum", "<"),
    ("minItems", "min items"),
    ("maxItems", "max items"),
    ("pattern", "pattern"),
)


def render_page(document: Mapping[str, Any], schemas: Mapping[str, Schema]) -> str:
    """`schemas` maps each message type to its JSON Schema (the files the document refers to)."""
    messages = document["components"]["messages"]
    by_kind: dict[str, list[str]] = {kind: [] for kind, _, _ in _KINDS}
    for key, channel in document["channels"].items():
        if channel.get("address") is None:
            continue  # reply channels are shown with their request
        (ref,) = channel["messages"].values()
        kind = messages[ref["$ref"].rsplit("/", 1)[-1]]["x-message-kind"]
        by_kind.setdefault(kind, []).append(key)
    sections, toc = [], []
    for kind, title, blurb in _KINDS:
        keys = sorted(by_kind.get(kind, []), key=lambda k: document["channels"][k]["address"])
        if not keys:
            continue
        toc.append(f'<li><a href="#{kind}">{escape(title)}</a> ({len(keys)})</li>')
        body = "".join(_channel(document, key, schemas) for key in keys)
        sections.append(
            f'<section id="{kind}"><h2>{escape(title)}</h2><p>{escape(blurb)}</p>{body}</section>'
        )
    info = document["info"]
    template = Template(
        resources.files(__package__).joinpath("templates/asyncapi.html").read_text("utf-8")
    )
    return template.substitute(
        title=escape(f"{info['title']} {info['version']}: messages"),
        heading=escape(info["title"]),
        version=escape(info["version"]),
        asyncapi=escape(document["asyncapi"]),
        description=escape(info.get("description", "")),
        servers="".join(
            f"<li><code>{escape(s['protocol'])}://{escape(s['host'])}</code> ({escape(name)})</li>"
            for name, s in document.get("servers", {}).items()
        ),
        toc="".join(toc),
        headers=_headers(_any_headers(messages)),
        sections="".join(sections),
    )


def _any_headers(messages: Mapping[str, Any]) -> Schema:
    return next(iter(messages.values()))["headers"]


def _headers(schema: Schema) -> str:
    required = set(schema.get("required", []))
    rows = "".join(
        f"<tr><td><code>{escape(name)}</code></td><td>{_type(prop)}</td>"
        f"<td>{'yes' if name in required else ''}</td>"
        f"<td>{escape(str(prop.get('description', '')))}</td></tr>"
        for name, prop in schema["properties"].items()
    )
    return (
        f"<p>{escape(schema.get('description', ''))}</p>"
        "<table><thead><tr><th>application property</th><th>type</th><th>required</th>"
        f"<th>meaning</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _channel(document: Mapping[str, Any], key: str, schemas: Mapping[str, Schema]) -> str:
    channel = document["channels"][key]
    address = channel["address"]
    exchange = channel["bindings"]["amqp"]["exchange"]["name"]
    ref = f"#/channels/{key}"
    ops = [op for op in document["operations"].values() if op["channel"]["$ref"] == ref]
    parties = "".join(f"<li>{escape(op['summary'])}</li>" for op in ops)
    messages = document["components"]["messages"]
    message = messages[key]
    parts = [
        f'<article id="{escape(address)}"><h3><code>{escape(address)}</code></h3>',
        f"<p>{escape(message['summary'])}</p>",
        f"<dl><dt>exchange</dt><dd><code>{escape(exchange)}</code></dd>"
        f"<dt>routing key</dt><dd><code>{escape(address)}</code></dd>"
        f'<dt>schema</dt><dd><a href="schemas/{escape(address)}.json">'
        f"schemas/{escape(address)}.json</a></dd></dl>",
        f"<ul class=parties>{parties}</ul>" if parties else "",
        _payload(schemas[address]),
    ]
    reply = next((op["reply"] for op in ops if "reply" in op), None)
    if reply is not None:
        for ref in reply["messages"]:
            reply_message = messages[ref["$ref"].rsplit("/", 1)[-1]]
            name = reply_message["name"]
            parts.append(
                f'<div class=reply id="{escape(name)}-to-{escape(address)}">'
                f"<h4>reply <code>{escape(name)}</code></h4>"
                f"<p>{escape(reply_message['summary'])} Sent to the request's "
                f'<code>reply_to</code>; <a href="schemas/{escape(name)}.json">schema</a>.</p>'
                f"{_payload(schemas[name])}</div>"
            )
    parts.append("</article>")
    return "".join(parts)


def _payload(schema: Schema) -> str:
    defs = schema.get("$defs", {})
    out = [_fields(schema)]
    for name in sorted(defs):
        out.append(
            f"<details><summary><code>{escape(name)}</code></summary>{_fields(defs[name])}"
            "</details>"
        )
    return "".join(out)


def _fields(schema: Schema) -> str:
    if "properties" not in schema:
        return f"<p>{_type(schema)}</p>"
    required = set(schema.get("required", []))
    rows = []
    for name, prop in schema["properties"].items():
        note = prop.get("description", "")
        rows.append(
            f"<tr><td><code>{escape(name)}</code></td><td>{_type(prop)}</td>"
            f"<td>{'yes' if name in required else ''}</td>"
            f"<td>{escape(str(note))}{_constraints(prop)}</td></tr>"
        )
    return (
        "<table><thead><tr><th>field</th><th>type</th><th>required</th><th>notes</th></tr>"
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _type(schema: Schema) -> str:
    if "$ref" in schema:
        return f"<code>{escape(schema['$ref'].rsplit('/', 1)[-1])}</code>"
    for union in ("anyOf", "oneOf"):
        if union in schema:
            return " | ".join(_type(option) for option in schema[union])
    if "const" in schema:
        return f"<code>{escape(repr(schema['const']))}</code>"
    if "enum" in schema:
        return "one of " + ", ".join(f"<code>{escape(str(v))}</code>" for v in schema["enum"])
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        return " | ".join(escape(str(k)) for k in kind)
    if kind == "array":
        return f"array of {_type(schema.get('items', {}))}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), Mapping):
        return f"map of {_type(schema['additionalProperties'])}"
    fmt = schema.get("format")
    return escape(f"{kind} ({fmt})" if fmt else str(kind))


def _constraints(schema: Schema) -> str:
    notes = [f"{label} {schema[key]}" for key, label in _CONSTRAINTS if key in schema]
    if "default" in schema and schema["default"] is not None:
        notes.append(f"default {schema['default']!r}")
    if "examples" in schema:
        notes.append("e.g. " + ", ".join(str(e) for e in schema["examples"]))
    if not notes:
        return ""
    return f" <span class=c>{escape('; '.join(notes))}</span>"
