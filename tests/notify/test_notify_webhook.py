"""The generic webhook: the documented JSON body, the HMAC signature, error classification."""

from __future__ import annotations

import time

import pytest
from notify_factories import ACME, HOSTILE, NOW, alert, entity
from notify_fakes import WebhookReceiver, free_port

from monitor.domain import OpsKind
from monitor.notify import (
    OperationalMessage,
    PermanentDeliveryError,
    Templates,
    TransientDeliveryError,
    WebhookChannel,
    from_json,
)
from monitor.notify.webhook import sign, verify

SECRET = "webhook-shared-secret"


async def test_the_body_is_the_message_json_plus_delivery_id_summary_and_severity(
    hook: WebhookReceiver, templates: Templates
) -> None:
    message = alert(entity("1", HOSTILE, 812.5))
    channel = WebhookChannel(hook.url, templates, secret=SECRET)
    try:
        await channel.send(message, None, delivery_id="tam-3-abc")
    finally:
        await channel.aclose()
    (got,) = hook.received
    body = got.json
    assert body["delivery_id"] == "tam-3-abc" and body["severity"] == "critical"
    assert body["summary"] == "[CRITICAL] Firing: overspend-no-conversions · Acme Outdoor US · 1 campaign"
    assert body["type"] == "alert" and body["advertiser"]["id"] == ACME.id
    assert body["entities"][0]["name"] == HOSTILE  # JSON carries data, not markup
    assert from_json(body) == message  # the extra fields do not disturb the schema
    assert got.headers["Content-Type"] == "application/json" and got.headers["X-Monitor-Delivery"] == "tam-3-abc"
    timestamp, signature = got.headers["X-Monitor-Timestamp"], got.headers["X-Monitor-Signature"]
    assert signature.startswith("sha256=") and verify(SECRET, timestamp, got.body, signature)
    assert not verify(SECRET, timestamp, got.body.replace(b"812.5", b"1.0"), signature)
    assert not verify("other-secret", timestamp, got.body, signature)


async def test_without_a_secret_nothing_is_signed(hook: WebhookReceiver, templates: Templates) -> None:
    channel = WebhookChannel(hook.url, templates)
    try:
        await channel.send(OperationalMessage(OpsKind.TOKEN_REVOKED, ACME.id, "40105", NOW, NOW, advertiser=ACME), None)
    finally:
        await channel.aclose()
    (got,) = hook.received
    assert "X-Monitor-Signature" not in got.headers
    assert got.json["type"] == "ops" and got.json["severity"] == "critical" and got.json["delivery_id"] is None


def test_verify_refuses_stale_or_malformed_timestamps() -> None:
    now = time.time()
    stamp = str(int(now) - 1000)
    assert verify(SECRET, stamp, b"{}", sign(SECRET, stamp, b"{}"), now=now, tolerance=1200)
    assert not verify(SECRET, stamp, b"{}", sign(SECRET, stamp, b"{}"), now=now)
    assert not verify(SECRET, "soon", b"{}", sign(SECRET, "soon", b"{}"))


@pytest.mark.parametrize(
    "answer, error, code, retry_after",
    [
        (500, TransientDeliveryError, "http_500", None),
        (503, TransientDeliveryError, "http_503", None),
        (("429", 30), TransientDeliveryError, "http_429", 30.0),
        (408, TransientDeliveryError, "http_408", None),
        (404, PermanentDeliveryError, "http_404", None),
        (401, PermanentDeliveryError, "http_401", None),
        (302, PermanentDeliveryError, "http_302", None),
    ],
)
async def test_answers_are_classified(
    hook: WebhookReceiver, templates: Templates, answer: object, error: type, code: str, retry_after: float | None
) -> None:
    hook.answer(answer)
    channel = WebhookChannel(hook.url, templates)
    try:
        with pytest.raises(error) as caught:
            await channel.send(alert(), None)
    finally:
        await channel.aclose()
    assert caught.value.code == code
    assert getattr(caught.value, "retry_after", None) == retry_after
    assert len(hook.received) == 1  # redirects are not followed


async def test_an_unreachable_receiver_is_transient_and_a_target_is_refused(templates: Templates) -> None:
    channel = WebhookChannel(f"http://127.0.0.1:{free_port()}/hook?token=secret-in-url", templates)
    try:
        with pytest.raises(TransientDeliveryError) as caught:
            await channel.send(alert(), None)
        assert caught.value.code == "network" and "secret-in-url" not in str(caught.value)
        with pytest.raises(PermanentDeliveryError):
            await channel.send(alert(), "elsewhere")
    finally:
        await channel.aclose()
