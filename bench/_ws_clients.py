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

Latency is the time a chunk of bytes was received minus each row's ``at``
(stamped by the publisher after its commit; one machine, one clock),
recorded for every row. These clients share two cores with the server they
measure, so they read as little as they can (a browser parses on its own
CPU): a lean RFC 6455 reader on an ``asyncio.Protocol`` (server frames are
unmasked; compressed messages — the snapshot — are inflated with zlib, as
permessage-deflate says), row messages read without a JSON parse (``at`` is
a row message's last field, and a ``file`` message's; a ``rows`` message has
one ``at`` for its rows, an item from another commit carries its own). The
``websockets`` library client costs ~5× more per frame, which at 2 M frames
is the whole budget.
"""

from __future__ import annotations

import array
import asyncio
import base64
import json
import os
import sys
import time
import zlib
from typing import Any
from urllib.parse import urlsplit

WAVE = 50
ROW_PREFIX = b'{"type":"row",'
ROWS_PREFIX = b'{"type":"rows","at":'
ROWS_START = b',"rows":['
FILE_PREFIX = b'{"type":"file",'
ITEM = b'{"sheet":'
OWN_AT = b',"at":'
#: what inflating a permessage-deflate message needs appended (RFC 7692 §7.2.2)
TAIL = b"\x00\x00\xff\xff"


def rows_latencies(data: bytes, now: float) -> list[float]:
    """Each row's latency (``now`` − its ``at``) in a ``rows`` message, without a
    JSON parse, and without Python work per row that shares the message's ``at``.

    The message's ``at`` is every item's but those that carry their own (a
    merged delivery). ``{"sheet":`` and ``,"at":`` cannot occur inside a JSON
    string (its quotes would be escaped), so counting them is exact.
    """
    start = data.index(ROWS_START)
    items = data[start:]
    own = [now - float(part[: part.index(b"}")]) for part in items.split(OWN_AT)[1:]]
    shared = now - float(data[len(ROWS_PREFIX) : start])
    return [shared] * (items.count(ITEM) - len(own)) + own


class Client(asyncio.Protocol):
    """One websocket connection: handshake, then text messages as they come."""

    def __init__(self, latencies: dict[str, array.array[float]], counting: bool) -> None:
        self.latencies, self.counting = latencies, counting
        self.rows = 0
        self.target: int | None = None
        self.reached: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.snapshot: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.open = False
        self.inflater: Any = None
        self.closing = False

    def handshake(self, transport: asyncio.Transport, host: str, path: str, deflate: bool) -> None:
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {host}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
        ]
        if deflate:  # what browsers offer
            lines.append("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")
        transport.write(("\r\n".join(lines) + "\r\n\r\n").encode())

    def data_received(self, data: bytes) -> None:
        now = time.time()
        buf = self.buffer
        buf += data
        if not self.open:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end]).decode("latin-1").lower()
            del buf[: end + 4]
            if " 101 " not in head.split("\r\n", 1)[0] + " ":
                self._fail(f"handshake refused: {head[:80]}")
                return
            if "permessage-deflate" in head:
                bits = 15
                for part in head.split("permessage-deflate", 1)[1].split("\r\n", 1)[0].split(";"):
                    name, _, value = part.strip().partition("=")
                    if name == "server_max_window_bits" and value:
                        bits = int(value)
                self.inflater = zlib.decompressobj(-bits)
            self.open = True
        pos, size = 0, len(buf)
        while size - pos >= 2:
            b0, n = buf[pos], buf[pos + 1] & 0x7F
            start = pos + 2
            if n == 126:
                if size - pos < 4:
                    break
                n, start = int.from_bytes(buf[pos + 2 : pos + 4]), pos + 4
            elif n == 127:
                if size - pos < 10:
                    break
                n, start = int.from_bytes(buf[pos + 2 : pos + 10]), pos + 10
            if size - start < n:
                break
            payload = bytes(buf[start : start + n])
            pos = start + n
            if b0 & 0x0F == 1:  # a whole text message (the server never fragments)
                if b0 & 0x40:
                    payload = self.inflater.decompress(payload + TAIL)
                self._message(payload, now)
        del buf[:pos]

    def _message(self, data: bytes, now: float) -> None:
        if data.startswith(ROW_PREFIX):
            self.latencies["row"].append(now - float(data[data.rindex(b":") + 1 : -1]))
            self._counted(1)
        elif data.startswith(ROWS_PREFIX):
            latencies = rows_latencies(data, now)
            self.latencies["row"].extend(latencies)
            self._counted(len(latencies))
        elif data.startswith(FILE_PREFIX):  # "at" last, as in a row message
            self.latencies["file"].append(now - float(data[data.rindex(b":") + 1 : -1]))
        else:
            message = json.loads(data)
            kind = message["type"]
            if kind in ("file", "school"):
                self.latencies[kind].append(now - message["at"])
            elif kind == "snapshot":
                if self.snapshot.done():
                    self._fail("a fresh snapshot mid-run: the stream fell behind")
                else:
                    self.snapshot.set_result(None)
            elif kind == "error":
                self._fail(f"refused: {message}")

    def _counted(self, n: int) -> None:
        self.rows += n
        if self.target is not None and self.rows >= self.target and not self.reached.done():
            self.reached.set_result(None)

    def follow(self, rows: int) -> None:
        self.target = rows
        self._counted(0)

    def _fail(self, why: str) -> None:
        for future in (self.snapshot, self.reached):
            if not future.done():
                future.set_exception(RuntimeError(why))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closing:
            self._fail(f"connection lost ({exc})")

    def close(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.close()


async def open_client(
    url: str, counting: bool, deflate: bool, latencies: dict[str, array.array[float]]
) -> Client:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    loop = asyncio.get_running_loop()
    transport, client = await loop.create_connection(
        lambda: Client(latencies, counting), host, port
    )
    client.handshake(transport, f"{host}:{port}", path, deflate)
    return client


async def main() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    clients: list[Client] = []
    latencies = {k: array.array("d") for k in ("row", "file", "school")}

    def answer(data: dict[str, Any]) -> None:
        print(json.dumps(data), flush=True)

    while line := await reader.readline():
        command = json.loads(line)
        if "connect" in command:
            t0 = time.perf_counter()
            urls, counting = command["connect"], command["count"]
            deflate = command.get("deflate", True)
            for i in range(0, len(urls), WAVE):
                wave = [
                    open_client(u, c, deflate, latencies)
                    for u, c in zip(urls[i : i + WAVE], counting[i : i + WAVE], strict=True)
                ]
                clients += await asyncio.gather(*wave)
            await asyncio.wait_for(asyncio.gather(*(c.snapshot for c in clients)), 300)
            answer({"connect_s": time.perf_counter() - t0})
        elif "follow" in command:
            rows, cpu = command["follow"], time.process_time()
            counted = [c for c in clients if c.counting]
            for c in counted:
                c.follow(rows)
            await asyncio.gather(*(c.reached for c in counted))
            answer({"cpu_s": time.process_time() - cpu})
        elif "stop" in command:
            for c in clients:
                c.close()
            for kind, values in latencies.items():
                with open(f"{command['stop']}.{kind}", "wb") as f:
                    values.tofile(f)
            answer({"received": {k: len(v) for k, v in latencies.items()}})
            return


if __name__ == "__main__":
    asyncio.run(main())
