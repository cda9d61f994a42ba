"""The threads service's MongoDB access: one module per collection family."""

from services.threads.store.audit import AuditChain
from services.threads.store.blocks import BlockList
from services.threads.store.clients import ClientDirectory
from services.threads.store.messages import MessageStore
from services.threads.store.providers import ProviderDirectory
from services.threads.store.settings import PracticeSettings, ProviderProfiles
from services.threads.store.threads import ThreadStore
from services.threads.store.views import ViewStore

__all__ = [
    "AuditChain",
    "BlockList",
    "ClientDirectory",
    "MessageStore",
    "PracticeSettings",
    "ProviderDirectory",
    "ProviderProfiles",
    "ThreadStore",
    "ViewStore",
]
