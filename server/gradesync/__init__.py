"""gradesync: teachers' Excel gradebooks to the Sở GD&ĐT, validated, scheduled, never lost."""

__version__ = "0.1.0"
