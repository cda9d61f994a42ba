"""What every service process shares: the FastAPI shell and the infrastructure lifespan."""

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.telemetry import TelemetryConfig
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from faststream.specification.asyncapi.site import get_asyncapi_html
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import health
from shared.audit import AuditTrail
from shared.auth import TokenVerifier
from shared.body_limit import BodySizeLimit
from shared.ids import new_id
from shared.kafka import EventPublisher, client_options, consumers_assigned
from shared.metrics import install_metrics, time_gc_pauses
from shared.mongo import create_mongo_client
from shared.observability import configure_logging, correlation_id
from shared.problems import install_problem_handlers
from shared.settings import AuthSettings, KafkaSettings, MongoSettings, TracingSettings
from shared.topics import ensure_topics
from shared.tracing import ServerSpans, current_trace_id, is_traced

log = logging.getLogger(__name__)


class InfraSettings(KafkaSettings, MongoSettings, AuthSettings, TracingSettings):
    """The slices every service needs."""


@dataclass
class Runtime:
    """One service process's live connections and background tasks."""

    db: Any
    broker: KafkaBroker
    publisher: EventPublisher
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def report(self, app: FastAPI, name: str, value: Callable[[], Awaitable[Any]]) -> None:
        """Show a value (such as the outbox backlog) in the readiness body."""
        app.state.reports[name] = value

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run a background loop for the life of the process."""
        self.tasks.append(asyncio.create_task(coroutine))

    async def start(self, *recoveries: Coroutine[Any, Any, None]) -> None:
        """Connect the producer, spawn the recovery loops, then start the consumers.

        After a crash the consumers take seconds to rejoin their groups: what the crash
        left is recovered meanwhile, before requests come and while nothing else loads
        the process (recovering later, under load, republished every message sent since).
        """
        await self.broker.connect()
        for recovery in recoveries:
            self.spawn(recovery)
        await self.broker.start()
        tune_gc()


# Collections of the youngest generation run after this many new container objects
# (Python's default is 700). A young collection's pause grows with it: at 20,000 they
# took 10-50 ms each (`messaging_gc_pause_seconds`), too long beside a 50 ms end-to-end
# budget; at 2,000 a pause stays within a few milliseconds.
GC_YOUNG_THRESHOLD = 2_000


def tune_gc() -> None:
    """Once started: what startup built (modules, app, clients) is never garbage, so the
    collector stops walking it (`gc.freeze`, after a collection so no garbage is kept),
    and young collections run less often."""
    time_gc_pauses()
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


@contextlib.asynccontextmanager
async def service_runtime(
    app: FastAPI, settings: InfraSettings, broker: KafkaBroker, *, name: str, database: str
) -> AsyncIterator[Runtime]:
    """Connect to MongoDB and Kafka; the caller wires its handlers, then starts the broker."""
    mongo = create_mongo_client(settings)
    app.state.verifier = TokenVerifier(settings)

    async def mongo_ready() -> bool:
        await mongo.admin.command("ping")
        return True

    async def kafka_ready() -> bool:
        return bool(await broker.ping(timeout=2))

    readiness: dict[str, Callable[[], Awaitable[bool]]] = {"mongodb": mongo_ready}
    if settings.kafka_ready_requires_assignment:
        readiness["consumers"] = lambda: consumers_assigned(broker)
    app.state.readiness = readiness
    app.state.reports = {"kafka": kafka_ready}
    await ensure_topics(
        settings.kafka_bootstrap_servers,
        security=client_options(settings),
        replication_factor=settings.kafka_replication_factor,
        min_insync_replicas=settings.kafka_min_insync_replicas,
    )
    runtime = Runtime(
        db=mongo[database], broker=broker, publisher=EventPublisher(broker, f"/{name}")
    )
    app.state.audit_trail = AuditTrail(runtime.publisher, name)
    try:
        yield runtime
    finally:
        for task in runtime.tasks:
            task.cancel()
        await asyncio.gather(*runtime.tasks, return_exceptions=True)
        await broker.stop()
        await mongo.close()


def from_app_state(name: str) -> Any:
    """A route dependency answering what the composition root put in `app.state.<name>`."""

    async def dependency(request: Request) -> Any:
        return getattr(request.app.state, name)

    return Depends(dependency)


class CorrelationId:
    """ASGI middleware: every request runs with a correlation id, echoed in the response.

    Plain ASGI rather than Starlette's BaseHTTPMiddleware, which costs a task and a
    stream per request on the hot path. With `from_trace` (tracing on, inside the server
    span) the id is the trace id, so logs and traces meet.
    """

    def __init__(self, app: ASGIApp, *, from_trace: bool = False) -> None:
        self.app = app
        self.from_trace = from_trace

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cid = current_trace_id() if self.from_trace else None
        cid = cid or (Headers(scope=scope).get("x-correlation-id") or new_id())[:100]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("X-Correlation-ID", cid)
            await send(message)

        token = correlation_id.set(cid)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            correlation_id.reset(token)


# FastAPI's own OpenTelemetry spans (on whenever an SDK tracer provider is set) carry the
# URL path and query (ids, search terms) and its logs exception texts: tracing here is
# shared.tracing's, whose spans carry routes, topics, statuses and event ids only.
NO_NATIVE_TELEMETRY: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
    "auto_configure": False,
}


def create_service_app(
    *,
    title: str,
    lifespan: Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]],
    routers: list[APIRouter],
    broker: KafkaBroker,
) -> FastAPI:
    """A FastAPI app: problem details, health, metrics, correlation ids, a body cap, AsyncAPI."""
    configure_logging()
    app = FastAPI(title=title, version="1.0.0", lifespan=lifespan, telemetry=NO_NATIVE_TELEMETRY)
    install_problem_handlers(app)
    # Added first, so it runs inside the correlation middleware: a 413 carries the id too.
    app.add_middleware(BodySizeLimit)
    traced = is_traced(broker)
    app.add_middleware(CorrelationId, from_trace=traced)
    if traced:  # outside the correlation middleware, whose id is then the trace id
        app.add_middleware(ServerSpans)
    # Outermost: times every request, the 413s and 401s included.
    install_metrics(app, broker)
    app.include_router(health.router)
    for router in routers:
        app.include_router(router)
    _mount_asyncapi(app, broker, title)
    return app


def _mount_asyncapi(app: FastAPI, broker: KafkaBroker, title: str) -> None:
    spec = AsyncAPI(broker, title=f"{title} events", version="1.0.0")

    @app.get("/asyncapi.json", include_in_schema=False)
    async def asyncapi_json() -> JSONResponse:
        return JSONResponse(spec.to_specification().to_jsonable())

    @app.get("/asyncapi", include_in_schema=False)
    async def asyncapi_html() -> HTMLResponse:
        return HTMLResponse(get_asyncapi_html(spec.to_specification()))
