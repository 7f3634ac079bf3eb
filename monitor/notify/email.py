"""E-mail through SMTP (aiosmtplib): multipart plain text + HTML, optional STARTTLS or implicit TLS and login.

Recipients are ``[email] to``, or the rule's target (``notify = ["email:someone@example.com"]``; several
addresses separated by commas). Subject, text and HTML come from the ``<type>.txt.j2`` and ``<type>.html.j2``
templates. The Message-ID is derived from the outbox delivery id, so a message re-sent after a crash carries the
same Message-ID (mail systems that deduplicate, like Gmail, then show it once).

Failures: SMTP 5xx answers (recipient or sender refused, authentication failed, message rejected) are permanent;
4xx answers, timeouts and connection problems are transient. If the server accepts some recipients and refuses
others, the message counts as delivered and the refusals are logged.
"""

from __future__ import annotations

import logging
import re
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Any

import aiosmtplib

from monitor.config import EmailSettings
from monitor.notify.errors import PermanentDeliveryError, TransientDeliveryError
from monitor.notify.message import Message
from monitor.notify.templates import Templates

log = logging.getLogger(__name__)
_ADDRESS = re.compile(r"[^@\s<>,]+@[^@\s<>,]+")


class EmailChannel:
    """Sends each message as one e-mail to the configured recipients (or the target's)."""

    def __init__(
        self,
        templates: Templates,
        *,
        host: str,
        from_addr: str,
        to: Sequence[str],
        port: int = 25,
        starttls: bool = False,
        tls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        """``tls_context`` replaces the system's trust store (a private CA, a self-signed server)."""
        if starttls and tls:
            raise ValueError("use either starttls or tls")
        self._templates = templates
        self.host, self.port = host, port
        self.from_addr = from_addr
        self.to = list(to)
        self._smtp: dict[str, Any] = {
            "hostname": host,
            "port": port,
            "use_tls": tls,
            "start_tls": starttls,  # False, not None: aiosmtplib would upgrade on its own whenever offered
            "username": username,
            "password": password,
            "timeout": timeout,
            "tls_context": tls_context,
        }

    @classmethod
    def from_settings(cls, settings: EmailSettings, templates: Templates) -> EmailChannel:
        return cls(
            templates,
            host=settings.host,
            port=settings.port,
            from_addr=settings.from_addr,
            to=settings.to,
            starttls=settings.starttls,
            tls=settings.tls,
            username=settings.username,
            password=None if settings.password is None else settings.password.get_secret_value(),
            timeout=settings.timeout.total_seconds(),
        )

    def recipients(self, target: str | None) -> list[str]:
        """The addresses for a target ("a@x.com,b@y.com"), or the configured ones."""
        if not target:
            return self.to
        addresses = [part.strip() for part in target.split(",") if part.strip()]
        bad = [a for a in addresses if not _ADDRESS.fullmatch(parseaddr(a)[1] or "-")]
        if bad or not addresses:
            raise PermanentDeliveryError(f"email:{target}: not an e-mail address: {', '.join(bad)}", code="bad_address")
        return addresses

    def build(self, message: Message, recipients: Sequence[str], delivery_id: str | None = None) -> EmailMessage:
        """The e-mail for a message: plain text first, HTML as the preferred alternative."""
        rendered = self._templates.email(message)
        mail = EmailMessage()
        mail["Subject"] = rendered.subject
        mail["From"] = self.from_addr
        mail["To"] = ", ".join(recipients)
        mail["Date"] = formatdate(usegmt=True)
        mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation auto-replies to the monitor
        if delivery_id:
            domain = parseaddr(self.from_addr)[1].rpartition("@")[2] or "tiktok-ads-monitor"
            mail["Message-ID"] = f"<{delivery_id}@{domain}>"
            mail["X-Monitor-Delivery"] = delivery_id
        mail.set_content(rendered.text)
        mail.add_alternative(rendered.html, subtype="html")
        return mail

    async def send(self, message: Message, target: str | None = None, *, delivery_id: str | None = None) -> None:
        recipients = self.recipients(target)
        mail = self.build(message, recipients, delivery_id)
        try:
            refused, _ = await aiosmtplib.send(
                mail, sender=parseaddr(self.from_addr)[1], recipients=recipients, **self._smtp
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            detail = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
            if any(400 <= code < 500 for code in codes):
                raise TransientDeliveryError(
                    f"SMTP server deferred every recipient: {detail}", code="smtp_4xx"
                ) from None
            raise PermanentDeliveryError(
                f"SMTP server refused every recipient: {detail}", code=f"smtp_{min(codes)}"
            ) from None
        except aiosmtplib.SMTPResponseException as exc:
            text = f"SMTP server {self.host}:{self.port} answered {exc.code} {exc.message}"
            if 400 <= exc.code < 500:
                raise TransientDeliveryError(text, code=f"smtp_{exc.code}") from None
            raise PermanentDeliveryError(text, code=f"smtp_{exc.code}") from None
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPConnectError, OSError, TimeoutError) as exc:
            raise TransientDeliveryError(
                f"cannot talk to SMTP server {self.host}:{self.port}: {type(exc).__name__}: {exc}",
                code="smtp_connection",
            ) from None
        except aiosmtplib.SMTPException as exc:  # STARTTLS or AUTH configured but not offered, and the like
            raise PermanentDeliveryError(
                f"SMTP server {self.host}:{self.port}: {exc}", code="smtp_not_supported"
            ) from None
        if refused:
            log.warning("email: some recipients were refused: %s", "; ".join(f"{a}: {r}" for a, r in refused.items()))
