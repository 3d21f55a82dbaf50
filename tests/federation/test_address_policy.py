"""Which addresses the node may dial: only globally routable ones, IPv6 wrappers judged by their IPv4."""

from __future__ import annotations

from datetime import datetime, timezone
from ipaddress import ip_address

import pytest

from fediverse_node.federation.address_policy import embedded_ipv4, is_forbidden_address
from fediverse_node.federation.http_client import (
    ForbiddenScheme,
    _legacy_ipv4,
    require_http_url,
    retry_after_seconds,
)

FORBIDDEN = [
    "127.0.0.1", "127.255.255.254", "0.0.0.0", "0.1.2.3", "10.0.0.1", "172.16.0.1", "172.31.255.255",
    "192.168.1.1", "169.254.169.254", "100.64.0.1", "100.127.255.254", "192.0.0.8", "192.0.2.1",
    "198.18.0.1", "198.51.100.7", "203.0.113.9", "224.0.0.1", "239.255.255.250", "240.0.0.1",
    "255.255.255.255", "192.88.99.1",
    "::", "::1", "fe80::1", "fec0::1", "fc00::1", "fd12:3456::1", "ff02::1", "ff0e::1", "2001:db8::1",
    "100::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::127.0.0.1",
    "64:ff9b::7f00:1", "64:ff9b::a00:1", "64:ff9b:1::808:808", "2002:7f00:1::1", "2002:c0a8:101::1",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "2001::1", "3fff::1",
]
ALLOWED = [
    "1.1.1.1", "8.8.8.8", "93.184.216.34", "100.63.255.255", "100.128.0.1", "172.32.0.1", "192.169.0.1",
    "2606:4700:4700::1111", "2a00:1450:4001:80b::200e", "::ffff:8.8.8.8", "64:ff9b::808:808",
    "2002:808:808::1",
]


@pytest.mark.parametrize("text", FORBIDDEN)
def test_non_public_addresses_are_forbidden(text):
    assert is_forbidden_address(ip_address(text)) is True


@pytest.mark.parametrize("text", ALLOWED)
def test_public_addresses_are_allowed(text):
    assert is_forbidden_address(ip_address(text)) is False


def test_link_local_with_a_zone_is_forbidden():
    assert is_forbidden_address(ip_address("fe80::1%eth0")) is True


@pytest.mark.parametrize("text, inner", [("::ffff:127.0.0.1", "127.0.0.1"), ("64:ff9b::7f00:1", "127.0.0.1"),
                                         ("2002:c0a8:101::1", "192.168.1.1"), ("2606:4700::1", None)])
def test_embedded_ipv4(text, inner):
    found = embedded_ipv4(ip_address(text))  # type: ignore[arg-type]
    assert (str(found) if found else None) == inner


@pytest.mark.parametrize("host, meant", [("127.1", "127.0.0.1"), ("2130706433", "127.0.0.1"),
                                         ("0177.0.0.1", "127.0.0.1"), ("10.1", "10.0.0.1"),
                                         ("127.0.0.1", None), ("example.com", None), ("::1", None)])
def test_legacy_numeric_ipv4_is_read_as_the_c_library_reads_it(host, meant):
    assert _legacy_ipv4(host) == meant


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "gopher://h:70/", "ws://h/",
                                 "javascript:alert(1)", "//example.com/", "http:///nohost"])
def test_only_http_and_https_urls(url):
    with pytest.raises(ForbiddenScheme):
        require_http_url(url)


def test_retry_after_seconds_and_dates():
    now = datetime(2026, 11, 26, 12, 0, 0, tzinfo=timezone.utc)
    assert retry_after_seconds("120", now) == 120
    assert retry_after_seconds("Thu, 26 Nov 2026 12:05:00 GMT", now) == 300
    assert retry_after_seconds("Thu, 26 Nov 2026 11:00:00 GMT", now) == 0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None
    assert retry_after_seconds("99999999", now) == 86_400
