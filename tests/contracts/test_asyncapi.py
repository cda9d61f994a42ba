"""Each service's AsyncAPI document lists exactly the topics DESIGN.md says it consumes and produces."""

import importlib
from collections.abc import Iterator

import pytest
from faststream.specification import AsyncAPI

from shared import topics
from tests.support import base_settings, unique

DESIGN = {
    # threads also produces and consumes its internal inbox topic (keyed by participant)
    # and chains every service's access records (messaging.audit.v1, keyed by practice).
    "threads": (
        {
            topics.PRACTICE_CLIENTS,
            topics.PRACTICE_PROVIDERS,
            topics.MESSAGING_BLOCKS,
            topics.MESSAGING_INBOX,
            topics.MESSAGING_AUDIT,
        },
        {
            topics.MESSAGING_SETTINGS,
            topics.MESSAGING_THREADS,
            topics.MESSAGING_MESSAGES,
            topics.MESSAGING_CHART,
            topics.MESSAGING_INBOX,
            topics.MESSAGING_AUDIT,
        },
    ),
    # blocking and announcements also record accesses to the audit topic, and each keeps
    # its lists from its own topic (block lists, announcement timelines).
    "blocking": (
        {topics.PRACTICE_CLIENTS, topics.MESSAGING_BLOCKS},
        {topics.MESSAGING_BLOCKS, topics.MESSAGING_AUDIT},
    ),
    "announcements": (
        {topics.PRACTICE_CLIENTS, topics.MESSAGING_DELIVERIES, topics.MESSAGING_ANNOUNCEMENTS},
        {topics.MESSAGING_ANNOUNCEMENTS, topics.MESSAGING_AUDIT},
    ),
    "notify": (
        # notify also consumes its own job topic and thread state (email-if-unread, red dot).
        {
            topics.MESSAGING_MESSAGES,
            topics.MESSAGING_ANNOUNCEMENTS,
            topics.PRACTICE_CLIENTS,
            topics.MESSAGING_NOTIFICATIONS,
            topics.MESSAGING_THREADS,
        },
        {topics.MESSAGING_NOTIFICATIONS, topics.MESSAGING_DELIVERIES},
    ),
}


def operations(service: str) -> Iterator[tuple[str, str]]:
    module = importlib.import_module(f"services.{service}.app")
    settings_module = importlib.import_module(f"services.{service}.settings")
    settings_class = next(
        v
        for k, v in vars(settings_module).items()
        if k.endswith("Settings") and k.lower().startswith(service)
    )
    app = module.create_app(
        settings_class(**base_settings(**{f"{service}_database": unique("unused_")}))
    )
    spec = AsyncAPI(app.state.broker).to_specification().to_jsonable()
    for operation in spec["operations"].values():
        channel = spec["channels"][operation["channel"]["$ref"].split("/")[-1]]
        yield operation["action"], channel["address"]


@pytest.mark.parametrize("service", sorted(DESIGN))
def test_asyncapi_lists_what_the_service_consumes_and_produces(service: str) -> None:
    consumes, produces = DESIGN[service]
    found = set(operations(service))

    assert {t for action, t in found if action == "receive"} == consumes
    assert {t for action, t in found if action == "send"} == produces
