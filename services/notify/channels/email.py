"""Email through SMTP (aiosmtplib): STARTTLS unless disabled, generic text only."""

from email.message import EmailMessage

import aiosmtplib

from services.notify.domain import EMAIL_SUBJECT, Outcome, Permanent, Sent, Transient, email_body
from shared.settings import SmtpSettings


class Mailer:
    """Sends the one notification email the product has."""

    def __init__(self, settings: SmtpSettings, *, timeout: float) -> None:
        self._settings = settings
        self._timeout = timeout

    def _message(self, to: str, link: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self._settings.smtp_from
        message["To"] = to
        message["Subject"] = EMAIL_SUBJECT
        message.set_content(email_body(link))
        return message

    async def send(self, to: str, link: str) -> Outcome:
        """Send; server-side refusals (5xx) are permanent, everything else is retried."""
        s = self._settings
        try:
            await aiosmtplib.send(
                self._message(to, link),
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username,
                password=s.smtp_password.get_secret_value() if s.smtp_password else None,
                start_tls=s.smtp_tls,
                timeout=self._timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = [r.code for r in error.recipients]
            if all(code >= 500 for code in codes):
                return Permanent("recipient refused")
            return Transient("recipient deferred")
        except aiosmtplib.SMTPResponseException as error:
            if error.code >= 500:
                return Permanent(f"smtp answered {error.code}")
            return Transient(f"smtp answered {error.code}")
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            return Transient(f"smtp unavailable: {type(error).__name__}")
        return Sent()
