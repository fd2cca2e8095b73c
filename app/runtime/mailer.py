"""Outgoing email through SMTP (aiosmtplib); with no SMTP host configured, a log line instead."""

from __future__ import annotations

import logging
from email.message import EmailMessage

import aiosmtplib

from app.settings import Settings

log = logging.getLogger("producer_graph.mail")


async def send_mail(settings: Settings, to: str, subject: str, body: str) -> bool:
    """Send a plain-text email; True when handed to the SMTP server. Failures are logged, never raised."""
    if not settings.smtp_host:
        log.info("email not sent: no SMTP host configured", extra={"to": to, "subject": subject})
        return False
    message = EmailMessage()
    message["From"] = settings.smtp_sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    try:
        await aiosmtplib.send(message, hostname=settings.smtp_host, port=settings.smtp_port,
                              username=settings.smtp_user, password=settings.smtp_password,
                              start_tls=settings.smtp_starttls, timeout=30)
    except (aiosmtplib.SMTPException, OSError) as exc:
        log.warning("email not sent: SMTP failure", extra={"to": to, "subject": subject, "error": str(exc)})
        return False
    return True
