"""Announcement fan-out: one announcement to N recipients until every device got its push."""

import asyncio
import time

from services.notify.app import create_app
from services.notify.settings import NotifySettings
from shared.events.announcements import AnnouncementPublished
from tests.receivers import push_gateway
from tests.support import auth, base_settings, eventually, publish_json, running, unique

RECIPIENTS = 1000


async def main() -> None:
    """Print the time from publishing the announcement to the last push and the throughput."""
    practice = unique("pr-")
    async with push_gateway() as gateway:
        settings = NotifySettings(
            **base_settings(
                notify_database=unique("bench_notify_"),
                push_gateway_url=gateway.url,
                smtp_tls=False,
            )
        )
        async with running(create_app(settings)) as http:
            clients = [unique("c-") for _ in range(RECIPIENTS)]
            for c in clients:
                r = await http.post(
                    "/v1/me/devices",
                    json={"platform": "android", "token": f"key-{c}"},
                    headers=auth(c, "client", practice),
                )
                assert r.status_code in (200, 201), r.text
            announcement = unique("a-")
            event = AnnouncementPublished(
                announcement_id=announcement,
                practice_id=practice,
                author_id=unique("p-"),
                part=1,
                parts=1,
                recipient_count=RECIPIENTS,
                recipient_ids=clients,
            )
            began = time.perf_counter()
            await publish_json(event.TOPIC, event.key(), event.model_dump(mode="json"))

            async def all_pushed() -> bool:
                return len(set(gateway.pushkeys())) >= RECIPIENTS

            await eventually(all_pushed, timeout=300)
            elapsed = time.perf_counter() - began
    print(
        f"fan-out: {RECIPIENTS} recipients pushed in {elapsed:.2f} s "
        f"({RECIPIENTS / elapsed:.0f} notifications/s); pushes received {len(gateway.pushkeys())}"
    )


if __name__ == "__main__":
    asyncio.run(main())
