"""The console's writes: cancel a task, replay or purge parked messages. Plain forms
(they work without scripts), each checked against the session's CSRF token, each one
call of the operator API (which audits it), then back to the page with what happened."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData

from .client import ApiProblem, segment
from .deps import Api, CheckedForm, CurrentSession
from .notices import signed
from .paths import console_path
from .session import Session

router = APIRouter(prefix="/console", include_in_schema=False)


def _back(session: Session, form: FormData, default: str, notice: str) -> RedirectResponse:
    """Back to the page the form was on: only a console path (no open redirect), with
    the notice signed for this session."""
    target = console_path(str(form.get("back") or "")) or default
    joiner = "&" if "?" in target else "?"
    query = urlencode(signed(session.csrf_token, notice))
    return RedirectResponse(f"{target}{joiner}{query}", status_code=303)


def _selection(form: FormData) -> dict[str, Any] | None:
    """Which parked messages a form names. The button pressed decides (one row's `only`,
    `all`, a `reason`); a plain submit takes the ticked boxes, Enter in a field nothing."""
    if form.get("pressed") == "enter":
        return None
    if form.get("only"):
        return {"message_ids": [str(form["only"])]}
    if form.get("all") == "true":
        return {"all": True}
    if form.get("reason"):
        return {"reason": str(form["reason"])}
    picked = [str(v) for v in form.getlist("message_ids") if v]
    return {"message_ids": picked} if picked else None


@router.post("/tasks/{task_id}/cancel")
async def cancel_task(
    task_id: str, api: Api, session: CurrentSession, form: CheckedForm
) -> RedirectResponse:
    page = f"/console/tasks/{segment(task_id)}"
    try:
        task = await api.post(f"/v1/operator/tasks/{segment(task_id)}/cancel")
    except ApiProblem as refused:
        if refused.status not in (404, 409):
            raise
        return _back(session, form, page, f"Not cancelled: {refused.message or refused.code}")
    return _back(
        session, form, page, f"Cancel requested; the task is {task.get('status', 'updating')}."
    )


@router.post("/parking/{lot}/replay")
async def replay(
    lot: str, api: Api, session: CurrentSession, form: CheckedForm
) -> RedirectResponse:
    page = f"/console/parking/{segment(lot)}"
    selection = _selection(form)
    if selection is None:
        return _back(session, form, page, "Nothing selected: nothing replayed.")
    try:
        done = await api.post(f"/v1/operator/parking/{segment(lot)}/replay", selection)
    except ApiProblem as refused:
        if refused.status not in (404, 409, 422):
            raise
        return _back(session, form, page, f"Not replayed: {refused.message or refused.code}")
    notice = f"Replayed {done.get('replayed', 0)} message(s)."
    if done.get("limit_reached"):
        notice += " That is the most one replay sends back: replay again for the rest."
    return _back(session, form, page, notice)


@router.post("/parking/{lot}/purge")
async def purge(lot: str, api: Api, session: CurrentSession, form: CheckedForm) -> RedirectResponse:
    page = f"/console/parking/{segment(lot)}"
    selection = _selection(form)
    if selection is None:
        return _back(session, form, page, "Nothing selected: nothing purged.")
    body = {"confirm": str(form.get("confirm", "")), **selection}
    try:
        done = await api.post(f"/v1/operator/parking/{segment(lot)}/purge", body)
    except ApiProblem as refused:
        if refused.code == "confirm_mismatch":
            return _back(
                session, form, page, "The typed name did not match the lot: nothing purged."
            )
        if refused.status not in (404, 409, 422):
            raise
        return _back(session, form, page, f"Not purged: {refused.message or refused.code}")
    return _back(session, form, page, f"Purged {done.get('purged', 0)} message(s).")


@router.post("/keys/{key_id}/revoke")
async def revoke_key(
    key_id: str, api: Api, session: CurrentSession, form: CheckedForm
) -> RedirectResponse:
    page = "/console/tenants"
    try:
        done = await api.post(f"/v1/operator/keys/{segment(key_id)}/revoke")
    except ApiProblem as refused:
        if refused.status not in (404, 409, 422):
            raise
        return _back(session, form, page, f"Not revoked: {refused.message or refused.code}")
    return _back(session, form, page, f"Key {done.get('key_id', key_id)} revoked.")
