"""The session-wide guard really stops traffic that would leave this machine."""

from __future__ import annotations

import socket

import curl_cffi.requests
import pytest
import requests

from tests.conftest import NetworkBlocked


def test_sockets_to_outside_addresses_are_refused():
    with socket.socket() as sock, pytest.raises(NetworkBlocked):
        sock.connect(("93.184.215.14", 443))


def test_name_lookups_of_outside_hosts_are_refused():
    with pytest.raises(NetworkBlocked):
        socket.getaddrinfo("query2.finance.yahoo.com", 443)


def test_curl_cffi_which_yfinance_uses_is_stopped():
    with pytest.raises(NetworkBlocked):
        curl_cffi.requests.Session().get("https://query2.finance.yahoo.com/v8/finance/chart/SPY")


def test_requests_is_stopped():
    with pytest.raises(NetworkBlocked):
        requests.get("https://fc.yahoo.com", timeout=1)


def test_loopback_stays_open():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.socket() as client:
            client.connect(server.getsockname())
