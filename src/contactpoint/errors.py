"""Errors a user can cause or fix, each carrying a message that says what to do.

The CLI and web layers show these messages as they are and never a stack trace;
anything else is a bug and is reported as one without personal data.
"""

from __future__ import annotations


class ContactPointError(Exception):
    """A failure the person running ContactPoint can act on."""


class KeyMaterialError(ContactPointError):
    """Key material is missing, malformed, or does not belong to this database."""


class DecryptionError(ContactPointError):
    """A ciphertext failed authentication: tampered, moved, or under an unknown key."""
