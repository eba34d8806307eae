"""How many requests one serving process works on at once.

Sync routes and their database session run in AnyIO's worker threads (40 per process), and a
request holds its pooled connection across several thread hops: the dependency that opens the
session, the route, the commit. With more requests in flight than connections, every thread
can end up waiting for a connection while the requests holding the connections wait for a
thread, and nothing moves until the pool's timeout (the load benchmark met this at 200
clients). Admitting at most a pool's worth of requests at a time, and queueing the rest in
the event loop where waiting costs nothing, keeps each admitted request able to finish.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGI = Callable[[Scope, Receive, Send], Awaitable[None]]

# Answered without the database, so never queued: a liveness probe must see a busy node live.
UNQUEUED_PREFIXES = ("/api/v1/health", "/static/")


class Admission:
    """Pure ASGI: at most ``limit`` HTTP requests in the app at once, the rest wait their turn
    in arrival order. A request's place is given back when its response starts: the session
    has committed and returned its connection by then (get_db ends before the response), and
    a long response such as an event stream must not hold a place while it streams."""

    def __init__(self, app: ASGI, limit: int) -> None:
        self.app = app
        self.limit = limit
        # Made on first use, in the event loop that serves the requests.
        self._places: asyncio.Semaphore | None = None

    @property
    def places(self) -> asyncio.Semaphore:
        if self._places is None:
            self._places = asyncio.Semaphore(self.limit)
        return self._places

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or path.startswith(UNQUEUED_PREFIXES):
            await self.app(scope, receive, send)
            return
        places = self.places
        await places.acquire()
        held = True

        def give_back() -> None:
            nonlocal held
            if held:
                held = False
                places.release()

        async def send_and_give_back(message: Message) -> None:
            if message["type"] == "http.response.start":
                give_back()
            await send(message)

        try:
            await self.app(scope, receive, send_and_give_back)
        finally:
            give_back()
