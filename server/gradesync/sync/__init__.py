"""The sync engine: push jobs, windows, the worker, retries, dead letters, reconciliation.

Public API (everything else is private to the package)::

    from gradesync.sync.setup import install_sync      # app factory: routes + lifespan
    from gradesync.sync.runtime import SyncRuntime     # client, windows, service, worker, timer
    from gradesync.sync.models import JobState, PushJob, SyncWindow, AuditEvent
    from gradesync.sync.settings import SyncSettings   # GRADESYNC_SYNC_* variables

HTTP (contracts/api.md): ``POST /api/files/{id}/push``, ``GET /api/jobs/{id}``,
``GET /api/files/{id}/jobs``, ``GET|POST /api/windows``, ``GET /api/dead-letters``,
``POST /api/jobs/{id}/retry``, ``POST /api/jobs/{id}/reconcile``,
``GET /api/files/{id}/audit``. Command line: ``gradesync worker``.
See README "Sync engine" and "Windows and scheduling".
"""
