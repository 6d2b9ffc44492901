"""Who may call the operator routes, and the audit of every write they make.

`Operator` (deps.py) guards the reads. A write route takes `audited("<action>")`
instead: it also refuses tenant keys (and records the refusal), and hands the route an
`Act` whose `attempt(...)` block records the outcome: `ok`, `refused` for a 4xx the
route answers, `failed` for anything else."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import Depends

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


@dataclass(frozen=True, slots=True)
class Act:
    log: AuditLog
    actor: Principal
    action: str

    async def record(self, target: str, outcome: Outcome, details: dict[str, Any]) -> None:
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


def audited(action: str) -> Callable[..., Coroutine[Any, Any, Act]]:
    async def dependency(state: State, principal: Principal = Depends(resolved)) -> Act:
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
        return Act(log, checked, action)

    return dependency
