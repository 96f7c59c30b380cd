"""A faithful simulator of the Sở GD&ĐT grade API, with switchable faults.

Run it with ``gradesync simulator`` (see docs/simulator.md); embed it with
``create_app(Simulator(...))`` under uvicorn.
"""

from __future__ import annotations

from gradesync.so.simulator.app import create_app
from gradesync.so.simulator.config import SeedDocument, SimConfig
from gradesync.so.simulator.state import Simulator

__all__ = ["SeedDocument", "SimConfig", "Simulator", "create_app"]
