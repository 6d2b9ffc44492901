"""Online calls: one RPC on a client's behalf, under the endpoint's in-flight budgets (this
replica's, and the tenant's across every replica), the tenant's request rate and the
endpoint's deadline, with the runtime's failures turned into HTTP answers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import structlog
from prometheus_client import Counter, Gauge

from tradebus_contracts import Contract
from tradebus_messaging import Bus, DeadlineExceeded, PublishError, RemoteError, RpcError
from tradebus_resilience import SharedLimits, Slot

from .errors import ApiError
from .limits import InFlightBudget
from .settings import GatewaySettings
from .tenant_rate import rate_limited, tenant_rate

log = structlog.get_logger(__name__)

CALLS = Counter(
    "tradebus_gateway_online_calls_total",
    "Online RPC calls by endpoint and outcome "
    "(ok, busy, rate_limited, tenant_busy, deadline, unavailable, invalid, "
    "remote_retryable, remote_error).",
    ["endpoint", "outcome"],
)
IN_FLIGHT = Gauge(
    "tradebus_gateway_online_in_flight", "Online RPC calls outstanding now.", ["endpoint"]
)

R = TypeVar("R", bound=Contract)


@dataclass(frozen=True, slots=True)
class OnlineEndpoint:
    name: str  # ask | hunt | assess: the settings prefix and the metric label
    service: str  # who answers, named in error messages
    deadline: float
    budget: InFlightBudget  # this replica's, protecting it
    tenant_limit: int  # one tenant's calls in flight across every replica
    limits: SharedLimits


@dataclass(frozen=True, slots=True)
class CallContext:
    """What the client asked of this one call: a shorter deadline, its trace."""

    timeout: float | None
    correlation_id: str
    # The client's, when valid: the trace the call joins while tracing is off (with
    # tracing on, the request's own span is the parent of what the call publishes).
    traceparent: str | None


def online_endpoints(settings: GatewaySettings, limits: SharedLimits) -> dict[str, OnlineEndpoint]:
    s = settings
    endpoints = {
        name: OnlineEndpoint(
            name,
            service,
            getattr(s, f"{name}_deadline_seconds"),
            InFlightBudget(getattr(s, f"{name}_max_in_flight")),
            getattr(s, f"{name}_tenant_max_in_flight"),
            limits,
        )
        for name, service in (
            ("ask", "dealbrain"),
            ("hunt", "shadowhunter"),
            ("assess", "shadowhunter"),
        )
    }
    for name, endpoint in endpoints.items():
        IN_FLIGHT.labels(name).set_function(_reader(endpoint.budget))
    return endpoints


def _reader(budget: InFlightBudget) -> Callable[[], float]:
    return lambda: budget.in_flight


async def call(
    bus: Bus,
    endpoint: OnlineEndpoint,
    payload: Contract,
    reply_type: type[R],
    *,
    tenant_id: str,
    context: CallContext,
    settings: GatewaySettings,
) -> R:
    """Send `payload` and return the reply, or raise the ApiError to answer with."""
    correlation = {"X-Correlation-Id": context.correlation_id}
    busy = {"Retry-After": str(settings.busy_retry_after_seconds), **correlation}
    timeout = (
        endpoint.deadline if context.timeout is None else min(context.timeout, endpoint.deadline)
    )
    # Checked before anything is published, without waiting: a full budget is a 429 now.
    if not endpoint.budget.try_acquire():
        CALLS.labels(endpoint.name, "busy").inc()
        message = f"too many {endpoint.name} requests in flight; retry later"
        raise ApiError(429, "overloaded", message, headers=busy)
    slot: Slot | None = None
    try:
        # The tenant's rate and its slot in one round trip. The slot is held at most the
        # deadline plus a margin: a replica that dies holding it frees it.
        admission = await endpoint.limits.admit(
            tenant_id,
            tenant_rate(settings),
            endpoint.name,
            endpoint.tenant_limit,
            hold=timeout + 5,
        )
        if admission.slot is None:
            raise _refusal(endpoint, admission.wait, settings, correlation, busy)
        slot = admission.slot
        reply = await bus.request(
            payload,
            timeout=timeout,
            tenant_id=tenant_id,
            correlation_id=context.correlation_id,
            traceparent=context.traceparent,
        )
    except (RpcError, PublishError, TimeoutError) as exc:
        outcome, error = http_error(
            exc,
            endpoint,
            timeout=timeout,
            retry_after=settings.unavailable_retry_after_seconds,
            headers=correlation,
        )
        CALLS.labels(endpoint.name, outcome).inc()
        log.warning(
            "online call failed",
            endpoint=endpoint.name,
            outcome=outcome,
            error=str(exc),
            tenant_id=tenant_id,
            correlation_id=context.correlation_id,
        )
        raise error from exc
    finally:
        endpoint.budget.release()
        if slot is not None:
            endpoint.limits.release_soon(slot)  # off the answer's path
    if not isinstance(reply, reply_type):
        CALLS.labels(endpoint.name, "remote_error").inc()
        raise ApiError(
            502,
            "upstream_error",
            f"{endpoint.service} answered with {type(reply).__name__}",
            headers=correlation,
        )
    CALLS.labels(endpoint.name, "ok").inc()
    return reply


def _refusal(
    endpoint: OnlineEndpoint,
    wait: float,
    settings: GatewaySettings,
    correlation: dict[str, str],
    busy: dict[str, str],
) -> ApiError:
    if wait > 0:
        CALLS.labels(endpoint.name, "rate_limited").inc()
        return rate_limited(settings, wait, correlation)
    CALLS.labels(endpoint.name, "tenant_busy").inc()
    message = (
        f"this tenant has {endpoint.tenant_limit} {endpoint.name} requests in "
        "flight already; retry later"
    )
    return ApiError(429, "tenant_overloaded", message, headers=busy)


def http_error(
    exc: BaseException,
    endpoint: OnlineEndpoint,
    *,
    timeout: float,
    retry_after: int,
    headers: dict[str, str] | None = None,
) -> tuple[str, ApiError]:
    """(metric outcome, the answer) for a failed call. Remote failure texts reach the
    client only for invalid requests: anything else may carry the server's internals."""
    service, plain = endpoint.service, dict(headers or {})
    retry = {**plain, "Retry-After": str(retry_after)}
    if isinstance(exc, DeadlineExceeded | TimeoutError):
        message = f"{service} did not answer within {timeout:g}s"
        return "deadline", ApiError(504, "deadline_exceeded", message, headers=plain)
    if isinstance(exc, RemoteError):
        if exc.code == "invalid_request":
            return "invalid", ApiError(422, "invalid_request", exc.message[:500], headers=plain)
        if exc.retryable:
            message = f"{service} failed temporarily ({exc.code}); retry later"
            return "remote_retryable", ApiError(503, "unavailable", message, headers=retry)
        message = f"{service} failed ({exc.code})"
        return "remote_error", ApiError(502, "upstream_error", message, headers=plain)
    # The broker is away, or nothing consumes the request type (an unroutable publish).
    message = f"{service} is unavailable; retry later"
    return "unavailable", ApiError(503, "unavailable", message, headers=retry)
