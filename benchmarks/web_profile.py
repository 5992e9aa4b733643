"""In-memory cost of plait.web per request: ``HTTPChannel`` + ``Site`` + a trivial ``Resource``.

    python benchmarks/web_profile.py [--requests N] [--pipeline K] [--distinct] [--profile]

Feeds N keep-alive GETs (K per ``dataReceived`` call; K=1 is wrk's pattern) to one channel on a
transport that drops what is written, with a clock, and prints process CPU microseconds per
request (best of 5). wrk repeats one head, which the parser recognises without parsing it
again; ``--distinct`` alternates two heads of different lengths so every head is parsed.
``--profile`` prints the top of a cProfile run instead. No sockets, no reactor.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from typing import Any

from plait.web import Resource, Site

REQUEST = b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"
OTHER = b"GET /hello/there HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"
BODY = b"Hello, world!"


class Hello(Resource):
    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        return BODY


class NullTransport:
    """Counts written bytes; nothing else."""

    def __init__(self) -> None:
        self.written = 0

    def write(self, data: bytes) -> None:
        self.written += len(data)

    def getPeer(self) -> Any:
        return None

    def getHost(self) -> Any:
        return None

    def loseConnection(self) -> None:
        raise AssertionError("the connection is kept alive")


class Clock:
    """Enough of ``IReactorTime`` for the channel's timeouts (one pending call)."""

    def __init__(self) -> None:
        self.now = 0.0

    def seconds(self) -> float:
        return self.now

    def callLater(self, delay: float, f: Any, *args: Any) -> Any:
        return _Call(self.now + delay)


class _Call:
    def __init__(self, when: float) -> None:
        self.when = when

    def getTime(self) -> float:
        return self.when

    def reset(self, delay: float) -> None:
        self.when = delay

    def active(self) -> bool:
        return True

    def cancel(self) -> None:
        pass


def run(requests: int, pipeline: int, distinct: bool = False) -> float:
    """Seconds taken to answer ``requests`` requests."""
    site = Site(Hello(), Clock(), accessLog=False)
    channel = site.buildProtocol(None)
    transport = NullTransport()
    channel.makeConnection(transport)  # type: ignore[arg-type]
    heads = [REQUEST, OTHER] if distinct else [REQUEST]
    stream = heads * pipeline  # ``pipeline`` requests per dataReceived call
    chunks = [b"".join(stream[i : i + pipeline]) for i in range(0, len(stream), pipeline)]
    rounds = requests // (pipeline * len(chunks))
    start = time.process_time()
    for _ in range(rounds):
        for chunk in chunks:
            channel.dataReceived(chunk)
    elapsed = time.process_time() - start
    assert transport.written > requests * 60, transport.written
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--pipeline", type=int, default=1)
    parser.add_argument("--distinct", action="store_true")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(run, args.requests, args.pipeline, args.distinct)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        return
    best = min(run(args.requests, args.pipeline, args.distinct) for _ in range(5))
    kind = "distinct heads" if args.distinct else "one repeated head"
    print(f"{best / args.requests * 1e6:.2f} us/request (pipeline {args.pipeline}, {kind})")


if __name__ == "__main__":
    main()
