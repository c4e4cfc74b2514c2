"""The HTTP face of the verdict service (aiohttp): Argo Rollouts web metrics, Flagger webhooks.

Routes (JSON in and out):
- `GET  /healthz` — liveness, never needs a token.
- `GET  /api/v1/verdict?run=ID | recording=NAME[&candidate=FACTORY][&phase=P]` — the verdict
  document, always HTTP 200 when a run was found, so an Argo `web` metric evaluates
  `successCondition: result.verdict == "pass"` on it (404 no such run, 400 bad query).
- `POST /api/v1/gate` (JSON body with the same keys) — gate now, ignoring the cache.
- `POST /flagger/gate` — a Flagger webhook: the query comes from the payload's `metadata`; 200
  when the verdict is pass, 412 on fail, 503 when inconclusive, so Flagger halts the canary.

Binding: loopback by default. A bearer token is read from an environment variable (never from a
flag, never logged); when it is set every route but /healthz demands it, and binding anywhere but
loopback without one is refused. Flagger's webhooks cannot send headers, so /flagger/gate also
takes the token as `metadata.token` (keep the Canary in a namespace only the platform team reads).
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from harness.core.errors import ConfigError, HarnessError
from harness.service.verdicts import NotFound, Query, VerdictService, status_for

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
FLAGGER_PATH = "/flagger/gate"
SERVICE = web.AppKey("service", VerdictService)
TOKEN = web.AppKey("token", str)


def _json(doc: Mapping[str, Any], status: int = 200) -> web.Response:
    return web.json_response(
        doc, status=status, dumps=lambda o: json.dumps(o, default=str, sort_keys=True)
    )


def _error(status: int, message: str) -> web.Response:
    return _json({"error": message}, status)


@web.middleware
async def _auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    token = request.app[TOKEN]
    if token and request.path != "/healthz":
        given = request.headers.get("Authorization", "")
        scheme, _, value = given.partition(" ")
        if not given and request.path == FLAGGER_PATH:
            # Flagger's webhooks cannot send headers: its Canary carries the token in metadata
            given, scheme, value = await _metadata_token(request)
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip(), token):
            why = "missing bearer token" if not given else "wrong bearer token"
            resp = _error(401, why)
            resp.headers["WWW-Authenticate"] = 'Bearer realm="harness"'
            return resp
    return await handler(request)


async def _metadata_token(request: web.Request) -> tuple[str, str, str]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return "", "", ""
    meta = body.get("metadata") if isinstance(body, dict) else None
    value = meta.get("token") if isinstance(meta, dict) else None
    return ("metadata", "bearer", value) if isinstance(value, str) and value else ("", "", "")


async def _judge(request: web.Request, params: Mapping[str, Any], fresh: bool) -> Any:
    """The verdict document, or an error response; gating runs off the event loop."""
    service = request.app[SERVICE]
    try:
        query = Query.of(params)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, lambda: service.verdict(query, fresh=fresh))
    except NotFound as exc:
        return _error(404, str(exc))
    except ConfigError as exc:
        return _error(400, str(exc))
    except HarnessError as exc:  # a run that never finished, a broken gate, …
        return _error(409, str(exc))


async def healthz(request: web.Request) -> web.Response:
    return _json({"status": "ok"})


async def get_verdict(request: web.Request) -> web.Response:
    doc = await _judge(request, request.query, fresh=False)
    return doc if isinstance(doc, web.Response) else _json(doc)


async def _body(request: web.Request) -> dict[str, Any] | web.Response:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _error(400, "the body must be a JSON object")
    if not isinstance(body, dict):
        return _error(400, "the body must be a JSON object")
    return body


async def post_gate(request: web.Request) -> web.Response:
    body = await _body(request)
    if isinstance(body, web.Response):
        return body
    doc = await _judge(request, body, fresh=True)
    return doc if isinstance(doc, web.Response) else _json(doc)


async def flagger_gate(request: web.Request) -> web.Response:
    """Flagger posts {name, namespace, phase, checksum, metadata}: our query is the metadata."""
    body = await _body(request)
    if isinstance(body, web.Response):
        return body
    metadata = body.get("metadata") or {}
    if not isinstance(metadata, dict):
        return _error(400, "metadata must be an object of strings")
    doc = await _judge(request, metadata, fresh=False)
    if isinstance(doc, web.Response):
        return doc
    canary = {k: body.get(k) for k in ("name", "namespace", "phase", "checksum")}
    return _json({**doc, "canary": canary}, status_for(str(doc.get("verdict"))))


def make_app(service: VerdictService, token: str | None = None) -> web.Application:
    app = web.Application(middlewares=[_auth])
    app[SERVICE] = service
    app[TOKEN] = token or ""
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/api/v1/verdict", get_verdict)
    app.router.add_post("/api/v1/gate", post_gate)
    app.router.add_post(FLAGGER_PATH, flagger_gate)
    return app


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_binding(host: str, token: str | None, token_env: str) -> None:
    """Off loopback a token is required: a verdict endpoint steers production rollouts."""
    if not is_loopback(host) and not token:
        raise ConfigError(
            f"--host {host} is not loopback: set a bearer token in ${token_env} to serve there"
        )


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


@dataclass
class Running:
    """A started server: where it listens, and how to stop it."""

    host: str
    port: int
    stop: Callable[[], None]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


@contextmanager
def serving(app: web.Application, host: str = "127.0.0.1", port: int = 0) -> Iterator[Running]:
    """Run `app` on its own event-loop thread (for tests, notebooks and the CLI alike)."""
    loop = asyncio.new_event_loop()
    started: dict[str, Any] = {}
    ready = threading.Event()

    async def start() -> None:
        # our own socket: port 0 picks a free port, and we can say which one
        sock = socket.create_server((host, port), family=_family(host))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        started.update(runner=runner, port=sock.getsockname()[1])

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(start())
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            started["error"] = exc
        ready.set()
        if "error" not in started:
            loop.run_forever()
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()

    thread = threading.Thread(target=run, name="harness-serve", daemon=True)
    thread.start()
    ready.wait()
    if "error" in started:
        raise ConfigError(f"cannot listen on {host}:{port}: {started['error']}")

    def stop() -> None:
        if loop.is_closed():
            return
        fut = asyncio.run_coroutine_threadsafe(started["runner"].cleanup(), loop)
        fut.result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)

    running = Running(host, int(started["port"]), stop)
    try:
        yield running
    finally:
        stop()
