"""A process of websocket clients for ``bench/ws_fanout.py`` (``python -m bench._ws_clients``).

The bench spreads its 1,000 clients over a few of these processes so that
the clients' own frame parsing is not one Python thread competing with the
server. Each line on stdin is a JSON command, each answer one JSON line:

* ``{"connect": [url, …], "count": [bool, …], "deflate": bool}`` →
  ``{"connect_s": …}`` once every snapshot has arrived (``deflate``: offer
  permessage-deflate, as browsers do);
* ``{"follow": rows}`` → ``{"cpu_s": …}`` (CPU seconds spent following) once
  every counting connection received ``rows`` row events (the others — idle
  files, school and province streams — just record what they get);
* ``{"stop": path}`` → closes the connections, writes the latencies (seconds,
  ``array('d')`` per kind of message: ``row``, ``file``, ``school``) to
  ``path.<kind>``, answers ``{"received": {kind: n}}``.

Latency is ``time.time()`` at receipt minus the row's ``at`` (stamped by
the publisher after its commit; one machine, one clock), recorded for every
row. Row messages, alone or in a ``rows`` message, are read without a JSON
parse (``at`` is a row message's last field; a ``rows`` message has one ``at``
for its rows, and an item from another commit carries its own): a browser
parses on its own CPU, these clients share two cores with the server they
measure.
"""

from __future__ import annotations

import array
import asyncio
import json
import sys
import time
from typing import Any

import websockets

WAVE = 50
ROW_PREFIX = '{"type":"row",'
ROWS_PREFIX = '{"type":"rows","at":'
ROWS_START = ',"rows":['
ITEM = '{"sheet":'
OWN_AT = ',"at":'


class Client:
    def __init__(self, ws: Any, counting: bool) -> None:
        self.ws, self.counting = ws, counting
        self.rows = 0

    async def follow(self, latencies: dict[str, array.array[float]], rows: int | None) -> None:
        """Record every message until ``rows`` row events arrived (``None``: until closed)."""
        row_lat, ws = latencies["row"], self.ws
        while rows is None or self.rows < rows:
            text = await ws.recv()
            now = time.time()
            if text.startswith(ROW_PREFIX):
                row_lat.append(now - float(text[text.rindex(":") + 1 : -1]))
                self.rows += 1
                continue
            if text.startswith(ROWS_PREFIX):
                stamps = rows_at(text)
                row_lat.extend(now - at for at in stamps)
                self.rows += len(stamps)
                continue
            message = json.loads(text)
            kind = message["type"]
            if kind in ("file", "school"):
                latencies[kind].append(now - message["at"])
            elif kind == "snapshot":
                raise RuntimeError("a fresh snapshot mid-run: the stream fell behind")


def rows_at(text: str) -> list[float]:
    """Each row's ``at`` in a ``rows`` message, without a JSON parse (~5x faster).

    The message's ``at`` is every item's but those that carry their own (a
    merged delivery). ``{"sheet":`` and ``,"at":`` cannot occur inside a JSON
    string (its quotes would be escaped), so counting them is exact.
    """
    start = text.index(ROWS_START)
    at = float(text[len(ROWS_PREFIX) : start])
    items = text[start:]
    own = [float(part[: part.index("}")]) for part in items.split(OWN_AT)[1:]]
    return [at] * (items.count(ITEM) - len(own)) + own


async def main() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    clients: list[Client] = []
    latencies = {k: array.array("d") for k in ("row", "file", "school")}
    tasks: list[asyncio.Task[None]] = []

    def answer(data: dict[str, Any]) -> None:
        print(json.dumps(data), flush=True)

    while line := await reader.readline():
        command = json.loads(line)
        if "connect" in command:
            t0 = time.perf_counter()
            urls, counting = command["connect"], command["count"]
            compression = "deflate" if command.get("deflate", True) else None
            for i in range(0, len(urls), WAVE):
                wave = [
                    websockets.connect(
                        u,
                        max_size=None,
                        open_timeout=300,
                        ping_interval=None,
                        compression=compression,
                    )
                    for u in urls[i : i + WAVE]
                ]
                sockets = await asyncio.gather(*wave)
                clients += [Client(ws, c) for ws, c in zip(sockets, counting[i:], strict=False)]
            await asyncio.gather(*(c.ws.recv() for c in clients))  # the snapshots
            answer({"connect_s": time.perf_counter() - t0})
        elif "follow" in command:
            rows, cpu = command["follow"], time.process_time()
            counted = [
                asyncio.create_task(c.follow(latencies, rows)) for c in clients if c.counting
            ]
            tasks = [
                asyncio.create_task(c.follow(latencies, None)) for c in clients if not c.counting
            ]
            await asyncio.gather(*counted)
            answer({"cpu_s": time.process_time() - cpu})
        elif "stop" in command:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.gather(*(c.ws.close() for c in clients), return_exceptions=True)
            for kind, values in latencies.items():
                with open(f"{command['stop']}.{kind}", "wb") as f:
                    values.tofile(f)
            answer({"received": {k: len(v) for k, v in latencies.items()}})
            return


if __name__ == "__main__":
    asyncio.run(main())
