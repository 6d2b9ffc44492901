"""Signatures as a receiver checks them: with the official `standardwebhooks` package."""

from __future__ import annotations

import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tradebus_notifier.domain.signing import webhook_headers
from tradebus_storage import new_signing_secret


def test_a_signed_body_verifies_with_the_official_library() -> None:
    secret = new_signing_secret()
    body = '{"specversion":"1.0","id":"e1","data":{"ü":1}}'.encode()
    headers = webhook_headers("msg_abc", int(time.time()), body, [secret])
    assert Webhook(secret).verify(body, headers) == {
        "specversion": "1.0",
        "id": "e1",
        "data": {"ü": 1},
    }


def test_the_secret_is_whsec_and_base64_of_at_least_24_bytes() -> None:
    import base64

    secret = new_signing_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24


def test_during_a_rotation_either_secret_verifies() -> None:
    old, new = new_signing_secret(), new_signing_secret()
    body = b'{"id":"e2"}'
    headers = webhook_headers("msg_x", int(time.time()), body, [new, old])
    assert headers["webhook-signature"].count("v1,") == 2
    Webhook(new).verify(body, headers)
    Webhook(old).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_signing_secret()).verify(body, headers)


def test_a_tampered_body_or_id_fails() -> None:
    secret = new_signing_secret()
    headers = webhook_headers("msg_x", int(time.time()), b'{"a":1}', [secret])
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"a":2}', headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"a":1}', {**headers, "webhook-id": "msg_y"})
