"""Large payloads in GridFS; messages carry the id, never the bytes."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile
from pymongo.asynchronous.database import AsyncDatabase


@dataclass(frozen=True, slots=True)
class Blob:
    data: bytes
    filename: str
    content_type: str
    tenant_id: str


class BlobNotFound(LookupError):
    pass


class BlobStore:
    def __init__(self, db: AsyncDatabase[Any], bucket: str = "blobs") -> None:
        self._bucket = AsyncGridFSBucket(db, bucket_name=bucket)

    async def put(self, data: bytes, *, tenant_id: str, filename: str, content_type: str) -> str:
        blob_id = await self._bucket.upload_from_stream(
            filename, data, metadata={"tenant_id": tenant_id, "content_type": content_type}
        )
        return str(blob_id)

    async def get(self, blob_id: str, *, tenant_id: str) -> Blob:
        try:
            stream = await self._bucket.open_download_stream(ObjectId(blob_id))
        except (NoFile, InvalidId, TypeError) as exc:
            raise BlobNotFound(blob_id) from exc
        meta = stream.metadata or {}
        if meta.get("tenant_id") != tenant_id:
            raise BlobNotFound(blob_id)  # another tenant's blob does not exist for you
        return Blob(
            await stream.read(), stream.filename or "", meta.get("content_type", ""), tenant_id
        )

    async def delete(self, blob_id: str) -> None:
        with contextlib.suppress(NoFile, InvalidId):
            await self._bucket.delete(ObjectId(blob_id))
