"""Who may call the operator routes, and the audit of every write they make.

`Operator` (deps.py) guards the reads. A write route takes `audited("<action>")`
instead: it also refuses tenant keys (and records the refusal), and hands the route an
`Act` whose `attempt(...)` block records the outcome: `ok`, `refused` for a 4xx the
route answers, `failed` for anything else. An operator's request that FastAPI refuses
before the route runs (an invalid body: a purge without `confirm`) is recorded
`refused` too. Unknown keys (401) are not recorded: guessing must not fill the log."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError

from ..auth import Principal
from ..deps import State, operator, resolved
from ..errors import ApiError, describe, responses
from .audit import AuditLog, Outcome

FORBIDDEN = describe(
    "A tenant's key on an operator route", "forbidden", "this route needs an operator key"
)


def operator_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The documented errors of an operator route: 401, 403 forbidden, and `statuses`."""
    return {**responses(401, *statuses), 403: FORBIDDEN}


@dataclass(slots=True)
class Act:
    log: AuditLog
    actor: Principal
    action: str
    recorded: bool = field(default=False, init=False)

    async def record(self, target: str, outcome: Outcome, details: dict[str, Any]) -> None:
        self.recorded = True
        await self.log.record(
            self.actor.key_id, self.actor.label, self.action, target, details, outcome
        )

    @contextlib.asynccontextmanager
    async def attempt(self, target: str, **details: Any) -> AsyncIterator[dict[str, Any]]:
        """Records the block's outcome; the block may add to the yielded details."""
        try:
            yield details
        except ApiError as exc:
            outcome: Outcome = "refused" if exc.status < 500 else "failed"
            await self.record(target, outcome, {**details, "error": exc.code})
            raise
        except Exception as exc:
            await self.record(target, "failed", {**details, "error": type(exc).__name__})
            raise
        await self.record(target, "ok", details)


def audited(action: str) -> Callable[..., AsyncIterator[Act]]:
    async def dependency(
        request: Request, state: State, principal: Principal = Depends(resolved)
    ) -> AsyncIterator[Act]:
        log = AuditLog(state.db)
        try:
            checked = await operator(state, principal)
        except ApiError as exc:
            if exc.status == 403:  # a tenant's key tried an operator write
                await log.record(
                    principal.key_id,
                    principal.label,
                    action,
                    "",
                    {"role": principal.role},
                    "refused",
                )
            raise
        act = Act(log, checked, action)
        try:
            yield act
        except RequestValidationError as invalid:
            if not act.recorded:
                fields = sorted({".".join(map(str, e["loc"][1:])) for e in invalid.errors()})
                target = next(iter(request.path_params.values()), "")
                await act.record(str(target), "refused", {"error": "invalid", "fields": fields})
            raise

    return dependency
