"""Which client address a failure counts against, and keyed fingerprints.

An IPv6 client usually controls a whole /64, so counting single IPv6
addresses would let one machine walk past the address lock; failures are
counted per /64 instead. Addresses and unknown usernames are kept only as
keyed fingerprints where they are counted, so the lockout tables hold nothing
readable about who tried.
"""

from __future__ import annotations

import hmac
import ipaddress
from hashlib import sha256

IPV6_BLOCK = 64
FINGERPRINT_BYTES = 16


def address_block(host: str) -> str:
    """The unit an address lock applies to: the IPv4 address, or the IPv6 /64."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, IPV6_BLOCK), strict=False))
    return str(address)


def fingerprint(key: bytes, value: str) -> str:
    """A keyed, truncated digest: the same value gives the same text, the text gives nothing."""
    return hmac.new(key, value.encode("utf-8"), sha256).digest()[:FINGERPRINT_BYTES].hex()
