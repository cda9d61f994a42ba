"""A user's own devices and notification preferences."""

from collections.abc import Mapping
from dataclasses import dataclass

from services.notify.domain import Device, DeviceNotFound, Platform, Preferences
from services.notify.ports import UsersPort


@dataclass(frozen=True)
class Devices:
    """The devices a user registers for push."""

    users: UsersPort

    async def register(self, user_id: str, platform: Platform, token: str) -> Device:
        """Register a device for push; the same token twice is the same device.

        The limit is checked before the write, so two concurrent registrations may pass it
        by one.
        """
        (await self.users.profile(user_id)).check_new_device(token)
        return await self.users.register_device(user_id, platform, token)

    async def remove(self, user_id: str, device_id: str) -> None:
        """Stop pushing to one of the user's devices (DeviceNotFound if it is not theirs)."""
        if not await self.users.remove_device(user_id, device_id):
            raise DeviceNotFound(device_id)

    async def of(self, user_id: str) -> list[Device]:
        """The user's registered devices."""
        return (await self.users.profile(user_id)).devices


@dataclass(frozen=True)
class NotificationPreferences:
    """How a user wants to be notified."""

    users: UsersPort

    async def get(self, user_id: str) -> Preferences:
        """The user's notification preferences."""
        return (await self.users.profile(user_id)).prefs

    async def change(self, user_id: str, changes: Mapping[str, object]) -> Preferences:
        """Change some of the user's preferences; the others keep their value."""
        current = (await self.users.profile(user_id)).prefs
        return await self.users.set_preferences(user_id, current.changed(changes))
