"""Schools and their Sở credentials (encrypted at rest)."""
