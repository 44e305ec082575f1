"""sse-starlette, the Python peer of `make bench`: the same pub/sub shape as bench/nchan.conf.

    publish:   POST /pub/<channel>   (the body is the message; 202 once it is queued for all)
    subscribe: GET  /sub/<channel>   (SSE through sse-starlette's EventSourceResponse,
                                      or a WebSocket upgrade on the same path)

Run by bench/run.sh as one uvicorn process on uvloop and httptools, the way its users deploy
it for one core. Each subscriber has its own queue, filled by the publisher and drained by
its response; nothing is batched or dropped, so a slow server shows up as latency and as
messages still missing when the load generator stops waiting, never as silent loss.
"""

import asyncio

from sse_starlette.sse import EventSourceResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

# channel name -> the queues of its subscribers
channels: dict[str, set[asyncio.Queue]] = {}


def subscribe(channel: str) -> asyncio.Queue:
    queue: asyncio.Queue = asyncio.Queue()
    channels.setdefault(channel, set()).add(queue)
    return queue


def unsubscribe(channel: str, queue: asyncio.Queue) -> None:
    subscribers = channels.get(channel)
    if subscribers is not None:
        subscribers.discard(queue)
        if not subscribers:
            del channels[channel]


async def publish(request: Request) -> Response:
    message = (await request.body()).decode()
    for queue in channels.get(request.path_params["channel"], ()):
        queue.put_nowait(message)
    return Response(status_code=202)


async def sse(request: Request) -> EventSourceResponse:
    channel = request.path_params["channel"]
    queue = subscribe(channel)

    async def messages():
        try:
            while True:
                yield {"data": await queue.get()}
        finally:
            unsubscribe(channel, queue)

    return EventSourceResponse(messages())


async def websocket(socket: WebSocket) -> None:
    channel = socket.path_params["channel"]
    await socket.accept()
    queue = subscribe(channel)

    async def forward() -> None:
        while True:
            await socket.send_text(await queue.get())

    sender = asyncio.ensure_future(forward())
    try:
        # Clients send nothing but their close: reading is how a quiet channel still
        # notices that its subscriber left (and lets the server shut down).
        while (await socket.receive())["type"] != "websocket.disconnect":
            pass
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass  # the client went away
    finally:
        sender.cancel()
        unsubscribe(channel, queue)


app = Starlette(
    routes=[
        Route("/pub/{channel}", publish, methods=["POST"]),
        Route("/sub/{channel}", sse),
        WebSocketRoute("/sub/{channel}", websocket),
    ]
)
