"""A user's devices and preferences (the Devices and NotificationPreferences use cases)."""

import pytest

from services.notify.domain import MAX_DEVICES_PER_USER, DeviceNotFound, Preferences, TooManyDevices
from services.notify.handlers.me import Devices, NotificationPreferences
from tests.unit.notify.fakes import FakeUsers


async def test_the_same_token_registered_twice_is_the_same_device() -> None:
    devices = Devices(FakeUsers())

    first = await devices.register("u-1", "ios", "tok-1")
    again = await devices.register("u-1", "ios", "tok-1")

    assert first == again
    assert await devices.of("u-1") == [first]


async def test_a_device_past_the_limit_is_refused_but_a_known_one_is_not() -> None:
    users = FakeUsers()
    for i in range(MAX_DEVICES_PER_USER):
        users.add_device("u-1", f"tok-{i}")
    devices = Devices(users)

    with pytest.raises(TooManyDevices):
        await devices.register("u-1", "web", "tok-new")
    await devices.register("u-1", "ios", "tok-0")

    assert len(await devices.of("u-1")) == MAX_DEVICES_PER_USER


async def test_another_users_device_cannot_be_removed() -> None:
    users = FakeUsers()
    theirs = users.add_device("u-2", "tok-2")
    devices = Devices(users)

    with pytest.raises(DeviceNotFound):
        await devices.remove("u-1", theirs.device_id)
    assert await devices.of("u-2") == [theirs]


async def test_a_removed_device_is_gone() -> None:
    users = FakeUsers()
    mine = users.add_device("u-1", "tok-1")
    devices = Devices(users)

    await devices.remove("u-1", mine.device_id)

    assert await devices.of("u-1") == []


async def test_preferences_default_to_on_and_change_only_what_is_given() -> None:
    preferences = NotificationPreferences(FakeUsers())

    assert await preferences.get("u-1") == Preferences(push=True, email=True)
    await preferences.change("u-1", {"email_address": "own@x.org"})
    changed = await preferences.change("u-1", {"push": False})

    assert changed == Preferences(push=False, email=True, email_address="own@x.org")
    assert await preferences.get("u-1") == changed
