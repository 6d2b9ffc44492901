"""The envelope of a message about to be published: pure, so every way of sending
(publish, delayed publish, the faulted event) names and threads messages alike."""

from __future__ import annotations

from tradebus_contracts import Envelope


def envelope_for(
    message_type: str,
    source: str,
    *,
    tenant_id: str | None = None,
    subject: str | None = None,
    causation: Envelope | None = None,
    correlation_id: str | None = None,
    traceparent: str | None = None,
    message_id: str | None = None,
    task_id: str | None = None,
    priority: str | None = None,
) -> Envelope:
    """Caused by `causation` (same tenant, conversation, trace and task unless
    overridden), or the first message of a new conversation, named after
    `message_id` when one is given (a deterministic id lets a re-publish be
    recognised by inboxes)."""
    if causation is not None:
        return causation.caused(
            message_type,
            source,
            subject=subject,
            **({"tenant_id": tenant_id} if tenant_id else {}),
            **({"id": message_id} if message_id else {}),
            **({"task_id": task_id} if task_id else {}),
            **({"priority": priority} if priority else {}),
        )
    envelope = Envelope(
        type=message_type,
        source=source,
        tenant_id=tenant_id,
        subject=subject,
        correlation_id=correlation_id,
        traceparent=traceparent,
        task_id=task_id,
        priority=priority,
    )
    if message_id:  # the conversation starts here: it is named after the message
        envelope = envelope.with_(id=message_id, correlation_id=correlation_id or message_id)
    return envelope
