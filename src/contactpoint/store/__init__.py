"""The only place that writes SQL: tables, repositories and migrations."""
