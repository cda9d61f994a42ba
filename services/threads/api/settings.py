"""HTTP routes of the practice messaging toggle and the provider's messaging profile."""

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from services.threads.api.errors import participant
from services.threads.deps import DepsDep
from services.threads.domain import MAX_DISPLAY_NAME_CHARS
from shared.audit import audited
from shared.auth import CurrentCaller, Role, require_role

router = APIRouter(prefix="/v1")


class PracticeMessaging(BaseModel):
    """Whether secure messaging is on for the practice."""

    model_config = ConfigDict(extra="forbid", strict=True)

    enabled: bool


class ProfileIn(BaseModel):
    """The display name a provider chooses."""

    model_config = ConfigDict(extra="forbid", strict=True)

    display_name: str = Field(min_length=1, max_length=MAX_DISPLAY_NAME_CHARS)


class ProfileOut(BaseModel):
    """The name clients see on the provider's messages."""

    provider_id: str
    display_name: str


@router.get("/practice/messaging", dependencies=[audited("settings.view", "practice_settings")])
async def get_practice_messaging(caller: CurrentCaller, deps: DepsDep) -> PracticeMessaging:
    """The caller's practice toggle."""
    enabled = await deps.settings.messaging_enabled(caller.practice_id)
    return PracticeMessaging(enabled=enabled)


@router.put("/practice/messaging", dependencies=[audited("settings.change", "practice_settings")])
async def put_practice_messaging(
    payload: PracticeMessaging, caller: CurrentCaller, deps: DepsDep
) -> PracticeMessaging:
    """Turn messaging on or off for the whole practice (providers who are practice admins)."""
    enabled = await deps.settings.toggle_messaging(
        caller.practice_id,
        payload.enabled,
        by=caller.id,
        role=caller.role.value,
        practice_admin=caller.practice_admin,
    )
    return PracticeMessaging(enabled=enabled)


@router.get("/me/messaging-profile")
async def get_profile(caller: CurrentCaller, deps: DepsDep) -> ProfileOut:
    """The provider's display name (a default until chosen)."""
    require_role(caller, Role.PROVIDER)
    name = await deps.settings.display_name(caller.id)
    return ProfileOut(provider_id=caller.id, display_name=name)


@router.put("/me/messaging-profile", dependencies=[audited("profile.change", "provider_profile")])
async def put_profile(payload: ProfileIn, caller: CurrentCaller, deps: DepsDep) -> ProfileOut:
    """Choose the name on messages sent from now on."""
    require_role(caller, Role.PROVIDER)
    name = await deps.settings.rename_provider(participant(caller), payload.display_name)
    return ProfileOut(provider_id=caller.id, display_name=name)
