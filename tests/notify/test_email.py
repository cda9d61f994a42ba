"""Email: generic text only; direct messages only if still unread after the delay."""

import time

from services.notify.domain import EMAIL_SUBJECT
from tests.notify.conftest import Notify, settled
from tests.notify.factories import (
    announcement,
    client_record,
    message_sent,
    publish,
    state_changed,
)
from tests.support import auth, eventually, unique

SENTINEL = "SENTINELPHI"


async def client_with_email(notify: Notify, practice_id: str) -> tuple[str, str]:
    """A client the practice system published with an email address (names hold a sentinel)."""
    client_id, address = unique("c-"), f"{unique('client-')}@example.org"
    record = client_record(practice_id, client_id, address)
    await publish(record.model_copy(update={"last_name": unique(SENTINEL)}))

    async def known() -> bool:
        return await notify.stores.clients.email_of(practice_id, client_id) == address

    await eventually(known)
    return client_id, address


def assert_generic(notify: Notify, address: str) -> None:
    """The email says there is a message and where to sign in, nothing else."""
    (message,) = notify.smtp.to(address)
    assert message["Subject"] == EMAIL_SUBJECT
    text = message.get_payload(decode=True).decode()
    assert text.startswith("You have a new secure message. Sign in to read it: https://")
    assert all(SENTINEL not in raw.decode(errors="replace") for raw in notify.smtp.raw())


async def test_unread_direct_message_is_emailed_after_the_delay(notify: Notify) -> None:
    practice = unique("pr-")
    client, address = await client_with_email(notify, practice)
    message = message_sent(client, practice_id=practice)

    started = time.monotonic()
    await publish(message)
    await eventually(lambda: _mail(notify, address), timeout=20)
    waited = time.monotonic() - started

    print(f"\n[notify] unread direct message emailed after {waited:.2f}s (delay 1s)")
    assert waited >= 1.0
    assert_generic(notify, address)
    record = await eventually(lambda: settled(notify, message.message_id, client, "email"))
    assert record.status == "sent"


async def test_direct_message_read_before_the_delay_is_not_emailed(notify: Notify) -> None:
    practice = unique("pr-")
    client, address = await client_with_email(notify, practice)
    message = message_sent(client, practice_id=practice, seq=4)

    await publish(message)
    await publish(state_changed(message, read_seq=4))
    record = await eventually(
        lambda: settled(notify, message.message_id, client, "email"), timeout=20
    )

    assert (record.status, record.reason) == ("skipped", "read")
    assert notify.smtp.to(address) == []


async def test_announcement_email_goes_out_at_once(notify: Notify) -> None:
    practice = unique("pr-")
    client, address = await client_with_email(notify, practice)

    started = time.monotonic()
    await publish(announcement([client], practice_id=practice))
    await eventually(lambda: _mail(notify, address), timeout=20)

    print(f"\n[notify] announcement email received after {time.monotonic() - started:.2f}s")
    assert_generic(notify, address)


async def test_provider_is_emailed_at_the_address_they_set(notify: Notify) -> None:
    practice, provider = unique("pr-"), unique("p-")
    address = f"{unique('dr-')}@example.org"
    response = await notify.http.put(
        "/v1/me/notification-preferences",
        json={"email_address": address},
        headers=auth(provider, "provider", practice),
    )
    assert response.status_code == 200
    message = message_sent(provider, recipient_role="provider", practice_id=practice)

    await publish(message)
    await eventually(lambda: _mail(notify, address), timeout=20)

    assert_generic(notify, address)


async def test_client_who_opted_out_of_email_gets_none(notify: Notify) -> None:
    practice = unique("pr-")
    client, address = await client_with_email(notify, practice)
    await notify.http.put(
        "/v1/me/notification-preferences",
        json={"email": False},
        headers=auth(client, "client", practice),
    )
    event = announcement([client], practice_id=practice)

    await publish(event)
    record = await eventually(lambda: settled(notify, event.announcement_id, client, "email"))

    assert (record.status, record.reason) == ("skipped", "opted_out")
    assert notify.smtp.to(address) == []


async def _mail(notify: Notify, address: str) -> bool:
    return bool(notify.smtp.to(address))
