"""The test proxy itself: bytes pass through it even when the test process holds many files."""

from __future__ import annotations

import contextlib
import os
import resource
import socket
import threading
from collections.abc import Iterator

import pytest

from tests.tcp_proxy import TcpProxy

# select.select() refuses descriptors from 1,024 up; a long test session gets there.
MANY_DESCRIPTORS = 1_100


@contextlib.contextmanager
def echo_server() -> Iterator[int]:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        with contextlib.suppress(OSError):
            connection, _ = listener.accept()
            with connection:
                while data := connection.recv(65536):
                    connection.sendall(data)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        listener.close()
        thread.join(timeout=5)


@contextlib.contextmanager
def descriptors_held(count: int) -> Iterator[None]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < count + 100:
        pytest.skip(f"the hard limit of open files is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, count + 100), hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(count)]
    try:
        yield
    finally:
        for descriptor in held:
            os.close(descriptor)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_bytes_pass_both_ways_with_over_a_thousand_files_open():
    with (
        descriptors_held(MANY_DESCRIPTORS),
        echo_server() as port,
        TcpProxy("127.0.0.1", port) as proxy,
        socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as client,
    ):
        assert client.fileno() >= 1_024
        client.sendall(b"ping")
        assert client.recv(4) == b"ping"


def test_a_frozen_proxy_passes_nothing_until_restored():
    with (
        echo_server() as port,
        TcpProxy("127.0.0.1", port) as proxy,
        socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as client,
    ):
        client.sendall(b"one")
        assert client.recv(3) == b"one"
        proxy.freeze()
        client.sendall(b"two")
        client.settimeout(0.5)
        with pytest.raises(TimeoutError):
            client.recv(3)
        proxy.restore()
        client.settimeout(5)
        assert client.recv(3) == b"two"
