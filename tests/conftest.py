"""Shared test set-up.

xlwings only turns ``@script`` into a real decorator when this is set before
its first import, so it goes here, before anything imports xlwings.
"""

import os

os.environ.setdefault("XLWINGS_ON_SERVER", "true")
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

# The Sở simulator as a process, and its /_sim/ controls (fixtures `simulator`, …).
pytest_plugins = [
    "tests.fixtures.simulator",
    # A fresh database per test, SQLite or PostgreSQL (fixtures `database_url`, …).
    "tests.fixtures.database",
]
