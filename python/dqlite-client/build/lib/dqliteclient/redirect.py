"""Redirect policies: which addresses a node may send the client to.

A policy is a callable ``policy(address) -> bool``. ``ClusterClient`` hands it to the Rust
client's discovery, which asks it about every leader address a node names before dialing
it (a refusal raises :class:`~dqliteclient.ClusterPolicyError` at once, without retries);
``cluster_info`` drops the members it refuses. Without a policy every address is followed.
"""

import ipaddress
from collections.abc import Callable, Iterable
from typing import TypeAlias

from dqliteclient._validate import parse_address

__all__ = ["RedirectPolicy", "allowlist_policy", "default_safe_redirect_policy"]

RedirectPolicy: TypeAlias = Callable[[str], bool]
"""Return True to follow an address a node named (a leader, a member)."""


def allowlist_policy(addresses: Iterable[str]) -> RedirectPolicy:
    """Follow only these addresses, compared in canonical form (see ``parse_address``).

    Raises ``ValueError`` for an entry that is not a valid address.
    """
    allowed = frozenset(parse_address(a) for a in addresses)

    def policy(address: str) -> bool:
        try:
            return parse_address(address) in allowed
        except ValueError:
            return False

    return policy


def _valid(address: str) -> bool:
    try:
        parse_address(address)
    except ValueError:
        return False
    return True


def default_safe_redirect_policy(
    *, include_rfc1918: bool = True, include_loopback: bool = False
) -> RedirectPolicy:
    """A policy that refuses link-local, loopback and (optionally) private addresses.

    Loopback passes with ``include_loopback``; RFC 1918 ranges pass unless
    ``include_rfc1918`` is false; malformed addresses never pass; host names do.

    The check is on the address as written: a host name that resolves into a refused
    range passes. Combine with :func:`allowlist_policy` for strict control.
    """

    def policy(address: str) -> bool:
        try:
            host, _ = parse_address(address)
            ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(host)
        except ValueError:
            return "@" not in address and _valid(address)
        if isinstance(ip, ipaddress.IPv6Address):
            # An IPv4 address tunnelled in IPv6 is judged as that IPv4 address.
            teredo_client = ip.teredo[1] if ip.teredo else None
            ip = ip.ipv4_mapped or ip.sixtofour or teredo_client or ip
        if ip.is_link_local:
            return False
        if ip.is_loopback and not include_loopback:
            return False
        return include_rfc1918 or not ip.is_private

    return policy
