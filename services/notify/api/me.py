"""Devices and notification preferences of the caller."""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from services.notify.deps import DepsDep
from services.notify.domain import Device, Preferences
from shared.auth import CurrentCaller

router = APIRouter(prefix="/v1/me")

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class DeviceIn(BaseModel):
    """A device to push to."""

    model_config = ConfigDict(extra="forbid")

    platform: Literal["ios", "android", "web"]
    token: Annotated[str, Field(min_length=1, max_length=4096)]


class DeviceOut(BaseModel):
    """A registered device (its token is never echoed)."""

    device_id: str
    platform: str
    registered_at: datetime


class DevicePage(BaseModel):
    """The caller's devices."""

    items: list[DeviceOut]
    next_cursor: str | None = None


class PreferencesIn(BaseModel):
    """New preferences; omitted fields keep their current value."""

    model_config = ConfigDict(extra="forbid")

    push: bool | None = None
    email: bool | None = None
    email_address: Annotated[str | None, Field(max_length=320, pattern=EMAIL_PATTERN)] = None


class PreferencesOut(BaseModel):
    """How the caller is notified."""

    push: bool
    email: bool
    email_address: str | None


def _device_out(device: Device) -> DeviceOut:
    return DeviceOut(
        device_id=device.device_id, platform=device.platform, registered_at=device.registered_at
    )


def _prefs_out(prefs: Preferences) -> PreferencesOut:
    return PreferencesOut(push=prefs.push, email=prefs.email, email_address=prefs.email_address)


@router.post("/devices", status_code=201)
async def register_device(body: DeviceIn, caller: CurrentCaller, deps: DepsDep) -> DeviceOut:
    """Register a device for push (the same token again is the same device)."""
    return _device_out(await deps.devices.register(caller.id, body.platform, body.token))


@router.get("/devices")
async def list_devices(caller: CurrentCaller, deps: DepsDep) -> DevicePage:
    """The caller's devices."""
    devices = await deps.devices.of(caller.id)
    return DevicePage(items=[_device_out(d) for d in devices])


@router.delete("/devices/{device_id}", status_code=204)
async def remove_device(device_id: str, caller: CurrentCaller, deps: DepsDep) -> Response:
    """Stop pushing to a device; another user's device does not exist for the caller."""
    await deps.devices.remove(caller.id, device_id)
    return Response(status_code=204)


@router.get("/notification-preferences")
async def get_preferences(caller: CurrentCaller, deps: DepsDep) -> PreferencesOut:
    """How the caller is notified (push and email are on by default)."""
    return _prefs_out(await deps.preferences.get(caller.id))


@router.put("/notification-preferences")
async def put_preferences(
    body: PreferencesIn, caller: CurrentCaller, deps: DepsDep
) -> PreferencesOut:
    """Change how the caller is notified; omitted fields keep their value."""
    changes = body.model_dump(include=body.model_fields_set)
    changes = {k: v for k, v in changes.items() if v is not None or k == "email_address"}
    return _prefs_out(await deps.preferences.change(caller.id, changes))
