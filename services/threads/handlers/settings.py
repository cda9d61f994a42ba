"""Practice messaging toggle and provider display names."""

from services.threads import events
from services.threads.domain import (
    MAX_DISPLAY_NAME_CHARS,
    DomainError,
    NotPracticeAdmin,
    Participant,
    display_name_or_default,
    may_change_practice_settings,
)
from services.threads.store import PracticeSettings, ProviderProfiles, ViewStore
from shared.outbox import Outbox


class InvalidDisplayName(DomainError):
    """A display name is blank or too long."""


async def messaging_enabled(practice_id: str, *, practices: PracticeSettings) -> bool:
    """Whether the practice has secure messaging on."""
    return await practices.is_enabled(practice_id)


async def toggle_messaging(
    practice_id: str,
    enabled: bool,
    *,
    by: str,
    role: str,
    practice_admin: bool,
    practices: PracticeSettings,
    outbox: Outbox,
) -> bool:
    """A provider who is a practice admin turns messaging on or off for the whole practice."""
    if not may_change_practice_settings(role, practice_admin):
        raise NotPracticeAdmin(practice_id)
    intent = await outbox.intend("practice", id=practice_id)
    doc = await practices.set_enabled(practice_id, enabled, by)
    await outbox.publish_soon(intent, await events.practice_events(doc))
    return enabled


async def display_name(provider_id: str, *, profiles: ProviderProfiles) -> str:
    """The name clients see for a provider (a default until one is chosen)."""
    return display_name_or_default(await profiles.display_name(provider_id))


async def rename_provider(
    who: Participant,
    name: str,
    *,
    profiles: ProviderProfiles,
    views: ViewStore,
    outbox: Outbox,
) -> str:
    """Choose the name on messages sent from now on (sent messages keep theirs)."""
    name = name.strip()
    if not name or len(name) > MAX_DISPLAY_NAME_CHARS:
        raise InvalidDisplayName(who.id)
    intent = await outbox.intend("profile", id=who.id)
    doc = await profiles.set_display_name(who.practice_id, who.id, name)
    renamed = await views.rename_other(who.id, {"other_display_name": name})
    found = await events.profile_events(doc) + [e for v in renamed for e in events.inbox_events(v)]
    await outbox.publish_soon(intent, found)
    return name
