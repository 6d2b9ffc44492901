"""Operational alerts: the notifier's rules firing and clearing, and their delivery to
operator channels."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from ._base import Contract, MessageKind

Severity = Literal["info", "warning", "critical"]


class _Alert(Contract):
    """What both sides of an alert say about it (not a message of its own)."""

    alert_id: str = Field(
        ...,
        max_length=64,
        description="One firing of one rule for one subject: raised and resolved share it.",
    )
    fingerprint: str = Field(
        ..., max_length=64, description="The (rule, subject) pair; stable across firings."
    )
    rule: str = Field(..., max_length=100, examples=["empty_retrieval_rate"])
    rule_kind: str = Field(..., max_length=64, description="The signal the rule reads.")
    severity: Severity
    subject: str = Field(
        ..., max_length=300, description="What is alerting: a tenant, a queue or a task kind."
    )
    tenant_id: str | None = Field(None, description="Set when the subject is one tenant.")
    value: float | None = Field(None, description="The signal's value at the evaluation.")
    threshold: float
    summary: str = Field(..., max_length=1000, description="One line for a person.")
    started_at: datetime = Field(
        ..., description="When the condition was first seen in this firing."
    )


class AlertRaised(_Alert):
    """An alert rule's condition held for its `for` duration: the alert fires (once)."""

    message_type: ClassVar[str] = "tradebus.alert.raised.v1"
    kind: ClassVar[MessageKind] = MessageKind.EVENT

    raised_at: datetime


class AlertResolved(_Alert):
    """A firing alert's condition stayed clear for its clear duration: it is resolved."""

    message_type: ClassVar[str] = "tradebus.alert.resolved.v1"
    kind: ClassVar[MessageKind] = MessageKind.EVENT

    resolved_at: datetime


class NotifyAlert(Contract):
    """Deliver one alert notification (raised or resolved) to one operator channel.

    One job per (notification, channel), so one channel's retries never hold another's.
    The channel's URL stays in the notifier's settings; the job names the channel."""

    message_type: ClassVar[str] = "notifier.alert.notify.v1"
    kind: ClassVar[MessageKind] = MessageKind.COMMAND

    channel: str = Field(..., max_length=100, description="A configured channel's name.")
    status: Literal["firing", "resolved"]
    alert_id: str = Field(..., max_length=64)
    fingerprint: str = Field(..., max_length=64)
    rule: str = Field(..., max_length=100)
    rule_kind: str = Field(..., max_length=64)
    severity: Severity
    subject: str = Field(..., max_length=300)
    tenant_id: str | None = None
    value: float | None = None
    threshold: float
    summary: str = Field(..., max_length=1000)
    started_at: datetime
    at: datetime = Field(..., description="When it was raised or resolved.")
