"""The Excel add-in's server side: xlwings scripts, the Office.js manifest, the task pane.

xlwings reads two environment variables once, when it is first imported:
``XLWINGS_LICENSE_KEY`` (its remote engine, ``xw.Book(json=…)``, is PolyForm
Noncommercial code and refuses to start without a key) and
``XLWINGS_ON_SERVER`` (without it ``xlwings.script`` is a no-op stub).
Importing this package sets both when absent, before anything here imports
xlwings, so ``gradesync serve`` needs no extra set-up. An operator who holds a
commercial key sets ``XLWINGS_LICENSE_KEY`` and it is kept.
"""

from __future__ import annotations

import os

os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
os.environ.setdefault("XLWINGS_ON_SERVER", "true")
