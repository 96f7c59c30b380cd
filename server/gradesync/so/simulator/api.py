"""The contract's endpoints (shared/contracts/so-api.md), as the simulated Sở serves them."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request

from gradesync.so.simulator.errors import SoError, bad_request
from gradesync.so.simulator.grades import book_of, write_batch
from gradesync.so.simulator.middleware import on_delivered
from gradesync.so.simulator.state import Simulator

router = APIRouter()


def get_sim(request: Request) -> Simulator:
    return request.app.state.sim


Sim = Annotated[Simulator, Depends(get_sim)]


def token_school(sim: Sim, authorization: Annotated[str | None, Header()] = None) -> str:
    """The school of the bearer token, or 401 ``invalid_token``."""
    scheme, _, value = (authorization or "").partition(" ")
    school = sim.tokens.school_of(value.strip()) if scheme.lower() == "bearer" else None
    if school is None:
        raise SoError(
            401, {"error": "invalid_token"}, {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        )
    return school


School = Annotated[str, Depends(token_school)]


def _same_school(school_id: str, school: str) -> None:
    if school_id != school:
        raise SoError(403, {"error": "FORBIDDEN"})


@router.post("/oauth/token")
async def issue_token(request: Request, sim: Sim) -> dict[str, Any]:
    form = await request.form()
    client_id, client_secret = form.get("client_id"), form.get("client_secret")
    # RFC 6749 also allows the credentials in HTTP Basic auth (client_secret_basic).
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, client_secret = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            client_id = client_secret = None
    if form.get("grant_type") != "client_credentials":
        raise SoError(400, {"error": "unsupported_grant_type"})
    school = sim.roster.school_for_client(str(client_id)) if client_id else None
    if school is None or client_secret != school.client_secret:
        raise SoError(401, {"error": "invalid_client"})
    lifetime = sim.config.token_lifetime
    value = sim.tokens.issue(
        school.client_id, school.school_id, lifetime, revoke_old=sim.config.revoke_old_tokens
    )
    return {"access_token": value, "token_type": "Bearer", "expires_in": lifetime}


@router.get("/api/v1/time")
async def sở_time(sim: Sim) -> dict[str, str]:
    return {"now": sim.now().isoformat(timespec="milliseconds")}


@router.get("/api/v1/windows")
async def windows(
    sim: Sim, _: School, school_year: str | None = None, semester: str | None = None
) -> dict[str, Any]:
    found = [
        w
        for w in sorted(sim.roster.windows.values(), key=lambda w: w.opens_at)
        if (school_year is None or w.school_year == school_year)
        and (semester is None or w.semester == semester)
    ]
    return {"windows": [w.model_dump(mode="json") for w in found]}


@router.get("/api/v1/schools/{school_id}/classes")
async def classes(
    sim: Sim, school: School, school_id: str, school_year: str | None = None
) -> dict[str, Any]:
    _same_school(school_id, school)
    return {
        "classes": [
            {
                "class_name": info.seed.class_name,
                "grade": info.seed.grade,
                "subjects": [s.model_dump() for s in info.seed.subjects],
            }
            for info in sim.roster.classes_of(school_id, school_year)
        ]
    }


@router.get("/api/v1/schools/{school_id}/classes/{class_name}/students")
async def students(
    sim: Sim, school: School, school_id: str, class_name: str, school_year: Annotated[str, Query()]
) -> dict[str, Any]:
    _same_school(school_id, school)
    info = sim.roster.class_info(school_id, school_year, class_name)
    if info is None:
        raise SoError(404, {"error": "CLASS_NOT_FOUND"})
    return {"students": [s.model_dump() for s in info.seed.students]}


@router.post("/api/v1/grades/batch")
async def grades_batch(request: Request, sim: Sim, school: School) -> Any:
    try:
        body = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise bad_request("Thân yêu cầu không phải JSON hợp lệ.") from exc
    key = request.headers.get("idempotency-key")
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    replay = key is not None and sim.replay_keys.get(key) == digest
    # From here to the response nothing awaits: the batch is judged and stored
    # without interleaving with another request.
    outcome = write_batch(sim, school, body, replay=replay)
    if key is not None:
        sim.replay_keys.setdefault(key, digest)
    if outcome.acknowledged:
        keys = outcome.acknowledged
        on_delivered(request.scope, lambda: sim.undelivered.difference_update(keys))
    if outcome.status != 200:
        raise SoError(outcome.status, outcome.body)
    return outcome.body


@router.get("/api/v1/grades")
async def read_back(request: Request, sim: Sim, school: School) -> dict[str, Any]:
    book, _ = book_of(sim, school, dict(request.query_params))
    return {"records": sim.store.records(book)}
