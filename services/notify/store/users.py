"""Users' push devices and preferences: one document per user, read by `_id` on every delivery.

A device's id is derived from (user, token), so registering a token twice is the same
device by construction (the `_id` index is the unique index). `device_tokens` maps each
token to its one owner, so a phone that changes hands stops getting the old user's pushes.
"""

import hashlib
from datetime import datetime
from typing import Any

from services.notify.domain import Device, Platform, Preferences, Profile
from shared.batching import FindBatcher
from shared.clock import utcnow
from shared.ids import stable_uuid
from shared.mongo import find_by_id, find_each, upsert


def device_id_for(user_id: str, token: str) -> str:
    """The stable id of a user's device."""
    return str(stable_uuid(user_id, token, "device"))


def _token_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _devices(user_id: str, doc: dict[str, Any]) -> list[Device]:
    found = [
        Device(
            device_id=device_id,
            user_id=user_id,
            platform=d["platform"],
            token=d["token"],
            registered_at=d["registered_at"],
        )
        for device_id, d in (doc.get("devices") or {}).items()
    ]
    return sorted(found, key=lambda d: (d.registered_at, d.device_id))


def _profile(user_id: str, doc: dict[str, Any] | None) -> Profile:
    if doc is None:
        return Profile(Preferences(), [])
    prefs = Preferences(
        push=doc.get("push", True),
        email=doc.get("email", True),
        email_address=doc.get("email_address"),
    )
    return Profile(prefs, _devices(user_id, doc))


class Users:
    """The `users` and `device_tokens` collections."""

    def __init__(self, db: Any) -> None:
        self._users = db["users"]
        self._reads = FindBatcher(self._users)  # every delivery reads its recipient's
        self._tokens = db["device_tokens"]

    async def profile(self, user_id: str) -> Profile:
        """A user's preferences (defaults: push and email on) and devices."""
        return _profile(user_id, await self._reads.get(user_id))

    async def profiles(self, user_ids: list[str]) -> dict[str, Profile]:
        """Many users' profiles, read together (a fan-out's part)."""
        docs = await find_each(self._users, user_ids)
        return {u: _profile(u, doc) for u, doc in zip(user_ids, docs, strict=True)}

    async def register_device(self, user_id: str, platform: Platform, token: str) -> Device:
        """The user's device for this token, created if new (idempotent)."""
        device_id = device_id_for(user_id, token)
        key = _token_key(token)
        owner = await self._tokens.find_one({"_id": key})
        if owner is not None and owner["user_id"] != user_id:
            await self._users.update_one(
                {"_id": owner["user_id"]}, {"$unset": {f"devices.{owner['device_id']}": ""}}
            )
        existing = await self.profile(user_id)
        for device in existing.devices:
            if device.device_id == device_id and device.platform == platform:
                await self._own(key, user_id, device_id)
                return device
        registered_at = utcnow()
        await self._set_device(user_id, device_id, platform, token, registered_at)
        await self._own(key, user_id, device_id)
        return Device(device_id, user_id, platform, token, registered_at)

    async def _set_device(
        self, user_id: str, device_id: str, platform: str, token: str, at: datetime
    ) -> None:
        entry = {"platform": platform, "token": token, "registered_at": at}
        await upsert(self._users, {"_id": user_id}, {"$set": {f"devices.{device_id}": entry}})

    async def _own(self, key: str, user_id: str, device_id: str) -> None:
        await upsert(
            self._tokens, {"_id": key}, {"$set": {"user_id": user_id, "device_id": device_id}}
        )

    async def add_devices(self, devices: list[Device]) -> None:
        """Bulk registration of new users' devices (imports and tests)."""
        by_user: dict[str, dict[str, Any]] = {}
        for d in devices:
            by_user.setdefault(d.user_id, {})[d.device_id] = {
                "platform": d.platform,
                "token": d.token,
                "registered_at": d.registered_at,
            }
        await self._users.insert_many([{"_id": u, "devices": ds} for u, ds in by_user.items()])
        await self._tokens.insert_many(
            [
                {"_id": _token_key(d.token), "user_id": d.user_id, "device_id": d.device_id}
                for d in devices
            ]
        )

    async def remove_device(self, user_id: str, device_id: str) -> bool:
        """Forget one of the user's devices; False if the user has no such device."""
        device = (await self.profile(user_id)).device(device_id)
        if device is None:
            return False
        await self._users.update_one({"_id": user_id}, {"$unset": {f"devices.{device_id}": ""}})
        key = _token_key(device.token)
        # The token may have moved to another user since: only its owner's mapping goes.
        if await find_by_id(self._tokens, key, user_id=user_id) is not None:
            await self._tokens.delete_one({"_id": key})
        return True

    async def remove_tokens(self, user_id: str, tokens: list[str]) -> int:
        """Forget tokens the push gateway rejected."""
        removed = 0
        for token in tokens:
            removed += await self.remove_device(user_id, device_id_for(user_id, token))
        return removed

    async def set_preferences(self, user_id: str, prefs: Preferences) -> Preferences:
        """Replace a user's preferences."""
        chosen = {"push": prefs.push, "email": prefs.email, "email_address": prefs.email_address}
        await upsert(self._users, {"_id": user_id}, {"$set": chosen})
        return prefs
