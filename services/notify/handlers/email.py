"""Email delivery: the one generic email, to the user's own address or the directory's."""

from dataclasses import dataclass

from services.notify.domain import Delivery, Job, Outcome, Preferences, Profile, Skipped
from services.notify.ports import ClientEmailsPort, MailerPort, ReadStatePort


@dataclass(frozen=True)
class EmailDelivery:
    """Finds where an email goes and sends it, unless the message was read meanwhile."""

    clients: ClientEmailsPort
    reads: ReadStatePort
    mailer: MailerPort
    link_base_url: str

    async def address(self, job: Job, prefs: Preferences) -> str | None:
        """Where an email goes: the user's own address, else (clients) the directory's."""
        directory = (
            await self.clients.email_of(job.practice_id, job.recipient_id)
            if job.needs_directory(prefs)
            else None
        )
        return job.email_address(prefs, directory)

    async def addresses(self, jobs: list[Job], profiles: dict[str, Profile]) -> dict[str, str]:
        """`address` of many recipients at once (a part): the directory entries needed are
        read together, per practice."""
        needing: dict[str, list[str]] = {}
        for job in jobs:
            if job.needs_directory(profiles[job.recipient_id].prefs):
                needing.setdefault(job.practice_id, []).append(job.recipient_id)
        directory: dict[str, str] = {}
        for practice_id, client_ids in needing.items():
            directory.update(await self.clients.emails_of(practice_id, client_ids))
        found = {
            job.recipient_id: job.email_address(
                profiles[job.recipient_id].prefs, directory.get(job.recipient_id)
            )
            for job in jobs
        }
        return {recipient: address for recipient, address in found.items() if address}

    async def outcome(
        self, delivery: Delivery, profile: Profile, address: str | None = None
    ) -> Outcome:
        """Send the email (to `address` if known already) or say why not."""
        job = delivery.job
        thread_id = job.message_thread
        position = (
            await self.reads.position(thread_id, job.recipient_id)
            if thread_id is not None
            else None
        )
        skip = job.email_skip(profile.prefs, position)
        if skip is not None:
            return skip
        address = address or await self.address(job, profile.prefs)
        if address is None:
            return Skipped("no_address")
        return await self.mailer.send(address, job.link(self.link_base_url))
