"""The alert settings' shapes and defaults (fields of NotifierSettings, JSON in env)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from .domain.alert_messages import ChannelKind
from .domain.alert_rules import Rule, RuleKind, Severity


class AlertChannel(BaseModel):
    """An operator channel. The URL is a secret (Slack and WeCom put their token in it):
    it stays in settings, never in a message or a log line."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ChannelKind
    url: SecretStr
    name: str = Field("", max_length=100, description="Defaults to `<kind>-<position>`.")
    # Notifications of rules below this severity are not sent to the channel.
    min_severity: Severity = "info"


# The platform's work queues (their parking lots are `<queue>.dlq`).
DEFAULT_QUEUES: tuple[str, ...] = (
    "omnirag-ingest.ingest",
    "omnirag-embed.embed",
    "dealbrain.ask",
    "dealbrain.summarize",
    "shadowhunter.hunt",
    "shadowhunter.assess",
    "notifier.webhook-fanout",
    "notifier.webhook-deliver",
)


def default_rules() -> list[Rule]:
    return [
        Rule(
            name="empty_retrieval_rate",
            kind=RuleKind.EMPTY_RETRIEVAL_RATE,
            threshold=0.5,
            window_seconds=900,
            min_samples=20,
        ),
        Rule(
            name="task_failure_rate",
            kind=RuleKind.TASK_FAILURE_RATE,
            threshold=0.2,
            window_seconds=900,
            min_samples=10,
        ),
        Rule(
            name="parking_lot_depth",
            kind=RuleKind.PARKING_LOT_DEPTH,
            threshold=0,
            for_seconds=0,
            clear_for_seconds=300,
        ),
        Rule(
            name="oldest_message_age",
            kind=RuleKind.OLDEST_MESSAGE_AGE,
            threshold=600,
            for_seconds=0,
        ),
        Rule(
            name="consumer_missing",
            kind=RuleKind.CONSUMER_MISSING,
            threshold=1,
            severity="critical",
            for_seconds=120,
            clear_for_seconds=60,
        ),
        Rule(
            name="recall_below",
            kind=RuleKind.RECALL_BELOW,
            threshold=0.6,
            window_seconds=3 * 86400,
            for_seconds=0,
            clear_for_seconds=0,
        ),
    ]
