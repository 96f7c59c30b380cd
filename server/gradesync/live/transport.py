"""uvicorn's websocket protocol, tuned for live streams to many watchers.

``gradesync serve`` (and the fan-out bench) run uvicorn with
:class:`LiveWebSocketProtocol` (:func:`uvicorn_options`). It is uvicorn's own
sans-I/O protocol (on the ``websockets`` library) with two changes:

* **Shared frames.** It offers the ASGI extension
  :data:`~gradesync.live.messages.SHARED_FRAMES` in the connection's scope:
  ``scope["extensions"][SHARED_FRAMES]["send"](frames)`` writes
  a feed's :class:`~gradesync.live.messages.SharedFrames` with **one** socket
  write of bytes built once for every stream (``frames.wire``), instead of one
  ASGI send, one frame encoding and one write per message per socket;
  ``…["write_now"](frames)`` does it synchronously, or answers ``False`` when
  the socket is paused or closing (the feed's pump writes to idle streams this
  way, without waking their tasks: :meth:`gradesync.live.feeds.Member.write_directly`). Other
  servers (tests' ``TestClient``, another ASGI server) do not offer it and the
  streams send message by message, as before.
* **Only large messages are compressed.** permessage-deflate (RFC 7692) is
  negotiated as usual when enabled (``GRADESYNC_WS_PER_MESSAGE_DEFLATE``), but
  a message under :data:`COMPRESS_MIN_BYTES` goes out uncompressed (RSV1 unset,
  which the RFC allows per message and every client handles), and shared
  frames are never compressed. So the snapshot — a 2,000-row file's is ~300 KB
  of JSON, ~10× less compressed, the one big message on a slow school link —
  is compressed; the steady stream of changes is not, because compression is
  per connection (its state cannot be shared): it cost each of 1,000 watchers
  its own deflate of every change, two thirds of the server's CPU for live
  streams (measured), and made streams fall behind, which made their merged
  deliveries larger still.
"""

from __future__ import annotations

import gc
import logging
from typing import Any

from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.extensions.base import Extension
from websockets.extensions.permessage_deflate import (
    PerMessageDeflate,
    ServerPerMessageDeflateFactory,
)
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.server import ServerProtocol

from gradesync.live.messages import SHARED_FRAMES, SharedFrames

#: messages from this size (UTF-8 bytes) on are compressed when the client offered deflate
COMPRESS_MIN_BYTES = 8192


class LargeOnlyDeflate(PerMessageDeflate):
    """permessage-deflate that leaves messages under :data:`COMPRESS_MIN_BYTES` uncompressed."""

    def encode(self, frame: Frame) -> Frame:
        # Whole small data messages only: a fragmented message is compressed as a whole.
        if frame.fin and frame.opcode in _DATA and len(frame.data) < COMPRESS_MIN_BYTES:
            return frame
        return super().encode(frame)


_DATA = (Opcode.TEXT, Opcode.BINARY)


class LargeOnlyDeflateFactory(ServerPerMessageDeflateFactory):
    """uvicorn's deflate parameters (12-bit windows, ``memLevel`` 5), :class:`LargeOnlyDeflate`."""

    def __init__(self) -> None:
        super().__init__(
            server_max_window_bits=12,
            client_max_window_bits=12,
            compress_settings={"memLevel": 5},
        )

    def process_request_params(
        self, params: Any, accepted_extensions: Any
    ) -> tuple[list[tuple[str, str | None]], Extension]:
        response, ext = super().process_request_params(params, accepted_extensions)
        assert isinstance(ext, PerMessageDeflate)
        return response, LargeOnlyDeflate(
            ext.remote_no_context_takeover,
            ext.local_no_context_takeover,
            ext.remote_max_window_bits,
            ext.local_max_window_bits,
            ext.compress_settings,
        )


class LiveWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets sans-I/O protocol with shared-frame writes and
    compression of large messages only (see the module's docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.config.ws_per_message_deflate:
            self.conn = ServerProtocol(
                extensions=[LargeOnlyDeflateFactory()],
                max_size=self.config.ws_max_size,
                logger=logging.getLogger("uvicorn.error"),
            )

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        # The app's task was only scheduled: it sees the extension from its first step.
        scope = getattr(self, "scope", None)
        if scope is not None:
            scope["extensions"][SHARED_FRAMES] = {
                "send": self.send_shared,
                "write_now": self.write_shared_now,
            }

    def write_shared_now(self, frames: SharedFrames) -> bool:
        """Write ``frames`` at once if the socket takes them (open, not paused);
        ``False`` otherwise, and the caller sends them with :meth:`send_shared`."""
        if not self.writable.is_set() or self.disconnected or self.close_sent:
            return False
        if self.conn.state is not State.OPEN:
            return False
        self.transport.write(frames.wire)
        return True

    async def send_shared(self, frames: SharedFrames) -> None:
        """Write ``frames`` (text messages) to this connection, in one write when it can."""
        await self.writable.wait()
        if self.disconnected or self.close_sent or self.conn.state is not State.OPEN:
            raise ClientDisconnected()
        # Never compressed, even when large (a merged delivery for a stream that fell
        # behind): compressing per socket is what makes streams fall behind.
        self.transport.write(frames.wire)


def freeze_startup_heap() -> None:
    """Leave the objects alive once the server has started out of garbage collections.

    A full collection walks every tracked object while all threads wait: with
    the app's ~160,000 startup objects (modules, SQLAlchemy and pydantic
    metadata) plus 1,000 streams, one took ~200 ms mid-sync in the fan-out
    bench — every stream stalled that long. Those startup objects live as
    long as the process; ``gc.freeze()`` moves them to a generation that is
    never collected, so a collection walks only what came later.
    """
    gc.freeze()


def uvicorn_options(ws_per_message_deflate: bool) -> dict[str, Any]:
    """The options of ``uvicorn.run``/``uvicorn.Config`` for the live streams."""
    return {"ws": LiveWebSocketProtocol, "ws_per_message_deflate": ws_per_message_deflate}
