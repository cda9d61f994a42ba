"""A user's own devices and notification preferences."""

from services.notify.domain import Device, DeviceNotFound, Preferences, check_device_limit
from services.notify.store.users import Users


async def register_device(user_id: str, platform: str, token: str, *, users: Users) -> Device:
    """Register a device for push; the same token twice is the same device.

    The limit is checked before the write, so two concurrent registrations may pass it by one.
    """
    check_device_limit((await users.profile(user_id)).devices, token)
    return await users.register_device(user_id, platform, token)


async def remove_device(user_id: str, device_id: str, *, users: Users) -> None:
    """Stop pushing to one of the user's devices."""
    if not await users.remove_device(user_id, device_id):
        raise DeviceNotFound(device_id)


async def list_devices(user_id: str, *, users: Users) -> list[Device]:
    """The user's registered devices."""
    return (await users.profile(user_id)).devices


async def get_preferences(user_id: str, *, users: Users) -> Preferences:
    """The user's notification preferences."""
    return (await users.profile(user_id)).prefs


async def change_preferences(
    user_id: str, changes: dict[str, object], *, users: Users
) -> Preferences:
    """Change some of the user's preferences; the others keep their value."""
    current = (await users.profile(user_id)).prefs
    prefs = Preferences(
        push=bool(changes.get("push", current.push)),
        email=bool(changes.get("email", current.email)),
        email_address=(str(changes["email_address"]) if changes.get("email_address") else None)
        if "email_address" in changes
        else current.email_address,
    )
    return await users.set_preferences(user_id, prefs)
