"""The published HTTP contract of the blocking service."""

from tests.blocking.conftest import Blocking


async def test_openapi_documents_the_block_endpoints(blocking: Blocking) -> None:
    spec = (await blocking.http.get("/openapi.json")).json()
    paths = spec["paths"]

    assert set(paths["/v1/blocks/{client_id}"]) == {"put", "delete"}
    assert "204" in paths["/v1/blocks/{client_id}"]["put"]["responses"]
    bulk = paths["/v1/blocks"]["post"]["responses"]
    assert bulk["200"]["content"]["application/json"]["schema"]["$ref"].endswith("BulkBlockOut")
    assert "404" in bulk
    assert "items" in spec["components"]["schemas"]["BlockPage"]["properties"]


async def test_asyncapi_lists_the_client_directory_consumer(blocking: Blocking) -> None:
    spec = (await blocking.http.get("/asyncapi.json")).json()

    assert "practice.clients.v1" in str(spec["channels"])
