"""Every query of the sync engine, by subject; import them from here.

Functions take the caller's session and never commit: the service or the
worker owns each (short) transaction. Hot paths use Core statements (one
statement for many rows); the ORM is used only to read single objects.

- :mod:`.jobs` — the one active job per gradebook, reading jobs, blocked schools;
- :mod:`.leases` — what is due, fair order across schools, leases, the timer;
- :mod:`.rows` — sendable and pending rows, state changes, the ledger;
- :mod:`.records` — audit trail, windows, idempotency keys.
"""

from __future__ import annotations

from gradesync.sync.repository._tables import ROW_PENDING, ROW_SENDABLE
from gradesync.sync.repository.jobs import (
    JOB_COLUMNS,
    active_job,
    block_school,
    blocked_jobs,
    dead_jobs,
    get_job,
    insert_active_job,
    jobs_brief,
    jobs_of_file,
    lock_job,
    schedule_waiting,
    update_job,
    waiting_terms,
)
from gradesync.sync.repository.leases import (
    any_claimable,
    claimable,
    extend_leases,
    fair_candidates,
    lease_job,
    lock_claimable,
    next_due,
    running_count,
    take_leases,
)
from gradesync.sync.repository.records import (
    add_audit,
    audit_of_file,
    get_idempotency,
    insert_idempotency,
    upsert_windows,
    windows_of,
)
from gradesync.sync.repository.rows import (
    add_row_errors,
    forget_synced,
    job_row_counts,
    job_rows,
    payloads_of,
    pending_rows_of,
    record_synced,
    rejected_count,
    row_brief,
    rows_by_id,
    sendable_rows,
    set_rows,
    set_rows_state,
    unchanged_rows,
)

__all__ = [
    "JOB_COLUMNS",
    "ROW_PENDING",
    "ROW_SENDABLE",
    "active_job",
    "add_audit",
    "add_row_errors",
    "any_claimable",
    "audit_of_file",
    "block_school",
    "blocked_jobs",
    "claimable",
    "dead_jobs",
    "extend_leases",
    "fair_candidates",
    "forget_synced",
    "get_idempotency",
    "get_job",
    "insert_active_job",
    "insert_idempotency",
    "job_row_counts",
    "job_rows",
    "jobs_brief",
    "jobs_of_file",
    "lease_job",
    "lock_claimable",
    "lock_job",
    "next_due",
    "payloads_of",
    "pending_rows_of",
    "record_synced",
    "rejected_count",
    "row_brief",
    "rows_by_id",
    "running_count",
    "schedule_waiting",
    "sendable_rows",
    "set_rows",
    "set_rows_state",
    "take_leases",
    "unchanged_rows",
    "update_job",
    "upsert_windows",
    "waiting_terms",
    "windows_of",
]
