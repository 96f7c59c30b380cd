"""The simulator's own controls under ``/_sim/`` (docs/simulator.md); no token needed."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, ConfigDict, ValidationError

from gradesync.so.simulator.api import Sim
from gradesync.so.simulator.config import SeedDocument
from gradesync.so.simulator.errors import bad_request
from gradesync.so.simulator.store import KEY_FIELDS, BookKey

router = APIRouter(prefix="/_sim")


class ResetOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    config: bool = False  # also restore the default config (keeping the seed)
    roster: bool = False  # also forget schools and windows


class LockRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    school_id: str
    school_year: str
    semester: str
    class_name: str
    subject_code: str
    student_id: str | None = None
    locked: bool = True


@router.post("/reset")
async def reset(sim: Sim, options: Annotated[ResetOptions | None, Body()] = None) -> dict[str, Any]:
    options = options or ResetOptions()
    sim.reset(config=options.config, roster=options.roster)
    return {"ok": True}


@router.post("/seed")
async def seed(sim: Sim, doc: SeedDocument) -> dict[str, Any]:
    if doc.config is not None:
        raise bad_request("Use PATCH /_sim/config for the config.")
    sim.seed(doc)
    return {"schools": len(sim.roster.schools), "windows": len(sim.roster.windows)}


@router.get("/config")
async def get_config(sim: Sim) -> dict[str, Any]:
    return sim.config.public()


@router.patch("/config")
async def patch_config(sim: Sim, patch: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    try:
        sim.configure(patch)
    except ValidationError as exc:
        raise bad_request(str(exc)) from exc
    return sim.config.public()


@router.post("/locks")
async def locks(sim: Sim, lock: LockRequest) -> dict[str, Any]:
    book = BookKey(
        lock.school_id, lock.school_year, lock.semester, lock.class_name, lock.subject_code
    )
    sim.locks.set(book, lock.student_id, lock.locked)
    return lock.model_dump()


@router.get("/counters")
async def counters(sim: Sim) -> dict[str, Any]:
    return sim.public_counters()


@router.get("/store")
async def store(sim: Sim, request: Request) -> dict[str, Any]:
    filters = {k: v for k, v in request.query_params.items() if k in KEY_FIELDS}
    return {"records": sim.store.dump(filters)}
