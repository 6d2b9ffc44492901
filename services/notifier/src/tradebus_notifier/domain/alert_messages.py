"""What an alert notification looks like on each kind of operator channel. Pure.

- json: one flat JSON object (below), for any HTTP receiver an operator runs;
- slack: an incoming webhook's `{"text": ..., "blocks": [...]}` (`text` is the
  notification's fallback, `blocks` the message);
- wecom: a WeCom (企业微信) group robot's `{"msgtype": "markdown", "markdown":
  {"content": ...}}`, content at most 4096 bytes of UTF-8."""

from __future__ import annotations

from typing import Any, Literal

from tradebus_contracts import NotifyAlert

ChannelKind = Literal["json", "slack", "wecom"]

WECOM_MAX_BYTES = 4096
SLACK_TEXT_MAX = 3000  # a section block's text limit

_SLACK_ICON = {
    "critical": ":rotating_light:",
    "warning": ":warning:",
    "info": ":information_source:",
}
# WeCom markdown knows three font colours: info (green), comment (grey), warning (orange).
_WECOM_COLOUR = {"critical": "warning", "warning": "warning", "info": "comment"}


def title(n: NotifyAlert) -> str:
    state = "FIRING" if n.status == "firing" else "RESOLVED"
    return f"[{state}] {n.severity}: {n.rule} on {n.subject}"


def json_body(n: NotifyAlert) -> dict[str, Any]:
    return {
        "version": 1,
        "status": n.status,
        "alert_id": n.alert_id,
        "fingerprint": n.fingerprint,
        "rule": n.rule,
        "rule_kind": n.rule_kind,
        "severity": n.severity,
        "subject": n.subject,
        "tenant_id": n.tenant_id,
        "value": n.value,
        "threshold": n.threshold,
        "summary": n.summary,
        "started_at": n.started_at.isoformat(),
        "raised_at" if n.status == "firing" else "resolved_at": n.at.isoformat(),
    }


def _value(n: NotifyAlert) -> str:
    return "n/a" if n.value is None else f"{n.value:g}"


def slack_body(n: NotifyAlert) -> dict[str, Any]:
    icon = ":white_check_mark:" if n.status == "resolved" else _SLACK_ICON[n.severity]
    head = f"{icon} *{_slack_escape(title(n))}*\n{_slack_escape(n.summary)}"
    facts = (
        f"value `{_value(n)}` · threshold `{n.threshold:g}` · since "
        f"<!date^{int(n.started_at.timestamp())}^{{date_short_pretty}} {{time}}|"
        f"{n.started_at.isoformat()}> · alert `{n.alert_id}`"
    )
    return {
        "text": f"{title(n)}: {n.summary}",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": head[:SLACK_TEXT_MAX]}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": facts}]},
        ],
    }


def wecom_body(n: NotifyAlert) -> dict[str, Any]:
    colour = "info" if n.status == "resolved" else _WECOM_COLOUR[n.severity]
    lines = [
        f'## <font color="{colour}">{title(n)}</font>',
        n.summary,
        f'> value: <font color="comment">{_value(n)}</font>',
        f'> threshold: <font color="comment">{n.threshold:g}</font>',
        f'> since: <font color="comment">{n.started_at.isoformat()}</font>',
        f'> alert: <font color="comment">{n.alert_id}</font>',
    ]
    return {"msgtype": "markdown", "markdown": {"content": _clip("\n".join(lines))}}


def body_for(kind: ChannelKind, n: NotifyAlert) -> dict[str, Any]:
    if kind == "slack":
        return slack_body(n)
    if kind == "wecom":
        return wecom_body(n)
    return json_body(n)


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn control characters (its documented escaping).
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int = WECOM_MAX_BYTES) -> str:
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode(errors="ignore") + "..."
