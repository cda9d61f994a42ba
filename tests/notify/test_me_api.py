"""Devices and notification preferences, as the apps manage them."""

from services.notify.domain import MAX_DEVICES_PER_USER
from tests.notify.conftest import Notify
from tests.support import auth, unique


def me(role: str = "client") -> dict[str, str]:
    """Headers of a fresh user."""
    return auth(unique("u-"), role, unique("pr-"))


async def test_registering_a_device_answers_201_and_is_idempotent(notify: Notify) -> None:
    headers = me()
    body = {"platform": "ios", "token": unique("tok-")}

    first = await notify.http.post("/v1/me/devices", json=body, headers=headers)
    again = await notify.http.post("/v1/me/devices", json=body, headers=headers)
    listed = await notify.http.get("/v1/me/devices", headers=headers)

    assert first.status_code == 201, first.text
    assert again.status_code == 201
    assert first.json()["device_id"] == again.json()["device_id"]
    assert first.json()["platform"] == "ios"
    assert "token" not in first.json()
    assert [d["device_id"] for d in listed.json()["items"]] == [first.json()["device_id"]]
    assert listed.json()["next_cursor"] is None


async def test_removing_a_device_answers_204_then_404(notify: Notify) -> None:
    headers = me("provider")
    created = await notify.http.post(
        "/v1/me/devices", json={"platform": "web", "token": unique("tok-")}, headers=headers
    )
    device_id = created.json()["device_id"]

    removed = await notify.http.delete(f"/v1/me/devices/{device_id}", headers=headers)
    again = await notify.http.delete(f"/v1/me/devices/{device_id}", headers=headers)
    listed = await notify.http.get("/v1/me/devices", headers=headers)

    assert removed.status_code == 204
    assert again.status_code == 404
    assert listed.json()["items"] == []


async def test_another_users_device_is_not_found(notify: Notify) -> None:
    owner, other = me(), me()
    created = await notify.http.post(
        "/v1/me/devices", json={"platform": "android", "token": unique("tok-")}, headers=owner
    )

    response = await notify.http.delete(
        f"/v1/me/devices/{created.json()['device_id']}", headers=other
    )

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"
    listed = await notify.http.get("/v1/me/devices", headers=owner)
    assert len(listed.json()["items"]) == 1


async def test_a_token_registered_by_a_new_user_leaves_the_old_user(notify: Notify) -> None:
    first, second = me(), me()
    body = {"platform": "ios", "token": unique("tok-")}
    await notify.http.post("/v1/me/devices", json=body, headers=first)

    await notify.http.post("/v1/me/devices", json=body, headers=second)

    assert (await notify.http.get("/v1/me/devices", headers=first)).json()["items"] == []
    assert len((await notify.http.get("/v1/me/devices", headers=second)).json()["items"]) == 1


async def test_unknown_fields_are_rejected_with_422(notify: Notify) -> None:
    headers = me()

    device = await notify.http.post(
        "/v1/me/devices",
        json={"platform": "ios", "token": unique("tok-"), "name": "x"},
        headers=headers,
    )
    prefs = await notify.http.put(
        "/v1/me/notification-preferences", json={"push": True, "sms": True}, headers=headers
    )
    platform = await notify.http.post(
        "/v1/me/devices", json={"platform": "pager", "token": "t"}, headers=headers
    )

    assert device.status_code == prefs.status_code == platform.status_code == 422
    assert prefs.json()["code"] == "validation_failed"


async def test_preferences_default_to_push_and_email(notify: Notify) -> None:
    response = await notify.http.get("/v1/me/notification-preferences", headers=me())

    assert response.status_code == 200
    assert response.json() == {"push": True, "email": True, "email_address": None}


async def test_changing_one_preference_keeps_the_others(notify: Notify) -> None:
    headers = me("provider")
    await notify.http.put(
        "/v1/me/notification-preferences",
        json={"email": False, "email_address": "dr@example.org"},
        headers=headers,
    )

    changed = await notify.http.put(
        "/v1/me/notification-preferences", json={"push": False}, headers=headers
    )
    read = await notify.http.get("/v1/me/notification-preferences", headers=headers)

    expected = {"push": False, "email": False, "email_address": "dr@example.org"}
    assert changed.json() == read.json() == expected


async def test_devices_need_a_token(notify: Notify) -> None:
    response = await notify.http.get("/v1/me/devices")

    assert response.status_code == 401


async def test_a_device_past_the_per_user_limit_is_refused_with_409(notify: Notify) -> None:
    headers = me()
    tokens = [unique("tok-") for _ in range(MAX_DEVICES_PER_USER)]
    for token in tokens:
        created = await notify.http.post(
            "/v1/me/devices", json={"platform": "ios", "token": token}, headers=headers
        )
        assert created.status_code == 201

    refused = await notify.http.post(
        "/v1/me/devices", json={"platform": "ios", "token": unique("tok-")}, headers=headers
    )
    again = await notify.http.post(
        "/v1/me/devices", json={"platform": "ios", "token": tokens[0]}, headers=headers
    )
    listed = await notify.http.get("/v1/me/devices", headers=headers)

    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "too_many_devices"
    assert again.status_code == 201
    assert len(listed.json()["items"]) == MAX_DEVICES_PER_USER
