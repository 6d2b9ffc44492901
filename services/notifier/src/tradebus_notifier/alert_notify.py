"""`notifier.alert-notify`: one notification to one operator channel per job.

2xx (and, for WeCom, `errcode` 0) is done; timeouts, connection errors, 408, 429, 5xx
and WeCom's busy/rate-limit codes raise, so the runtime retries the job with backoff on
the delay network and parks it after the last attempt; any other answer (a bad token, a
malformed body, a URL the SSRF guard refuses) parks it at once: retrying cannot help."""

from __future__ import annotations

from collections.abc import Iterable

import structlog

from tradebus_contracts import NotifyAlert
from tradebus_messaging import MessageContext, PermanentError

from .adapters.alert_channels import ChannelPoster
from .alert_settings import AlertChannel
from .domain.alert_messages import body_for
from .domain.outcomes import Verdict

log = structlog.get_logger("tradebus.notifier.alerts")


class ChannelUnwell(Exception):
    """The channel did not take the notification this time; worth another attempt."""


class AlertNotifier:
    def __init__(self, *, channels: Iterable[AlertChannel], poster: ChannelPoster) -> None:
        self._channels = {c.name: c for c in channels}
        self._poster = poster

    async def __call__(self, job: NotifyAlert, ctx: MessageContext) -> None:
        """Idempotency: none beyond the message id the job is published with (derived
        from the notification and the channel). A channel has no way to dedupe, so a
        redelivery (a crash after the POST, before the ack; an evaluator that crashed
        between publishing and clearing its outbox) shows as a repeated line: at least
        once, the right side to err on for an alert."""
        channel = self._channels.get(job.channel)
        if channel is None:
            raise PermanentError(f"no alert channel named {job.channel!r} is configured")
        answer = await self._poster.post(
            channel.kind, channel.url.get_secret_value(), body_for(channel.kind, job)
        )
        fields = dict(
            channel=channel.name, alert_id=job.alert_id, status=job.status, detail=answer.detail
        )
        if answer.verdict is Verdict.DELIVERED:
            log.info("alert notification delivered", **fields)
            return
        if answer.verdict is Verdict.RETRY:
            log.warning("alert notification not delivered; will retry", **fields)
            raise ChannelUnwell(f"{channel.name}: {answer.detail}")
        log.error("alert notification refused", **fields)
        raise PermanentError(f"{channel.name}: {answer.detail}")
