"""Request and response bodies of the public API."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    StringConstraints,
    TypeAdapter,
    WithJsonSchema,
    model_validator,
)

from tradebus_contracts import Progress, TaskError, TaskStatus

# Metadata is stored in MongoDB as field names and matched by filters: a key holds no
# NUL, `$` or `.` (MongoDB's own rules), values no control characters; both are bounded
# so the command stays small.
METADATA_KEY_PATTERN = r"^[A-Za-z0-9_:-]{1,64}$"
METADATA_VALUE_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*$"  # no C0 or C1 controls
METADATA_MAX_ITEMS = 32
METADATA_VALUE_MAX_CHARS = 1024

METADATA_SCHEMA: dict[str, Any] = {
    "type": "object",
    "maxProperties": METADATA_MAX_ITEMS,
    "propertyNames": {"pattern": METADATA_KEY_PATTERN},
    "additionalProperties": {
        "type": "string",
        "maxLength": METADATA_VALUE_MAX_CHARS,
        "pattern": METADATA_VALUE_PATTERN,
    },
}
MetadataKey = Annotated[str, StringConstraints(pattern=METADATA_KEY_PATTERN)]
MetadataValue = Annotated[
    str, StringConstraints(max_length=METADATA_VALUE_MAX_CHARS, pattern=METADATA_VALUE_PATTERN)
]
Metadata = Annotated[
    dict[MetadataKey, MetadataValue],
    # propertyNames, not pydantic's patternProperties: under the latter a key outside
    # the pattern would be schema-valid and yet refused.
    WithJsonSchema(METADATA_SCHEMA),
    Field(
        max_length=METADATA_MAX_ITEMS,
        description=f"Up to {METADATA_MAX_ITEMS} string values; keys are 1-64 of "
        "`A-Z a-z 0-9 _ : -`, values at most 1024 characters without control characters.",
        examples=[{"region": "EU"}],
    ),
]


# Only what the ingest service can fetch: http(s), a host name (whose last label is not
# a number) or an IPv4 address, an optional port. Also the OpenAPI pattern, so a URL
# the schema allows is one the gateway accepts.
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"


def _iso_text(value: Any) -> Any:
    # pydantic reads a bare number as a Unix time; the documented form is ISO 8601 text.
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise ValueError("expected an ISO 8601 date-time, e.g. 2026-11-01T00:00:00Z")
    return value


_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}")
# A date-time query parameter: ISO 8601 text only.
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_text)]

URL_PATTERN = (
    rf"^https?://(([A-Za-z0-9-]+\.)*[A-Za-z][A-Za-z0-9-]*|{_OCTET}(\.{_OCTET}){{3}})"
    r"(:[0-9]{1,4})?(/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?(\?[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?$"
)
_HTTP_URL: TypeAdapter[HttpUrl] = TypeAdapter(HttpUrl)


def _http_url(value: str) -> str:
    return str(_HTTP_URL.validate_python(value))


DocumentUrl = Annotated[
    str, StringConstraints(pattern=URL_PATTERN, max_length=2083), AfterValidator(_http_url)
]


def _one_source_schema(schema: dict[str, Any]) -> None:
    # The body as the model accepts it: `text` or `url`, exactly one, never null.
    props = schema["properties"]
    props["text"] = {"type": "string", "minLength": 1, "examples": ["FOB: the seller delivers..."]}
    props["url"] = {
        "type": "string",
        "pattern": URL_PATTERN,
        "maxLength": 2083,
        "examples": ["https://example.com/terms.html"],
    }
    schema["oneOf"] = [{"required": ["text"]}, {"required": ["url"]}]


class Priority(StrEnum):
    """The share of the ingestion queues a submission gets (tenants share them fairly):
    `high` counts four times the tenant's weight, `bulk` waits in a low-share lane
    shared by every tenant's bulk work."""

    HIGH = "high"
    NORMAL = "normal"
    BULK = "bulk"


PRIORITY_DESCRIPTION = (
    "high: four times the tenant's share of the ingestion workers; normal: its share; "
    "bulk: a low-share lane for work that can wait."
)
# Inline, not a `$ref`: the JSON body schema is embedded in routes' OpenAPI by hand.
PriorityField = Annotated[
    Priority, WithJsonSchema({"type": "string", "enum": [p.value for p in Priority]})
]


class DocumentIn(BaseModel):
    """A document given inline (`text`) or by address (`url`); exactly one of them."""

    model_config = ConfigDict(json_schema_extra=_one_source_schema)

    title: str = Field(..., min_length=1, max_length=500, examples=["Incoterms 2020 overview"])
    text: str | None = Field(None, min_length=1)
    url: DocumentUrl | None = None
    metadata: Metadata = Field(default_factory=dict)
    priority: PriorityField = Field(Priority.NORMAL, description=PRIORITY_DESCRIPTION)

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name in ("text", "url"):
                if name in data and data[name] is None:
                    raise ValueError(f"`{name}` may be left out, not null")
        return data

    @model_validator(mode="after")
    def _one_source(self) -> DocumentIn:
        if (self.text is None) == (self.url is None):
            raise ValueError("give exactly one of `text` or `url`")
        return self


class TaskAccepted(BaseModel):
    task_id: str = Field(..., examples=["0193a1b2c3d4e5f60718293a4b5c6d7e"])
    status: TaskStatus
    document_id: str | None = None
    created: bool = Field(..., description="False when an Idempotency-Key matched a task.")


class BatchCounts(BaseModel):
    """A batch's documents (its child tasks) by status."""

    total: int
    queued: int
    running: int
    retrying: int
    succeeded: int
    failed: int
    cancelled: int


class TaskOut(BaseModel):
    id: str
    kind: str = Field(..., examples=["rag.ingest"])
    status: TaskStatus
    progress: Progress
    attempts: int
    error: TaskError | None = None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    expires_at: datetime | None = Field(None, description="When the result stops being kept.")
    parent_id: str | None = Field(None, description="The batch this task is a document of.")
    batch: BatchCounts | None = Field(
        None, description="A batch's documents by status (kind `rag.batch` only)."
    )


class TaskPage(BaseModel):
    items: list[TaskOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page.")


class TaskResult(BaseModel):
    task_id: str
    result: dict[str, Any] = Field(
        ..., examples=[{"document_id": "d1", "chunk_count": 42, "duplicate_chunks": 3}]
    )
