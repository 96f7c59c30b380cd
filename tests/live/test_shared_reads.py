"""Snapshot reads shared by streams that connect together — and never a read older than the ask."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from gradesync.live.shared_reads import SharedReads


class Truth:
    """A 'database' whose version a writer bumps; a read returns the version it started at."""

    def __init__(self, read_seconds: float = 0.05) -> None:
        self.version = 0
        self.read_seconds = read_seconds
        self.reads_running = 0
        self.most_at_once = 0
        self._lock = threading.Lock()

    def read(self) -> int:
        with self._lock:
            started_at = self.version
            self.reads_running += 1
            self.most_at_once = max(self.most_at_once, self.reads_running)
        time.sleep(self.read_seconds)
        with self._lock:
            self.reads_running -= 1
        return started_at


def test_callers_at_the_same_time_share_one_read() -> None:
    async def main() -> None:
        reads, truth = SharedReads(), Truth()
        results = await asyncio.gather(*(reads.read("f1", truth.read) for _ in range(50)))
        assert results == [0] * 50
        assert reads.reads == 1

    asyncio.run(asyncio.wait_for(main(), 10))


def test_a_caller_never_gets_a_read_that_started_before_it_asked() -> None:
    """Callers keep arriving while the truth changes: each result must be at least
    as new as the truth was when that caller asked (subscribe-then-read stays correct)."""

    async def main() -> None:
        reads, truth = SharedReads(), Truth(read_seconds=0.02)

        async def caller() -> tuple[int, int]:
            asked_at = truth.version
            return asked_at, await reads.read("f1", truth.read)

        tasks = []
        for _ in range(40):
            tasks.append(asyncio.create_task(caller()))
            await asyncio.sleep(0.003)
            truth.version += 1  # a commit
        results = await asyncio.gather(*tasks)
        assert all(got >= asked for asked, got in results), results
        # shared, yet one read of a key at a time
        assert reads.reads < len(results)
        assert truth.most_at_once == 1

    asyncio.run(asyncio.wait_for(main(), 20))


def test_keys_are_read_separately() -> None:
    async def main() -> None:
        reads = SharedReads()
        got = await asyncio.gather(reads.read("f1", lambda: "one"), reads.read("f2", lambda: "two"))
        assert got == ["one", "two"] and reads.reads == 2

    asyncio.run(asyncio.wait_for(main(), 10))


def test_a_failed_read_fails_its_sharers_and_the_next_caller_reads_again() -> None:
    async def main() -> None:
        reads = SharedReads()

        def broken() -> str:
            raise OSError("database gone")

        results = await asyncio.gather(
            *(reads.read("f1", broken) for _ in range(3)), return_exceptions=True
        )
        assert all(isinstance(r, OSError) for r in results) and reads.reads == 1
        assert await reads.read("f1", lambda: "back") == "back"

    asyncio.run(asyncio.wait_for(main(), 10))


def test_a_caller_that_goes_away_does_not_cancel_the_read_of_the_others() -> None:
    async def main() -> None:
        reads, truth = SharedReads(), Truth(read_seconds=0.1)
        leaving = asyncio.create_task(reads.read("f1", truth.read))
        staying = asyncio.create_task(reads.read("f1", truth.read))
        await asyncio.sleep(0.02)
        leaving.cancel()
        assert await staying == 0
        with pytest.raises(asyncio.CancelledError):
            await leaving

    asyncio.run(asyncio.wait_for(main(), 10))
