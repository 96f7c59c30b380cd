"""The simulator's whole state: config, roster, stored grades, tokens, locks, counters.

One ``Simulator`` lives in ``app.state.sim``. Every method is synchronous and
is called from the server's single event-loop thread, so a batch's read,
decision and write happen without interleaving with another request.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from gradesync.so.simulator.auth import TokenRegistry
from gradesync.so.simulator.config import SchoolSeed, SeedDocument, SimConfig, WindowSeed
from gradesync.so.simulator.faults import FaultPicker, TokenBucket
from gradesync.so.simulator.roster import Roster
from gradesync.so.simulator.store import BookKey, GradeStore

SO_TZ = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")


@dataclass(slots=True)
class Counters:
    requests: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    dropped: int = 0
    batches: int = 0
    records: Counter[str] = field(default_factory=Counter)
    duplicate_writes: int = 0

    def public(self, tokens_issued: int) -> dict[str, Any]:
        return {
            "requests": {
                "total": self.requests,
                "by_status": dict(sorted(self.by_status.items())),
                "dropped": self.dropped,
            },
            "batches": self.batches,
            "records": {
                k: self.records[k] for k in ("created", "updated", "unchanged", "rejected")
            },
            "duplicate_writes": self.duplicate_writes,
            "tokens_issued": tokens_issued,
        }


@dataclass(slots=True)
class Locks:
    books: set[BookKey] = field(default_factory=set)
    students: dict[BookKey, set[str]] = field(default_factory=dict)

    def set(self, book: BookKey, student_id: str | None, locked: bool) -> None:
        if student_id is None:
            (self.books.add if locked else self.books.discard)(book)
        elif locked:
            self.students.setdefault(book, set()).add(student_id)
        else:
            self.students.get(book, set()).discard(student_id)

    def students_of(self, book: BookKey) -> frozenset[str]:
        return frozenset(self.students.get(book, ()))


class Simulator:
    def __init__(self, config: SimConfig | None = None, db: str | None = None) -> None:
        self.config = config or SimConfig()
        self.store = GradeStore(db)
        self.roster = Roster()
        self.roster.seed(
            SeedDocument(
                schools=[SchoolSeed.model_validate_json(d) for d in self.store.load_seed("school")],
                windows=[WindowSeed.model_validate_json(d) for d in self.store.load_seed("window")],
            )
        )
        self.tokens = TokenRegistry()
        self.locks = Locks()
        self.counters = Counters()
        # Keys stored by a response that has not (yet) been delivered: a resend of
        # the same data is then a legitimate replay, not a duplicate write.
        self.undelivered: set[tuple[BookKey, str]] = set()
        # Idempotency-Key -> digest of the body first sent with it: the same body
        # under the same key is a replay of that request, never a duplicate write.
        self.replay_keys: dict[str, str] = {}
        self.faults = FaultPicker(self.config.seed)
        self.bucket = TokenBucket(self.config.rate_limit) if self.config.rate_limit else None

    def now(self) -> datetime:
        """The Sở's clock: ours shifted by ``clock_offset``, in UTC+07:00."""
        return datetime.fromtimestamp(self.timestamp(), SO_TZ)

    def timestamp(self) -> float:
        return time.time() + self.config.clock_offset

    def configure(self, patch: dict[str, Any]) -> None:
        """Merge ``patch`` into the config; a new seed or rate limit takes effect at once."""
        new = self.config.patched(patch)
        if "seed" in patch:
            self.faults.reseed(new.seed)
        if "rate_limit" in patch:
            self.bucket = TokenBucket(new.rate_limit) if new.rate_limit else None
        self.config = new

    def seed(self, doc: SeedDocument) -> None:
        self.roster.seed(doc)
        self.store.save_seed("school", {s.school_id: s.model_dump_json() for s in doc.schools})
        self.store.save_seed("window", {w.id: w.model_dump_json() for w in doc.windows})

    def reset(self, *, config: bool = False, roster: bool = False) -> None:
        """Forget grades, tokens, counters and locks; restart the fault sequence.

        ``config`` also restores the default config (keeping its seed),
        ``roster`` also forgets schools and windows.
        """
        self.store.clear_grades()
        self.tokens.clear()
        self.locks = Locks()
        self.counters = Counters()
        self.undelivered.clear()
        self.replay_keys.clear()
        if config:
            self.config = SimConfig(seed=self.config.seed)
        if roster:
            self.roster.clear()
            self.store.clear_seed()
        self.faults.reseed(self.config.seed)
        self.bucket = TokenBucket(self.config.rate_limit) if self.config.rate_limit else None

    def public_counters(self) -> dict[str, Any]:
        return self.counters.public(self.tokens.issued)

    def load_fixture(self, text: str) -> None:
        """Seed from a ``--fixture`` file: a seed document, optionally with ``config``."""
        doc = SeedDocument.model_validate(json.loads(text))
        self.seed(doc)
        if doc.config:
            self.configure(doc.config)
