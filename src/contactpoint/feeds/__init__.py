"""Parsing and validating source feed files (CONTRACT.md section 2)."""
