"""Reading, validating and writing teachers' gradebooks (Circular 22 and 27)."""
