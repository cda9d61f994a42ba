"""Opening, finding and listing threads."""

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.threads import events
from services.threads.domain import (
    Client,
    ClientInactive,
    ClientNotFound,
    MessagingDisabled,
    Participant,
    ProviderNotFound,
    SenderBlocked,
    Thread,
    ThreadNotFound,
    View,
    display_name_or_default,
)
from services.threads.handlers.access import AccessLog
from services.threads.ports import AccessPort, ThreadsPort
from services.threads.store import (
    BlockList,
    ClientDirectory,
    PracticeSettings,
    ProviderDirectory,
    ProviderProfiles,
    ThreadStore,
    ViewStore,
)
from services.threads.store.inbox import InboxStore
from services.threads.store.threads import thread_id_for
from services.threads.store.views import view_id
from shared.outbox import Document, Outbox


@dataclass(frozen=True)
class ThreadState:
    """A thread as one participant sees it."""

    view: View
    unread_count: int


async def visible_thread(
    thread_id: str, who: Participant, *, threads: ThreadsPort, access: AccessPort
) -> Thread:
    """The thread if the caller takes part in it; otherwise ThreadNotFound (and recorded)."""
    thread = await threads.get(thread_id)
    if thread is None or not thread.visible_to(who):
        await access.record(who, "thread.access", thread_id, outcome="not_found")
        raise ThreadNotFound(thread_id)
    return thread


async def ensure_views(
    thread: Thread, client: Client | None, *, views: ViewStore, profiles: ProviderProfiles
) -> None:
    """Both participants' views of a thread exist (idempotent)."""
    first, last = (client.first_name, client.last_name) if client else ("", "")
    provider_name = display_name_or_default(await profiles.display_name(thread.provider_id))
    common = {"thread_id": thread.thread_id, "practice_id": thread.practice_id}
    await views.ensure(
        **common,
        participant_id=thread.provider_id,
        role="provider",
        other_id=thread.client_id,
        other_names={"other_first_name": first, "other_last_name": last},
        created_at=thread.created_at,
    )
    await views.ensure(
        **common,
        participant_id=thread.client_id,
        role="client",
        other_id=thread.provider_id,
        other_names={"other_display_name": provider_name},
        created_at=thread.created_at,
    )


async def thread_views(thread: Thread, *, views: ViewStore) -> list[dict[str, Any]]:
    """Both participants' view documents of a thread (those that exist)."""
    found = await asyncio.gather(
        views.by_id(view_id(thread.thread_id, thread.provider_id)),
        views.by_id(view_id(thread.thread_id, thread.client_id)),
    )
    return [doc for doc in found if doc is not None]


@dataclass(frozen=True)
class Conversations:
    """Opening, finding and listing threads, bound to their stores by the composition root."""

    clients: ClientDirectory
    providers: ProviderDirectory
    threads: ThreadStore
    views: ViewStore
    profiles: ProviderProfiles
    practices: PracticeSettings
    blocks: BlockList
    audit: AccessLog
    outbox: Outbox
    inboxes: InboxStore

    async def open(self, who: Participant, counterpart_id: str) -> tuple[Thread, bool]:
        """The pair's one thread, created if needed; True when this call created it.

        A client reaches only an active provider of their own practice, as the practice's
        systems publish them; a provider reaches any client of their practice.
        """
        is_provider = who.role == "provider"
        provider_id, client_id = (
            (who.id, counterpart_id) if is_provider else (counterpart_id, who.id)
        )
        if not is_provider and not await self.providers.is_active(who.practice_id, provider_id):
            raise ProviderNotFound(provider_id)
        client = await self.clients.get(who.practice_id, client_id)
        if client is None:
            raise ClientNotFound(client_id)
        if not is_provider and await self.blocks.is_blocked(provider_id, client_id):
            raise SenderBlocked(provider_id)
        thread, created = await self._existing_or_new(who, client, provider_id)
        await ensure_views(thread, client, views=self.views, profiles=self.profiles)
        if created is not None:
            await self._announce(who, thread, *created)
        await self.audit.record(
            who, "thread.create" if created else "thread.open", thread.thread_id
        )
        return thread, created is not None

    async def get(self, who: Participant, thread_id: str) -> ThreadState:
        """One of the caller's threads."""
        thread = await visible_thread(thread_id, who, threads=self.threads, access=self.audit)
        await self.audit.record(who, "thread.view", thread_id)
        return await self.state_of(thread, who)

    async def state_of(self, thread: Thread, who: Participant) -> ThreadState:
        """The caller's view of a thread with its unread count (views repaired if missing)."""
        view = await self.views.get(thread.thread_id, who.id)
        if view is None:
            client = await self.clients.get(thread.practice_id, thread.client_id)
            await ensure_views(thread, client, views=self.views, profiles=self.profiles)
            view = await self.views.get(thread.thread_id, who.id)
            assert view is not None
        return ThreadState(view, view.unread_count)

    async def list(
        self,
        who: Participant,
        *,
        archived: bool,
        query: str | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[ThreadState]:
        """The caller's inbox or archive, newest activity first (one inbox document)."""
        page = await self.inboxes.page(
            who.id, who.practice_id, archived=archived, query=query, after=after, limit=limit
        )
        return [ThreadState(v, v.unread_count) for v in page]

    async def _existing_or_new(
        self, who: Participant, client: Client, provider_id: str
    ) -> tuple[Thread, tuple[Document, dict[str, Any]] | None]:
        existing = await self.threads.find_pair(provider_id, client.client_id)
        if existing is not None:
            if not existing.visible_to(who):
                raise ThreadNotFound(existing.thread_id)
            return existing, None
        if not client.active:
            raise ClientInactive(client.client_id)
        if not await self.practices.is_enabled(who.practice_id):
            raise MessagingDisabled(who.practice_id)
        intent = await self.outbox.intend("thread", id=thread_id_for(provider_id, client.client_id))
        thread, doc = await self.threads.create(
            who.practice_id, provider_id, client.client_id, who.id
        )
        if doc is None:
            self.outbox.discard(intent)
            if not thread.visible_to(who):
                raise ThreadNotFound(thread.thread_id)
            return thread, None
        return thread, (intent, doc)

    async def _announce(
        self, who: Participant, thread: Thread, intent: Document, doc: dict[str, Any]
    ) -> None:
        both = await thread_views(thread, views=self.views)
        found = await events.thread_events(doc) + [e for v in both for e in events.inbox_events(v)]
        if await self.outbox.publish_soon(intent, found):
            # The new thread shows in the creator's list when this request ends.
            await self.inboxes.wait_for(who.id, thread.thread_id, thread.created_at)
