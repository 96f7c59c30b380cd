"""Uploaded workbooks: durable store, inspection, parsing, staging, status, marked-up copy."""
