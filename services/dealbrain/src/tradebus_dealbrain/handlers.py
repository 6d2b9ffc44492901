"""Message handlers: contract in, one pipeline call, contract out.

- `dealbrain.ask.v1` (RPC, `dealbrain.ask`) → AskHandler
- `dealbrain.session.summarize.v1` (command, `dealbrain.summarize`) → SummarizeHandler
- `omnirag.document.indexed.v1` (event, `dealbrain.index-refresh.<replica>`): wired by
  `tradebus_retrieval.subscribe_index_refresh`
- `dealbrain.recall.evaluate.v1` (command, `dealbrain.recall`) → EvaluateRecallHandler
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from tradebus_contracts import AskReply, AskRequest, Envelope, EvaluateRecall, SummarizeSession
from tradebus_messaging import MessageContext, PermanentError

from .domain import Deadline
from .pipeline import AskPipeline
from .recall import RecallPatrol
from .summarizer import SessionSummarizer

log = structlog.get_logger(__name__)

# Asking for a summary never holds a reply back longer than this.
_SUMMARY_PUBLISH_SECONDS = 0.5


def tenant_of(req: AskRequest, ctx: MessageContext) -> str:
    """The envelope's tenant is the gateway's authenticated one; a body naming another
    tenant is refused rather than trusted."""
    if ctx.tenant_id is not None and ctx.tenant_id != req.tenant_id:
        raise PermanentError("the request's tenant does not match its envelope", code="forbidden")
    return req.tenant_id


class AskHandler:
    """Answers one question. Effect: the exchange appended to the session (when the
    request names one) and a summary requested. Idempotency: none needed for the
    answer (a read). A request redelivered inside its deadline (its server died after
    writing the session, before replying) appends its exchange again: a repeated
    turn, rare and harmless, accepted rather than deduplicated. The summary command
    carries a deterministic message id (session and turn), so it is asked for once."""

    def __init__(self, pipeline: AskPipeline, *, default_deadline_seconds: float) -> None:
        self._pipeline = pipeline
        self._default_deadline = default_deadline_seconds

    async def __call__(self, req: AskRequest, ctx: MessageContext) -> AskReply:
        tenant_id = tenant_of(req, ctx)
        deadline = Deadline.from_wall_clock(ctx.deadline, default_seconds=self._default_deadline)
        outcome = await self._pipeline.ask(req, tenant_id=tenant_id, deadline=deadline)
        if outcome.summarize is not None:
            # Fire and forget: the summary is folded off the request path. A lost publish
            # is harmless, the next ask of the session asks again.
            try:
                async with asyncio.timeout(
                    min(_SUMMARY_PUBLISH_SECONDS, max(deadline.remaining(), 0.05))
                ):
                    await ctx.publish(outcome.summarize, message_id=outcome.summarize_message_id)
            except Exception as exc:
                log.warning("could not request a session summary", error=repr(exc))
        return outcome.reply


class SummarizeHandler:
    """Folds a session's old turns into its summary. Idempotency: compare-and-set on
    the session's `summarized_through` (the store writes only if nobody folded
    since the read), and turns already folded are skipped, so a redelivered or
    duplicated command folds nothing twice."""

    def __init__(self, summarizer: SessionSummarizer) -> None:
        self._summarizer = summarizer

    async def __call__(self, cmd: SummarizeSession, ctx: MessageContext) -> None:
        await self._summarizer.fold(
            cmd.tenant_id, cmd.session_id, cmd.through_turn, attempt=ctx.attempt
        )


class EvaluateRecallHandler:
    """Measures retrieval recall for one tenant, or fans out to every tenant with
    searchable knowledge (`tenant_id` None: one command per tenant, so one tenant's
    failure retries alone). Idempotency: the run's record is keyed by (tenant, slot, k)
    and a redelivery finds it and republishes its event; both the per-tenant commands
    and the events carry deterministic message ids."""

    def __init__(self, patrol: RecallPatrol, publish: Callable[..., Awaitable[Envelope]]) -> None:
        self._patrol = patrol
        self._publish = publish  # Bus.publish: the envelope's tenant is the evaluated one

    async def __call__(self, cmd: EvaluateRecall, ctx: MessageContext) -> None:
        if ctx.tenant_id is not None and cmd.tenant_id not in (None, ctx.tenant_id):
            raise PermanentError(
                "the command's tenant does not match its envelope", code="forbidden"
            )
        tenant_id = cmd.tenant_id or ctx.tenant_id
        slot = cmd.slot.isoformat()
        if tenant_id is None:
            tenants = await self._patrol.tenants()
            for tenant in tenants:
                await self._send(
                    cmd.model_copy(update={"tenant_id": tenant}),
                    ctx,
                    tenant,
                    f"recall:{tenant}:{slot}:{cmd.sample_size}:{cmd.k}",
                )
            log.info("recall patrol fanned out", slot=slot, tenants=len(tenants))
            return
        event = await self._patrol.evaluate(
            tenant_id, slot=cmd.slot, sample_size=cmd.sample_size, k=cmd.k, attempt=ctx.attempt
        )
        if event is not None:
            await self._send(event, ctx, tenant_id, f"recall-evaluated:{tenant_id}:{slot}:{cmd.k}")

    async def _send(self, payload: Any, ctx: MessageContext, tenant: str, message_id: str) -> None:
        await self._publish(
            payload, tenant_id=tenant, causation=ctx.envelope, message_id=message_id
        )
