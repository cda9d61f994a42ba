"""Push through a Matrix Push Gateway (e.g. Sygnal): counts and pushkeys, never content."""

import logging
from typing import Any

import httpx

from services.notify.domain import Device, Permanent, PushResult, Sent, Transient
from shared.settings import PushSettings


def notification(
    notification_id: str, unread: int, devices: list[Device], app_ids: dict[str, str]
) -> dict[str, Any]:
    """The Push Gateway API body: an opaque id, a badge count and the devices, nothing more."""
    return {
        "notification": {
            "event_id": notification_id,
            "counts": {"unread": unread},
            "prio": "high",
            "devices": [
                {
                    "app_id": app_ids[d.platform],
                    "pushkey": d.token,
                    "pushkey_ts": int(d.registered_at.timestamp()),
                    "data": {},
                }
                for d in devices
            ],
        }
    }


class PushGateway:
    """One pooled keep-alive HTTP client per process to the configured gateway."""

    def __init__(self, settings: PushSettings, *, timeout: float, concurrency: int) -> None:
        self._url = settings.push_gateway_url
        self._app_ids = {
            "ios": settings.push_app_id_ios,
            "android": settings.push_app_id_android,
            "web": settings.push_app_id_web,
        }
        # As many connections as pushes in flight, all kept alive between pushes.
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self._http = httpx.AsyncClient(timeout=timeout, limits=limits)
        # httpx logs every request at INFO; gateway URLs may carry credentials.
        logging.getLogger("httpx").setLevel(logging.WARNING)

    async def close(self) -> None:
        """Release the connection pool."""
        await self._http.aclose()

    async def send(self, notification_id: str, unread: int, devices: list[Device]) -> PushResult:
        """Notify a user's devices; 5xx, 429 and network errors are transient."""
        body = notification(notification_id, unread, devices, self._app_ids)
        try:
            response = await self._http.post(self._url, json=body)
        except httpx.HTTPError as error:
            return PushResult(Transient(f"gateway unreachable: {type(error).__name__}"), [])
        if response.status_code >= 500 or response.status_code == 429:
            return PushResult(Transient(f"gateway answered {response.status_code}"), [])
        if response.status_code >= 400:
            return PushResult(Permanent(f"gateway answered {response.status_code}"), [])
        try:
            rejected = [str(k) for k in response.json().get("rejected", [])]
        except (ValueError, AttributeError):
            rejected = []
        return PushResult(Sent(), rejected)
