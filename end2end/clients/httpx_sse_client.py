"""Reads tickstream's event stream with httpx-sse, as a Python client would, and prints one
JSON line per event it hands over: {"event": ..., "id": ..., "data": ...}.

Usage: httpx_sse_client.py URL SECONDS

A quiet stream sends a keep-alive line every --heartbeat-secs (15 by default): a client's
read timeout must be longer than that. httpx's default (5 s for everything) is not, so this
client sets the read timeout itself.
"""

import json
import sys
import time

import httpx
from httpx_sse import connect_sse


def main() -> None:
    url, seconds = sys.argv[1], float(sys.argv[2])
    deadline = time.monotonic() + seconds
    timeout = httpx.Timeout(5.0, read=30.0)
    with httpx.Client(timeout=timeout) as client:
        with connect_sse(client, "GET", url) as source:
            for event in source.iter_sse():
                print(json.dumps({"event": event.event, "id": event.id, "data": event.data}), flush=True)
                if time.monotonic() > deadline:
                    break


if __name__ == "__main__":
    main()
