"""``SoClient``: the gateway the sync engine talks to (contracts/so-api.md).

Every call goes through the same steps: a bearer token for the school
(:mod:`tokens`), one exchange through the bounded :mod:`transport` (its
concurrency cap and the :mod:`pacing` gate toward a rate-limited Sở) whose
``Date`` feeds the :mod:`clock`, a forced token renewal and one replay on
401, classification (:mod:`outcomes`), and retries of transient failures
(:mod:`retry`), which pass the same gate as first attempts.

Conditions that stop a call are reported, not hidden:

- :meth:`SoClient.push` never raises for anything the Sở does. It returns a
  :class:`PushResult`: an outcome per input record (same order), and the
  :data:`Halt` that stopped it, if any — records settled before a halt keep
  their outcome, the others are :class:`NotAttempted`.
- The reads raise :class:`SoCallFailed`, carrying the :data:`Halt` or, for a
  404/409 of the roster or grades, a :class:`RecordError`-shaped
  business error.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import httpx

from gradesync.so.batching import BatchLimit, Settler
from gradesync.so.clock import SoClock, SoTime
from gradesync.so.messages import config_message, gradebook_message
from gradesync.so.outcomes import (
    BatchVerdict,
    ConfigurationError,
    GradebookRefused,
    Halt,
    Halted,
    Outcome,
    RecordError,
    Transient,
    WindowClosed,
    classify_batch,
    classify_read,
    record_error,
)
from gradesync.so.pacing import Pacer, PacingStats
from gradesync.so.retry import GaveUp, RetryPolicy, with_retries
from gradesync.so.schemas import (
    ClassInfo,
    GradebookKey,
    MalformedReply,
    SchoolCredentials,
    Student,
    Window,
    field,
    parse_classes,
    parse_datetime,
    parse_records,
    parse_students,
    parse_windows,
)
from gradesync.so.tokens import TokenManager, TokenStore
from gradesync.so.transport import ExchangeFailed, Reply, Transport

BATCH_PATH = "/api/v1/grades/batch"


@dataclass(frozen=True, slots=True)
class PushResult:
    """What became of each record of a push (``outcomes[i]`` is about ``records[i]``)."""

    outcomes: list[Outcome]
    halt: Halt | None  # what stopped the push early, if anything
    calls: int  # batch calls made (retries of one batch count once)


class SoCallFailed(Exception):
    """A read could not be answered: ``condition`` says why, ``message_vi`` for people."""

    def __init__(self, condition: Halt | RecordError) -> None:
        super().__init__(type(condition).__name__)
        self.condition = condition

    @property
    def message_vi(self) -> str:
        return self.condition.message_vi


class SoClient:
    """An async client of one Sở, shared by every school (one token per school account).

    ``max_concurrency`` bounds the requests in flight toward the Sở across all
    schools and calls (at most 32); ``pacer`` (default: a fresh
    :class:`~gradesync.so.pacing.Pacer`) gates and paces them all after a 429
    (:attr:`pacing` says what it learnt). ``token_store`` shares each
    school's token with the deployment's other processes (a
    :class:`~gradesync.so.tokens.TokenStore`; without one this client fetches
    its own). ``guard`` is the margin kept inside each edge of a window when
    deciding on the Sở's clock whether it is open.
    ``http_transport`` replaces httpx's network transport (tests only).
    """

    def __init__(
        self,
        base_url: str,
        *,
        max_concurrency: int = 16,
        retry: RetryPolicy | None = None,
        guard: timedelta = timedelta(seconds=30),
        timeout: float = 30.0,
        max_batch: int = 100,
        pacer: Pacer | None = None,
        token_store: TokenStore | None = None,
        http_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.retry = retry or RetryPolicy()
        self.guard = guard
        self.clock = SoClock()
        self.batch_limit = BatchLimit(max_batch)
        self._transport = Transport(
            base_url,
            max_concurrency=max_concurrency,
            timeout=timeout,
            pacer=pacer,
            http_transport=http_transport,
        )
        self.tokens = TokenManager(self._fetch_token, store=token_store)

    async def __aenter__(self) -> SoClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._transport.aclose()

    @property
    def pacing(self) -> PacingStats:
        """The pace learnt toward the Sở (None until its first 429) and the 429s seen."""
        return self._transport.pacer.stats

    # -- public calls --------------------------------------------------------

    async def push(
        self,
        creds: SchoolCredentials,
        key: GradebookKey,
        records: list[dict[str, Any]],
        *,
        window: Window | None = None,
    ) -> PushResult:
        """Send ``records`` (the contract's record shape) to the gradebook ``key``.

        With ``window``, no batch starts unless the window is open on the Sở's
        clock with the guard band (so none starts that could not finish before
        the close); without it, the Sở's own ``WINDOW_CLOSED`` is the judge.
        """
        head = {
            "school_id": creds.school_id,
            "school_year": key.school_year,
            "semester": key.semester,
            "class_name": key.class_name,
            "subject_code": key.subject_code,
        }

        def may_start() -> Halt | None:
            if window is not None and self.clock.synced and not self.is_window_open(window):
                return WindowClosed(window.opens_at, window.closes_at)
            return None

        async def send(indices: list[int]) -> BatchVerdict:
            batch = [records[i] for i in indices]
            body = {**head, "records": batch}
            headers = {"Idempotency-Key": batch_key(body)}

            async def attempt() -> BatchVerdict:
                reply = await self._exchange(
                    creds, "POST", BATCH_PATH, json_body=body, headers=headers
                )
                return classify_batch(reply, key, batch, creds.school_id)

            try:
                return await with_retries(self.retry, attempt)
            except GaveUp as exc:
                return Halted(exc.exhausted)
            except _Halt as exc:
                return Halted(exc.halt)

        settler = Settler(
            len(records),
            send,
            self.batch_limit,
            lambda index, code, text: record_error(code, key, records[index], text),
            lambda code: RecordError(code, gradebook_message(code, key)),
            may_start,
        )
        outcomes = await settler.run()
        return PushResult(outcomes, settler.halt, settler.calls)

    async def windows(
        self, creds: SchoolCredentials, school_year: str, semester: str
    ) -> list[Window]:
        body = await self._read(
            creds, "/api/v1/windows", {"school_year": school_year, "semester": semester}
        )
        return parse_windows(body)

    async def classes(self, creds: SchoolCredentials, school_year: str) -> list[ClassInfo]:
        path = f"/api/v1/schools/{quote(creds.school_id, safe='')}/classes"
        return parse_classes(await self._read(creds, path, {"school_year": school_year}))

    async def students(
        self, creds: SchoolCredentials, school_year: str, class_name: str
    ) -> list[Student]:
        school, name = quote(creds.school_id, safe=""), quote(class_name, safe="")
        path = f"/api/v1/schools/{school}/classes/{name}/students"
        key = GradebookKey(school_year, "", class_name, "")
        return parse_students(await self._read(creds, path, {"school_year": school_year}, key))

    async def read_back(self, creds: SchoolCredentials, key: GradebookKey) -> list[dict[str, Any]]:
        """The records the Sở holds for ``key``, as it returns them."""
        params = {
            "school_id": creds.school_id,
            "school_year": key.school_year,
            "semester": key.semester,
            "class_name": key.class_name,
            "subject_code": key.subject_code,
        }
        return parse_records(await self._read(creds, "/api/v1/grades", params, key))

    async def sync_clock(self, creds: SchoolCredentials, samples: int = 3) -> SoTime:
        """Read ``/api/v1/time`` ``samples`` times to pin the Sở's clock down to milliseconds."""
        for _ in range(samples):
            reply = await self._read_reply(creds, "/api/v1/time", None)
            try:
                now = parse_datetime(field(reply.body, "now", str))
            except MalformedReply:
                continue
            self.clock.observe_time(now, reply.sent, reply.received)
        return self.clock.so_now()

    def is_window_open(self, window: Window) -> bool:
        """Whether ``window`` is open on the Sở's clock, this client's guard inside each edge."""
        return self.clock.window_open(window, self.guard)

    # -- plumbing --------------------------------------------------------------

    async def _read(
        self,
        creds: SchoolCredentials,
        path: str,
        params: dict[str, str] | None,
        key: GradebookKey | None = None,
    ) -> Any:
        return (await self._read_reply(creds, path, params, key)).body

    async def _read_reply(
        self,
        creds: SchoolCredentials,
        path: str,
        params: dict[str, str] | None,
        key: GradebookKey | None = None,
    ) -> Reply:
        """A successful GET's reply (a malformed body is retried like a garbled answer)."""

        async def attempt() -> Reply:
            reply = await self._exchange(creds, "GET", path, params=params)
            verdict = classify_read(reply, creds.school_id)
            if isinstance(verdict, Halted):
                raise _Halt(verdict.halt)
            if isinstance(verdict, GradebookRefused):
                message = gradebook_message(verdict.code, key or GradebookKey("", "", "", ""))
                raise _Halt(RecordError(verdict.code, message))
            if not isinstance(reply.body, dict):
                raise Transient(f"HTTP {reply.status}, malformed body")
            return reply

        try:
            return await with_retries(self.retry, attempt)
        except GaveUp as exc:
            raise SoCallFailed(exc.exhausted) from None
        except _Halt as exc:
            raise SoCallFailed(exc.halt) from None

    async def _exchange(
        self,
        creds: SchoolCredentials,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """One authorised exchange; on 401 ``invalid_token``, renew and replay once."""
        token = await self.tokens.token(creds)
        reply = await self._send(method, path, token, params, json_body, headers)
        if reply.status == 401:
            token = await self.tokens.after_rejection(creds, token)
            reply = await self._send(method, path, token, params, json_body, headers)
        return reply

    async def _send(
        self,
        method: str,
        path: str,
        token: str,
        params: dict[str, str] | None,
        json_body: Any,
        headers: dict[str, str] | None,
    ) -> Reply:
        try:
            reply = await self._transport.request(
                method,
                path,
                params=params,
                json_body=json_body,
                headers={**(headers or {}), "Authorization": f"Bearer {token}"},
            )
        except ExchangeFailed as exc:
            raise Transient(str(exc)) from None
        self.clock.observe_date(reply.headers.get("date"), reply.sent, reply.received)
        return reply

    async def _fetch_token(self, creds: SchoolCredentials) -> tuple[str, float, float]:
        """``POST /oauth/token`` with retries; ``invalid_client`` is a configuration error."""
        form = {
            "grant_type": "client_credentials",
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
        }

        async def attempt() -> tuple[str, float, float]:
            try:
                reply = await self._transport.request("POST", "/oauth/token", form=form)
            except ExchangeFailed as exc:
                raise Transient(str(exc)) from None
            self.clock.observe_date(reply.headers.get("date"), reply.sent, reply.received)
            if 200 <= reply.status < 300:
                try:
                    token = field(reply.body, "access_token", str)
                    lifetime = float(field(reply.body, "expires_in", (int, float)))
                except MalformedReply:
                    raise Transient(f"HTTP {reply.status}, malformed token") from None
                return token, lifetime, reply.sent
            verdict = classify_read(reply, creds.school_id)  # raises Transient for 5xx, 429
            if isinstance(verdict, Halted):
                raise _Halt(verdict.halt)
            # Anything else from the token endpoint is outside the contract.
            code = reply.error_code() or f"HTTP_{reply.status}"
            message = config_message(code, creds.school_id, reply.status)
            raise _Halt(ConfigurationError(code, reply.status, message))

        try:
            return await with_retries(self.retry, attempt)
        except GaveUp as exc:
            raise _Halt(exc.exhausted) from None


class _Halt(Exception):
    """Carries a halt (or a read's business error) out of a retry loop, which ignores it."""

    def __init__(self, halt: Halt | RecordError) -> None:
        super().__init__(type(halt).__name__)
        self.halt = halt


def batch_key(body: dict[str, Any]) -> str:
    """The ``Idempotency-Key`` of a batch: a digest of its content.

    The same batch gets the same key on every retry and in every process, so a
    worker that re-sends a batch after its predecessor died between the Sở's
    answer and our commit is recognisably replaying it; a batch with other
    content is another request.
    """
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]
