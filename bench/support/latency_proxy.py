"""A TCP proxy in front of a local S3 server that makes every answer come a fixed time later.

    python bench/support/latency_proxy.py --port 9001 --target 127.0.0.1:9000 --delay-ms 15

What it models is S3's first-byte latency: the time from a complete request to the start of
its answer. Requests pass at once; the server's answer bytes are held for the delay. Interim
``100 Continue`` answers pass at once too: boto3 sends ``Expect: 100-continue`` with every
``put_object`` and waits for that answer before the body, which on S3 costs one network round
trip within the region (well under a millisecond), not the service time. HTTP/1.1 clients wait
for one answer per connection before the next request, so the delay adds once per request.

The delay is a schedule, not a sleep per request: bytes received at t leave at t + delay, in
order, so requests on many connections overlap as they do against S3. One asyncio event loop
with protocol callbacks (no coroutine per chunk) keeps the proxy's own CPU per request small;
the splitter bench measures its ceiling next to the server's.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import signal

INTERIM = (b"HTTP/1.1 100 ", b"HTTP/1.0 100 ")


class Downstream(asyncio.Protocol):
    """One client connection and its connection to the server."""

    def __init__(self, target: tuple[str, int], delay: float) -> None:
        self.target = target
        self.delay = delay
        self.early: list[bytes] = []  # request bytes that came before the server connection
        self.upstream: asyncio.Transport | None = None
        # Answer bytes and the loop time at which they may go back to the client, in order.
        self.answers: collections.deque[tuple[float, bytes]] = collections.deque()
        self.timer: asyncio.TimerHandle | None = None
        self.server_closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.loop = asyncio.get_running_loop()
        self.loop.create_task(self.connect())

    async def connect(self) -> None:
        try:
            upstream, _ = await self.loop.create_connection(lambda: Upstream(self), *self.target)
        except OSError:
            self.transport.close()
            return
        self.upstream = upstream
        for data in self.early:
            upstream.write(data)
        self.early.clear()
        if self.transport.is_closing():
            upstream.close()

    def data_received(self, data: bytes) -> None:
        if self.upstream is None:
            self.early.append(data)
        else:
            self.upstream.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.upstream is not None:
            self.upstream.close()

    def answer(self, data: bytes) -> None:
        now = self.loop.time()
        if data.startswith(INTERIM) and not self.answers:
            self.transport.write(data)
            return
        # An interim answer behind a delayed one keeps its order (it cannot overtake it).
        due = now if data.startswith(INTERIM) else now + self.delay
        self.answers.append((max(due, self.answers[-1][0]) if self.answers else due, data))
        if self.timer is None:
            self.timer = self.loop.call_at(self.answers[0][0], self.flush)

    def flush(self) -> None:
        self.timer = None
        now = self.loop.time()
        while self.answers and self.answers[0][0] <= now:
            self.transport.write(self.answers.popleft()[1])
        if self.answers:
            self.timer = self.loop.call_at(self.answers[0][0], self.flush)
        elif self.server_closed:
            self.transport.close()

    def server_lost(self) -> None:
        # Answers still scheduled are delivered first, as a slow link would.
        self.server_closed = True
        if not self.answers:
            self.transport.close()


class Upstream(asyncio.Protocol):
    """The connection to the server: its bytes go back through the client's schedule."""

    def __init__(self, downstream: Downstream) -> None:
        self.downstream = downstream

    def data_received(self, data: bytes) -> None:
        self.downstream.answer(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.downstream.server_lost()


async def serve(port: int, target: tuple[str, int], delay: float) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: Downstream(target, delay), "127.0.0.1", port, backlog=1024
    )
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="port to listen on (127.0.0.1)")
    parser.add_argument("--target", required=True, help="host:port of the S3 server")
    parser.add_argument(
        "--delay-ms", type=float, default=15.0, help="added to every answer (default 15)"
    )
    args = parser.parse_args()
    host, _, port = args.target.rpartition(":")
    asyncio.run(serve(args.port, (host, int(port)), args.delay_ms / 1000))


if __name__ == "__main__":
    main()
