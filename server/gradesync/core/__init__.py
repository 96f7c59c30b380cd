"""Cross-cutting backend plumbing: settings, database, errors, logging, secrets."""
