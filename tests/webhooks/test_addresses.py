"""Which addresses may receive webhooks, and how a URL is split into what the relay connects to."""

from __future__ import annotations

import socket

import pytest

from webhooks.addresses import AddressRefused, Target, refusal, resolve, split


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("224.0.0.251", "multicast"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 (an address refused, not one bound)
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-public"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1%eth0", "link-local"),
        ("fc00::1", "private"),
        ("ff02::1", "multicast"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:127.0.0.1", "loopback"),
    ],
)
def test_non_public_addresses_are_refused(address, why):
    assert refusal(address) == why


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_are_allowed(address):
    assert refusal(address) is None


def test_split_keeps_the_path_and_query_and_defaults_the_port():
    assert split("https://Example.COM./a/b?x=1&y=2#frag") == ("example.com", 443, "/a/b?x=1&y=2")
    assert split("https://example.com:8443") == ("example.com", 8443, "/")


@pytest.mark.parametrize("url", ["ftp://example.com/", "https://example.com:99999/", "https://ex\x00ample.com/", ""])
def test_split_refuses_what_is_no_https_url(url):
    with pytest.raises(AddressRefused):
        split(url)


def test_every_resolved_address_must_be_public(monkeypatch, settings):
    settings.LEDGER_WEBHOOK_ALLOWED_HOSTS = []
    answers = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, 443)) for a in ("8.8.8.8", "10.0.0.7")]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: answers)
    with pytest.raises(AddressRefused, match=r"10\.0\.0\.7, a private address"):
        resolve("https://mixed.example/")


def test_allowed_hosts_match_the_host_or_host_and_port(monkeypatch, settings):
    answers = [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", 8443, 0, 0))]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: answers)
    settings.LEDGER_WEBHOOK_ALLOWED_HOSTS = ["[::1]:8443"]
    target = resolve("https://[::1]:8443/x")
    assert target == Target(host="::1", port=8443, path="/x", addresses=("::1",))
    assert target.host_header == "[::1]:8443"
    with pytest.raises(AddressRefused):
        resolve("https://[::1]:9443/x")
