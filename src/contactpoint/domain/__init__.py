"""Plain types and rules of the index: no HTTP, no SQL, no files."""
