"""API tokens, principals and school scoping."""
