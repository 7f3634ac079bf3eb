"""E-mail against a real SMTP server (aiosmtpd on loopback): content, recipients, error classification."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from notify_factories import HOSTILE, alert, entity
from notify_fakes import Mailbox, free_port

from monitor.config import EmailSettings
from monitor.notify import EmailChannel, PermanentDeliveryError, Templates, TransientDeliveryError


def make_email(templates: Templates, port: int, **overrides: Any) -> EmailChannel:
    options: dict[str, Any] = {"host": "127.0.0.1", "port": port, "from_addr": "Monitor <monitor@example.com>"}
    options.update(to=["ops@example.com", "oncall@example.com"], timeout=5.0)
    options.update(overrides)
    return EmailChannel(templates, **options)


async def test_a_multipart_mail_with_text_and_escaped_html(smtp: tuple[Mailbox, int], templates: Templates) -> None:
    mailbox, port = smtp
    message = alert(entity("1800000000000000011", HOSTILE, 812.5), entity("2", "Summer Sale", 640.0))
    await make_email(templates, port).send(message, None, delivery_id="tam-5-abc")
    (mail,) = mailbox.messages
    assert mailbox.envelopes == [("monitor@example.com", ["ops@example.com", "oncall@example.com"])]
    assert mail["Subject"] == "[CRITICAL] Firing: overspend-no-conversions · Acme Outdoor US · 2 campaigns"
    assert mail["From"] == "Monitor <monitor@example.com>" and mail["To"] == "ops@example.com, oncall@example.com"
    assert mail["Message-ID"] == "<tam-5-abc@example.com>" and mail["Auto-Submitted"] == "auto-generated"
    assert mail.get_content_type() == "multipart/alternative"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert f'Campaign "{HOSTILE}" (1800000000000000011)' in text and "spend: 812.50 USD" in text
    assert "&lt;b&gt;VIP&lt;/b&gt;" in html and "<b>VIP</b>" not in html and "<!channel>" not in html
    assert '<a href="https://ads.tiktok.com/i18n/perf/campaign?aadvid=7000000000000000001&amp;keyword=2">' in html


async def test_the_rule_can_name_the_recipients(smtp: tuple[Mailbox, int], templates: Templates) -> None:
    mailbox, port = smtp
    await make_email(templates, port).send(alert(), "someone@example.com, boss@example.com")
    assert mailbox.envelopes[0][1] == ["someone@example.com", "boss@example.com"]
    with pytest.raises(PermanentDeliveryError, match="not an e-mail address") as caught:
        await make_email(templates, port).send(alert(), "not-an-address")
    assert caught.value.code == "bad_address"


@pytest.mark.parametrize(
    "answer, error, code",
    [
        ("550 5.1.1 No such user", PermanentDeliveryError, "smtp_550"),
        ("450 4.2.1 Mailbox busy", TransientDeliveryError, "smtp_4xx"),
    ],
)
async def test_refused_recipients(
    smtp: tuple[Mailbox, int], templates: Templates, answer: str, error: type, code: str
) -> None:
    mailbox, port = smtp
    mailbox.refuse["gone@example.com"] = answer
    with pytest.raises(error) as caught:
        await make_email(templates, port, to=["gone@example.com"]).send(alert(), None)
    assert caught.value.code == code and "gone@example.com" in str(caught.value)
    assert mailbox.messages == []


async def test_a_partly_refused_mail_is_delivered_to_the_rest(
    smtp: tuple[Mailbox, int], templates: Templates, caplog: pytest.LogCaptureFixture
) -> None:
    mailbox, port = smtp
    mailbox.refuse["gone@example.com"] = "550 5.1.1 No such user"
    await make_email(templates, port, to=["gone@example.com", "ops@example.com"]).send(alert(), None)
    assert mailbox.envelopes[0][1] == ["ops@example.com"]
    assert "gone@example.com" in caplog.text


async def test_an_unreachable_server_is_transient(templates: Templates) -> None:
    with pytest.raises(TransientDeliveryError) as caught:
        await make_email(templates, free_port()).send(alert(), None)
    assert caught.value.code == "smtp_connection"


async def test_starttls_that_the_server_does_not_offer_is_permanent(
    smtp: tuple[Mailbox, int], templates: Templates
) -> None:
    _, port = smtp
    with pytest.raises(PermanentDeliveryError) as caught:
        await make_email(templates, port, starttls=True).send(alert(), None)
    assert caught.value.code == "smtp_not_supported"


async def test_login_and_a_wrong_password(templates: Templates) -> None:
    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"monitor", b"s3cret")
        return AuthResult(success=ok, handled=False)

    mailbox, port = Mailbox(), free_port()
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=port, authenticator=authenticate, auth_require_tls=False
    )
    controller.start()
    try:
        await make_email(templates, port, username="monitor", password="s3cret").send(alert(), None)
        assert len(mailbox.messages) == 1
        with pytest.raises(PermanentDeliveryError) as caught:
            await make_email(templates, port, username="monitor", password="wrong").send(alert(), None)
        assert caught.value.code == "smtp_535" and "wrong" not in str(caught.value)
    finally:
        controller.stop()


def test_from_settings(templates: Templates) -> None:
    settings = EmailSettings.model_validate(
        {"host": "smtp.example.com", "port": 587, "from": "m@example.com", "to": ["a@example.com"], "starttls": True}
    )
    channel = EmailChannel.from_settings(settings, templates)
    assert (channel.host, channel.port, channel.to, channel.from_addr) == (
        "smtp.example.com",
        587,
        ["a@example.com"],
        "m@example.com",
    )


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A self-signed certificate for 127.0.0.1: (server context, client context trusting it)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    request = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1"]
    subject = ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run([openssl, *request, *subject], check=True, capture_output=True)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    return server, ssl.create_default_context(cafile=str(cert))


@pytest.mark.parametrize("mode", ["starttls", "tls"])
async def test_starttls_and_implicit_tls(
    certificate: tuple[ssl.SSLContext, ssl.SSLContext], templates: Templates, mode: str
) -> None:
    server_context, client_context = certificate
    mailbox, port = Mailbox(), free_port()
    if mode == "starttls":
        controller = Controller(
            mailbox, hostname="127.0.0.1", port=port, tls_context=server_context, require_starttls=True
        )
    else:
        controller = Controller(mailbox, hostname="127.0.0.1", port=port, ssl_context=server_context)
    controller.start()
    try:
        await make_email(templates, port, tls_context=client_context, **{mode: True}).send(alert(), None)
        assert len(mailbox.messages) == 1
        if mode == "starttls":  # a server that requires STARTTLS refuses a plain session
            with pytest.raises(PermanentDeliveryError):
                await make_email(templates, port).send(alert(), None)
    finally:
        controller.stop()


async def test_names_in_mail_are_one_line_without_bidi_controls(
    smtp: tuple[Mailbox, int], templates: Templates
) -> None:
    mailbox, port = smtp
    message = alert(entity("21", "Zx10\r\nBcc: victim@example.com"), entity("22", "Sale \u202eelas"))
    await make_email(templates, port).send(message, None)
    (mail,) = mailbox.messages
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "Zx10 Bcc: victim@example.com" in text  # kept, on the name's own line
    assert not [line for line in text.splitlines() if line.startswith("Bcc:")]
    assert "\u202e" not in text and "\u202e" not in html
