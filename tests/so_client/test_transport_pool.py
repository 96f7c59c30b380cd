"""The transport's pooled connections over real sockets: kept alive, and an idle one the
server closed is noticed before it is used (the check ``_Stream`` makes cheaper)."""

from __future__ import annotations

import asyncio

from gradesync.so.transport import Transport, _Backend


async def _serve(close_after_answer: bool) -> tuple[asyncio.Server, list[int], str]:
    """A minimal HTTP/1.1 server answering ``{}``; counts connections accepted."""
    accepted: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 2\r\n\r\n{}"
                )
                await writer.drain()
                if close_after_answer:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, accepted, f"http://127.0.0.1:{port}"


def _run(close_after_answer: bool) -> tuple[list[int], list[int], bool]:
    async def main() -> tuple[list[int], list[int], bool]:
        server, accepted, url = await _serve(close_after_answer)
        transport = Transport(url)
        wrapped = isinstance(transport._http._transport._pool._network_backend, _Backend)
        statuses = []
        try:
            for _ in range(3):
                statuses.append((await transport.request("GET", "/x")).status)
                await asyncio.sleep(0.05)  # the server's close reaches us meanwhile
        finally:
            await transport.aclose()
            server.close()
        return statuses, accepted, wrapped

    return asyncio.run(main())


def test_idle_connection_is_reused() -> None:
    statuses, accepted, wrapped = _run(close_after_answer=False)
    assert wrapped
    assert statuses == [200, 200, 200]
    assert len(accepted) == 1


def test_connection_closed_by_the_server_is_not_reused() -> None:
    statuses, accepted, wrapped = _run(close_after_answer=True)
    assert wrapped
    assert statuses == [200, 200, 200]
    assert len(accepted) == 3
