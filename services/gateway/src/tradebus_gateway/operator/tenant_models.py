"""Bodies and answers of the tenant and key routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

TENANT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
# Names and labels are shown in pages, tables and the audit log: no control characters,
# line separators or bidi overrides, which could forge a line or turn text around.
PRINTABLE = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]*$"
Label = Annotated[str, Field(max_length=100, pattern=PRINTABLE, description="What the key is for.")]


class KeyOut(BaseModel):
    key_id: str = Field(..., description="The first 12 characters of the key's digest.")
    label: str
    role: Literal["tenant", "operator"]
    tenant_id: str | None = Field(None, description="Null for an operator key.")
    created_at: datetime | None
    revoked_at: datetime | None


class UsageOut(BaseModel):
    tasks_24h: dict[str, int] = Field(..., description="Tasks created in 24 h, by status.")


class RecentError(BaseModel):
    task_id: str
    kind: str
    code: str
    message: str
    at: datetime


class TenantOut(BaseModel):
    id: str
    name: str
    created_at: datetime | None
    keys: list[KeyOut]
    rate_limit: str | None = Field(None, description="Requests the tenant may make.")
    quota: int | None = Field(None, description="Documents in ingestion at most; null: share.")
    usage: UsageOut
    recent_errors: list[RecentError]


class TenantPage(BaseModel):
    items: list[TenantOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page.")


class TenantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(..., pattern=TENANT_ID_PATTERN, examples=["acme"])
    name: str | None = Field(None, min_length=1, max_length=200, pattern=PRINTABLE)


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: Label = ""


class OperatorKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: Label


class NewKey(BaseModel):
    key_id: str = Field(..., description="The first 12 characters of the key's digest.")
    api_key: str = Field(..., description="The key itself: shown this once, never again.")
    label: str
