"""The ``contactpoint`` command (CONTRACT.md section 1)."""
