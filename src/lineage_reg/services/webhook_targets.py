"""Where webhooks may be sent: public addresses only, unless ``LINEAGE_REG_WEBHOOK_ALLOW`` says otherwise.

A project admin picks a webhook's URL; the server sends the request from
inside its own network and reports back status code, error and latency.
Without a rule that is a port scanner of the server's network and a reader of
cloud metadata (``169.254.169.254``). So:

- ``check_url`` (create/update) refuses URLs with credentials, IP addresses
  that aren't public, and names that are internal by definition (``localhost``,
  ``*.internal`` such as ``metadata.google.internal``, single-label names);
- ``pin`` (every delivery) resolves the host once, checks every address it
  has, and the request goes to that checked address with the name kept in the
  Host header and TLS SNI (certificates are still checked against the name):
  a name that later resolves inward (DNS rebinding) is refused when it matters;
- ``coarse`` turns failures into a few words, so an answer says nothing about
  what sits behind a refused or failing address.

The allow-list holds CIDRs (``10.0.0.0/8``, ``::1/128``) and host names
(``hooks.corp.example``, ``*.corp.example``). A name on it is trusted whatever
it resolves to; an address is allowed when it is public or in a listed CIDR.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

from ..errors import BadInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOW_SETTING = "LINEAGE_REG_WEBHOOK_ALLOW"
REFUSED = "refused: not a public address"
INTERNAL_SUFFIXES = (".localhost", ".internal", ".local", ".localdomain", ".home.arpa")
NAT64 = ipaddress.ip_network("64:ff9b::/96")


@dataclass(frozen=True)
class AllowList:
    networks: tuple[IPNetwork, ...] = ()
    hosts: tuple[str, ...] = ()  # exact names, or "*.suffix"

    @classmethod
    def of(cls, entries: Sequence[str]) -> AllowList:
        """From the setting's entries; ValueError names one that is neither a CIDR nor a host name."""
        networks, hosts = [], []
        for entry in (e.strip().lower() for e in entries):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                name = entry[2:] if entry.startswith("*.") else entry
                if not name or not all(label and label.replace("-", "").isalnum() for label in name.split(".")):
                    raise ValueError(f"{ALLOW_SETTING}: {entry!r} is neither a CIDR (10.0.0.0/8) nor a host name "
                                     "(hooks.corp.example, *.corp.example)") from None
                hosts.append(entry)
        return cls(tuple(networks), tuple(hosts))

    def allows_host(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return any(host == h or (h.startswith("*.") and host.endswith(h[1:])) for h in self.hosts)

    def allows_address(self, ip: IPAddress) -> bool:
        return is_public(ip) or any(ip.version == n.version and ip in n for n in self.networks)


def is_public(ip: IPAddress) -> bool:
    """Globally routable unicast; an IPv6 address carrying an IPv4 one (mapped, NAT64, 6to4) is judged by that."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in NAT64
                                                       else None)
        if embedded is not None:
            return is_public(embedded)
    return ip.is_global and not ip.is_multicast


def as_address(host: str) -> IPAddress | None:
    """``host`` as an IP address, also in the legacy IPv4 spellings resolvers accept (``2130706433``, ``127.1``)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefx." for c in host.lower()) and host[0].isdigit():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def check_url(url: str, allow: AllowList) -> str:
    """BAD_INPUT, saying why and naming the setting, for a URL the dispatcher would refuse to send to."""
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    if parts.scheme not in ("http", "https") or not host or len(url) > 2048:
        raise BadInput(f"webhook url {url!r} must be an absolute http:// or https:// URL of at most 2048 characters")
    try:
        _ = parts.port  # reading it parses it: ValueError when it is not a number in range
    except ValueError:
        raise BadInput(f"webhook url {url!r} has an invalid port") from None
    if parts.username is not None or parts.password is not None:
        raise BadInput("a webhook url must not carry credentials (user:password@); the receiver checks the "
                       "X-LineageReg-Signature header instead")
    if allow.allows_host(host):
        return url
    address = as_address(host)
    if address is not None:
        if not allow.allows_address(address):
            raise BadInput(f"webhook url {url!r}: {host} is not a public address (loopback, private, link-local "
                           f"and metadata addresses are refused); to send to it on purpose, add it to {ALLOW_SETTING}")
        return url
    if "." not in host or host == "localhost" or host.endswith(INTERNAL_SUFFIXES):
        raise BadInput(f"webhook url {url!r}: {host} is an internal host name; use a public one, or add it to "
                       f"{ALLOW_SETTING}")
    return url


@dataclass(frozen=True)
class Pinned:
    """A request target fixed to one checked address."""

    url: str  # the URL with the address in place of the name
    host_header: str
    sni_hostname: str | None  # https: the name the certificate must match


async def pin(url: str, allow: AllowList, *, timeout: float) -> Pinned | str:
    """The address to send to, or the coarse reason there is none (refused, or the name doesn't resolve)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = as_address(host)
    if address is not None:
        addresses = [address]
    else:
        try:
            infos = await asyncio.wait_for(
                asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout)
        except TimeoutError:
            return "timeout"
        except (OSError, UnicodeError):  # socket.gaierror is an OSError
            return "host name not resolved"
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
        if not addresses:
            return "host name not resolved"
    if not allow.allows_host(host) and not all(allow.allows_address(a) for a in addresses):
        return REFUSED
    chosen = addresses[0]
    netloc = f"[{chosen}]:{port}" if chosen.version == 6 else f"{chosen}:{port}"
    host_header = parts.netloc.rpartition("@")[2]
    return Pinned(url=urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")),
                  host_header=host_header, sni_hostname=host if parts.scheme == "https" else None)


def coarse(exc: httpx.HTTPError) -> str:
    """A few words for a failed request: enough to act on, nothing about the network behind it."""
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError) or getattr(cause, "errno", None) == errno.ECONNREFUSED:
            return "connection refused"
        if isinstance(cause, ssl.SSLError):
            return "TLS handshake failed"
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx.ConnectError):
        return "connection failed"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the receiver broke the HTTP exchange"
    return "request failed"
