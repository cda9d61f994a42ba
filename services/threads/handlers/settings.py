"""Practice messaging toggle and provider display names."""

from dataclasses import dataclass

from services.threads import events
from services.threads.domain import (
    MAX_DISPLAY_NAME_CHARS,
    DomainError,
    NotPracticeAdmin,
    Participant,
    display_name_or_default,
    may_change_practice_settings,
)
from services.threads.ports import (
    InboxesPort,
    OutboxPort,
    PracticesPort,
    ProfilesPort,
    ViewsPort,
)


class InvalidDisplayName(DomainError):
    """A display name is blank or too long."""


@dataclass(frozen=True)
class Settings:
    """The use cases of practice and provider settings, bound to their stores."""

    practices: PracticesPort
    profiles: ProfilesPort
    views: ViewsPort
    inboxes: InboxesPort
    outbox: OutboxPort

    async def messaging_enabled(self, practice_id: str) -> bool:
        """Whether the practice has secure messaging on."""
        return await self.practices.is_enabled(practice_id)

    async def toggle_messaging(
        self, practice_id: str, enabled: bool, *, by: str, role: str, practice_admin: bool
    ) -> bool:
        """A provider who is a practice admin turns messaging on or off for the practice."""
        if not may_change_practice_settings(role, practice_admin):
            raise NotPracticeAdmin(practice_id)
        intent = await self.outbox.intend("practice", id=practice_id)
        doc = await self.practices.set_enabled(practice_id, enabled, by)
        await self.outbox.publish_soon(intent, await events.practice_events(doc))
        return enabled

    async def display_name(self, provider_id: str) -> str:
        """The name clients see for a provider (a default until one is chosen)."""
        return display_name_or_default(await self.profiles.display_name(provider_id))

    async def rename_provider(self, who: Participant, name: str) -> str:
        """Choose the name on messages sent from now on (sent messages keep theirs)."""
        name = name.strip()
        if not name or len(name) > MAX_DISPLAY_NAME_CHARS:
            raise InvalidDisplayName(who.id)
        intent = await self.outbox.intend("profile", id=who.id)
        doc = await self.profiles.set_display_name(who.practice_id, who.id, name)
        renamed = await self.views.rename_other(
            await self.inboxes.counterpart_views(who.id), {"other_display_name": name}
        )
        found = await events.profile_events(doc)
        found += [e for view in renamed for e in events.inbox_events(view)]
        await self.outbox.publish_soon(intent, found)
        return name
