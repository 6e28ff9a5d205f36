"""What an address lock applies to, and fingerprints that reveal nothing."""

from __future__ import annotations

import secrets

import pytest

from contactpoint.auth.addresses import address_block, fingerprint


@pytest.mark.parametrize(
    ("host", "block"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),
        ("::ffff:198.51.100.4", "198.51.100.4"),
        ("testclient", "testclient"),
    ],
)
def test_ipv6_clients_are_counted_per_64(host: str, block: str) -> None:
    assert address_block(host) == block


def test_fingerprints_are_keyed_stable_and_opaque() -> None:
    key, other = secrets.token_bytes(32), secrets.token_bytes(32)
    value = "203.0.113.7"
    assert fingerprint(key, value) == fingerprint(key, value)
    assert fingerprint(key, value) != fingerprint(other, value)
    assert fingerprint(key, value) != fingerprint(key, "203.0.113.8")
    assert len(fingerprint(key, value)) == 32
    assert value not in fingerprint(key, value)
