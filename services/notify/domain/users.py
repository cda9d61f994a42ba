"""Users as notify knows them: notification preferences and push devices."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from services.notify.domain.errors import TooManyDevices
from services.notify.domain.outcomes import Outcome, Sent, Skipped

Platform = Literal["ios", "android", "web"]

# Push devices one user may register (phones, tablets, browsers); bounds each fan-out.
MAX_DEVICES_PER_USER = 20


@dataclass(frozen=True)
class Preferences:
    """How a user wants to be notified; providers may give an address (they have no directory)."""

    push: bool = True
    email: bool = True
    email_address: str | None = None

    def changed(self, changes: Mapping[str, object]) -> "Preferences":
        """These preferences with some changed; the others keep their value.

        An `email_address` given as empty or null clears the user's own address.
        """
        address = self.email_address
        if "email_address" in changes:
            given = changes["email_address"]
            address = str(given) if given else None
        return Preferences(
            push=bool(changes.get("push", self.push)),
            email=bool(changes.get("email", self.email)),
            email_address=address,
        )


@dataclass(frozen=True)
class Device:
    """A phone or browser registered for push."""

    device_id: str
    user_id: str
    platform: Platform
    token: str
    registered_at: datetime


@dataclass(frozen=True)
class Profile:
    """What notify knows of a user: preferences and push devices (one document per user)."""

    prefs: Preferences
    devices: list[Device]

    def push_skip(self) -> Skipped | None:
        """Why a push has nothing to send, if it has not."""
        if not self.prefs.push:
            return Skipped("opted_out")
        if not self.devices:
            return Skipped("no_device")
        return None

    def device(self, device_id: str) -> Device | None:
        """One of the user's devices, by id."""
        return next((d for d in self.devices if d.device_id == device_id), None)

    def check_new_device(self, token: str) -> None:
        """Refuse a new device past the per-user limit (TooManyDevices); a known token is fine."""
        known = any(d.token == token for d in self.devices)
        if len(self.devices) >= MAX_DEVICES_PER_USER and not known:
            raise TooManyDevices()

    def after_push(self, outcome: Outcome, rejected: list[str]) -> tuple[Outcome, list[str]]:
        """A push's outcome for this user, and which of their tokens the gateway rejected.

        The rejected tokens are to be forgotten; a push that reached only rejected devices
        reached nobody, so it counts as skipped.
        """
        mine = sorted({d.token for d in self.devices} & set(rejected))
        if mine and isinstance(outcome, Sent) and len(mine) >= len(self.devices):
            return Skipped("rejected"), mine
        return outcome, mine
