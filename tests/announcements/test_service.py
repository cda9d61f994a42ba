"""The service shell: health without a token, the AsyncAPI contract, tokens required."""

from tests.announcements.conftest import Service


async def test_health_needs_no_token(service: Service) -> None:
    live = await service.http.get("/health/live")
    ready = await service.http.get("/health/ready")

    assert live.status_code == ready.status_code == 200


async def test_asyncapi_documents_consumed_and_published_topics(service: Service) -> None:
    response = await service.http.get("/asyncapi.json")

    channels = " ".join(response.json()["channels"])
    assert "practice.clients.v1" in channels
    assert "messaging.deliveries.v1" in channels
    assert "messaging.announcements.v1" in channels


async def test_endpoints_need_a_bearer_token(service: Service) -> None:
    responses = [
        await service.http.get("/v1/announcements"),
        await service.http.get("/v1/me/announcements"),
        await service.http.post("/v1/announcements/preview", json={}),
    ]

    assert [r.status_code for r in responses] == [401, 401, 401]
