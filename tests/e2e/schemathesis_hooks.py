"""Schemathesis hooks of tests/e2e/test_api_fuzz.py (loaded through schemathesis.toml).

They drop findings that are not the API's: "schema-violating request accepted" for
multipart bodies where schemathesis cannot re-check its own mutation after serialization
(it does for JSON), and a `503 unavailable` while the shared broker is down (other
suites restart it), which is the documented answer to that."""

from __future__ import annotations

import hashlib
import os
import re
from typing import Any

import httpx
import jsonschema
import schemathesis


@schemathesis.hook
def before_call(ctx: Any, case: Any, kwargs: dict[str, Any]) -> None:
    _spare_own_keys(case)


def _spare_own_keys(case: Any) -> None:
    """The operator routes may revoke any key, and a key id the API listed (the fuzzer's
    own keys are listed) may find its way into a generated revoke: revoking the keys the
    run authenticates with would turn every later answer into a 401."""
    if case.path != "/v1/operator/keys/{key_id}/revoke":
        return
    key_id = str((case.path_parameters or {}).get("key_id", ""))
    own = [k for k in os.environ.get("TRADEBUS_FUZZ_OWN_KEYS", "").split(",") if k]
    if key_id and any(hashlib.sha256(k.encode()).hexdigest().startswith(key_id) for k in own):
        case.path_parameters["key_id"] = "0" * 12


@schemathesis.hook
def filter_failure(ctx: Any, failure: Any, case: Any, response: Any) -> bool:
    if _made_up_cursor(case, response):
        return False
    if _more_descriptions_than_files(failure, response):
        return False
    if type(failure).__name__ == "ServerError" and response.status_code == 503:
        return not _dependency_down()
    if type(failure).__name__ != "AcceptedNegativeData":
        return True
    if not (case.media_type or "").startswith("multipart/form-data"):
        return True
    # A form field is text on the wire: the number -3.8e142 sent for the string `title`
    # arrives as the text "-3.8e142", which no server can tell from a string.
    if "violates `type`" in (failure.message or ""):
        return False
    # A "negated" value that still satisfies the schema (seen with `pattern`) was never
    # invalid: accepting it is right.
    return not _valid_form(case)


def _made_up_cursor(case: Any, response: Any) -> bool:
    """A cursor is opaque: no schema can say which strings the API handed out, so a
    generated one is refused (`422 invalid_cursor`), as it must be."""
    if response.status_code != 422 or "cursor" not in (case.query or {}):
        return False
    try:
        return bool(response.json().get("code") == "invalid_cursor")
    except ValueError:
        return False


def _more_descriptions_than_files(failure: Any, response: Any) -> bool:
    """A multipart batch's `documents` describes its files by position; more items than
    files is refused (its schema says so in prose: JSON Schema cannot compare the lengths
    of two properties), so a generated form with more is not a valid one."""
    if type(failure).__name__ != "RejectedPositiveData" or response.status_code != 422:
        return False
    try:
        message = str(response.json().get("message", ""))
    except ValueError:
        return False
    return re.fullmatch(r"documents: \d+ items for \d+ files", message) is not None


def _valid_form(case: Any) -> bool:
    content = case.operation.definition.raw["requestBody"]["content"][case.media_type]
    body = case.body
    if not isinstance(body, dict):
        return False
    schema = content["schema"]
    # A file part (bytes, or a (name, bytes, type) tuple) is what `format: binary`
    # stands for; any non-empty one satisfies it.
    binary = {k for k, v in schema.get("properties", {}).items() if v.get("format") == "binary"}
    as_json = {k: ("x" if k in binary and v else v) for k, v in body.items()}
    return jsonschema.Draft202012Validator(schema).is_valid(as_json)


def _dependency_down() -> bool:
    """The gateway itself says a dependency is away (asked right after the answer)."""
    readyz = os.environ.get("TRADEBUS_FUZZ_READYZ")
    if not readyz:
        return False
    try:
        return httpx.get(readyz, timeout=2).status_code != 200
    except httpx.HTTPError:
        return True
