"""The announcements service's MongoDB access; each store owns its indexes."""

from services.announcements.store.announcements import AnnouncementStore
from services.announcements.store.clients import ClientProjection
from services.announcements.store.deliveries import DeliveryStats
from services.announcements.store.reads import ReadMarks
from services.announcements.store.timelines import Timelines

__all__ = ["AnnouncementStore", "ClientProjection", "DeliveryStats", "ReadMarks", "Timelines"]
