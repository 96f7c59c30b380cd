"""Snapshot reads shared by the streams that ask for the same one at about the same time.

When a thousand browsers open one file's stream within seconds (a class's
sync starts, everyone looks), reading and encoding the ~300 KB snapshot a
thousand times costs minutes. :class:`SharedReads` runs one read per key at a
time, and every caller that arrives while a read *is waiting to start*
shares it.

Why not share the read that is already running? A stream subscribes, then
reads its snapshot: only a read that starts after the stream subscribed is
sure to include every change the stream will not hear as an event. A read
already running may have started before — so a newcomer waits for the next
one, which starts as soon as the running one ends (at most two reads' time,
however many callers).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

T = TypeVar("T")


class SharedReads:
    """Single-flight reads by key, each shared only by callers that asked before it started.

    Used on the event loop only; ``read`` functions run in the thread pool.
    """

    def __init__(self) -> None:
        #: the read each key's newcomers will share (not started yet)
        self._waiting: dict[Hashable, asyncio.Future[Any]] = {}
        #: the last read started or queued per key (reads of a key run one at a time)
        self._last: dict[Hashable, asyncio.Task[None]] = {}
        self.reads = 0  # how many reads ran (for tests and benches)

    async def read(self, key: Hashable, read: Callable[[], T]) -> T:
        """``read()``'s result, from a call that starts after this one was made.

        Callers with the same ``key`` must pass equivalent ``read`` functions.
        Cancelling a caller does not cancel a read others wait for.
        """
        future = self._waiting.get(key)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            # Consumed here so that a read nobody waits for any more logs no warning.
            future.add_done_callback(lambda f: f.cancelled() or f.exception())
            self._waiting[key] = future
            previous = self._last.get(key)
            self._last[key] = asyncio.create_task(self._run(key, future, read, previous))
        return await asyncio.shield(future)  # type: ignore[no-any-return]

    async def _run(
        self,
        key: Hashable,
        future: asyncio.Future[Any],
        read: Callable[[], Any],
        previous: asyncio.Task[None] | None,
    ) -> None:
        try:
            if previous is not None:
                await asyncio.wait([previous])
            # From here on, newcomers need a read that starts later than this one.
            del self._waiting[key]
            self.reads += 1
            try:
                future.set_result(await run_in_threadpool(read))
            except Exception as exc:
                future.set_exception(exc)
        finally:
            if self._waiting.get(key) is future:
                del self._waiting[key]
            if not future.done():
                future.cancel()
            if self._last.get(key) is asyncio.current_task():
                del self._last[key]
