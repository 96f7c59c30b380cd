"""The simulator's ASGI application."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from gradesync.so.simulator import api, controls
from gradesync.so.simulator.errors import SoError, so_error_handler
from gradesync.so.simulator.middleware import SimulatorMiddleware
from gradesync.so.simulator.state import Simulator


async def _invalid_request(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    where = "; ".join(".".join(str(p) for p in e["loc"]) + ": " + e["msg"] for e in exc.errors())
    return JSONResponse({"error": "BAD_REQUEST", "message": where}, status_code=400)


def create_app(sim: Simulator | None = None) -> SimulatorMiddleware:
    """An ASGI app serving the Sở contract and ``/_sim/`` for ``sim`` (a fresh one by default).

    Serve it with uvicorn, one worker, ``date_header=False`` (the app sets
    ``Date`` from the Sở's clock). Faults that drop connections need uvicorn.
    """
    sim = sim or Simulator()
    app = FastAPI(title="Sở GD&ĐT (simulator)", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sim = sim
    app.add_exception_handler(SoError, so_error_handler)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.include_router(api.router)
    app.include_router(controls.router)
    return SimulatorMiddleware(app, sim)
