"""Failures: a down gateway is retried with backoff, never blocks others, and ends in the DLQ."""

from typing import Any

import pytest

from services.notify.domain import delivery_id
from shared import topics
from shared.ids import stable_uuid
from tests.notify.conftest import Notify, settled
from tests.notify.factories import add_devices, announcement, message_sent, publish
from tests.support import TopicTail, auth, body, eventually, header, unique


@pytest.fixture(scope="module")
def notify_overrides() -> dict[str, Any]:
    """A retry window a busy machine cannot spend on three quick retries."""
    return {"notify_retry_max_seconds": 6.0}


async def client_with_device(notify: Notify) -> tuple[str, str]:
    """A client with one registered phone."""
    client, token = unique("c-"), unique("tok-")
    await add_devices(notify.stores.users, {client: token})
    return client, token


async def test_gateway_down_for_a_while_is_retried_and_pushes_exactly_once(
    notify: Notify,
) -> None:
    client, token = await client_with_device(notify)
    notify.gateway.fail(token, times=3)
    message = message_sent(client)

    await publish(message)
    record = await eventually(lambda: settled(notify, message.message_id, client, "push"))

    assert record.status == "sent"
    assert record.attempts == 3
    assert len(notify.gateway.pushes_to(token)) == 1


async def test_gateway_down_for_good_fails_after_the_retry_window(notify: Notify) -> None:
    client, token = await client_with_device(notify)
    notify.gateway.fail(token)
    message = message_sent(client)

    async with (
        TopicTail(topics.MESSAGING_DELIVERIES) as deliveries,
        TopicTail(topics.dlq(topics.MESSAGING_NOTIFICATIONS)) as dlq,
    ):
        await publish(message)
        record = await eventually(
            lambda: settled(notify, message.message_id, client, "push"), timeout=20
        )
        # Other notify processes on the shared broker may record their own outcomes of
        # this message; this one's is known by its stable event id.
        failed_id = str(
            stable_uuid(delivery_id(message.message_id, client, "push"), "failed", "recorded")
        )
        (outcome,) = await deliveries.wait_for(lambda r: header(r, "ce_id") == failed_id)
        (parked,) = await dlq.wait_for(lambda r: body(r)["source_id"] == message.message_id)

    assert record.status == "failed"
    assert body(outcome)["status"] == "failed"
    assert body(parked)["recipient_id"] == client
    assert header(parked, "dlq_error") == "gateway answered 503"
    assert header(parked, "dlq_channel") == "push"
    assert notify.gateway.pushes_to(token) == []


async def test_one_recipients_failing_gateway_does_not_hold_up_others(notify: Notify) -> None:
    down, down_token = await client_with_device(notify)
    fine, fine_token = await client_with_device(notify)
    notify.gateway.fail(down_token)
    event = announcement([down, fine])

    await publish(event)
    record = await eventually(lambda: settled(notify, event.announcement_id, fine, "push"))

    assert record.status == "sent"
    assert len(notify.gateway.pushes_to(fine_token)) == 1
    assert await settled(notify, event.announcement_id, down, "push") is None  # still retrying


async def test_rejected_pushkey_removes_the_device(notify: Notify) -> None:
    client, practice = unique("c-"), unique("pr-")
    headers = auth(client, "client", practice)
    stale, current = unique("tok-"), unique("tok-")
    for token in (stale, current):
        response = await notify.http.post(
            "/v1/me/devices", json={"platform": "android", "token": token}, headers=headers
        )
        assert response.status_code == 201
    notify.gateway.reject(stale)
    message = message_sent(client, practice_id=practice)

    await publish(message)
    record = await eventually(lambda: settled(notify, message.message_id, client, "push"))
    devices = (await notify.http.get("/v1/me/devices", headers=headers)).json()["items"]

    assert record.status == "sent"
    assert len(devices) == 1
    (push,) = notify.gateway.pushes_to(current)
    assert push["notification"]["devices"][0]["app_id"] == "com.practice.portal.android"
