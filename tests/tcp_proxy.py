"""A TCP proxy a test starts in front of PostgreSQL or Redis, to freeze or cut that dependency
without touching the machine's shared services.

- forwarding (the start state): bytes pass both ways;
- `freeze()`: nothing passes any more, but every socket stays open and new connections are
  still accepted: the dependency looks alive and never answers (a frozen host, a lost route);
- `cut()`: every connection is closed and new ones are refused (a dead service);
- `restore()`: forwarding again, on the same port.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from types import TracebackType

POLL_SECONDS = 0.05


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._lock = threading.Lock()
        self._frozen = threading.Event()
        self._stopped = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._listener = self._listen(0)
        self.port: int = self._listener.getsockname()[1]
        self._acceptor = self._start_acceptor()

    # --- what a test does -------------------------------------------------------------------

    def url_for(self, url: str) -> str:
        """`url` with its host:port replaced by the proxy's (the first `host:port` after `@`
        or `//`)."""
        host, port = self.target
        for before in ("@", "//"):
            old = f"{before}{host}:{port}"
            if old in url:
                return url.replace(old, f"{before}127.0.0.1:{self.port}", 1)
        raise ValueError(f"{host}:{port} is not in the URL")

    def freeze(self) -> None:
        self._frozen.set()

    def cut(self) -> None:
        """Close every connection and the listening socket: connecting is refused."""
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._sockets = self._sockets, set()
        if listener is not None:
            listener.close()
        for sock in sockets:
            _close(sock)
        self._acceptor.join(timeout=2)

    def restore(self) -> None:
        self._frozen.clear()
        with self._lock:
            relisten = self._listener is None
            if relisten:
                self._listener = self._listen(self.port)
        if relisten:
            self._acceptor = self._start_acceptor()

    def close(self) -> None:
        self._stopped.set()
        self._frozen.clear()
        self.cut()

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    # --- the machinery ----------------------------------------------------------------------

    @staticmethod
    def _listen(port: int) -> socket.socket:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(128)
        listener.settimeout(POLL_SECONDS)
        return listener

    def _start_acceptor(self) -> threading.Thread:
        thread = threading.Thread(target=self._accept, args=(self._listener,), daemon=True)
        thread.start()
        return thread

    def _accept(self, listener: socket.socket) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:  # closed by cut()
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            with self._lock:
                if self._listener is not listener:
                    _close(client)
                    _close(upstream)
                    return
                self._sockets.update((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        peers = {client: upstream, upstream: client}
        # A selector, not select.select(): late in a long test session the process holds more
        # than 1,024 descriptors, and select() refuses those (ValueError), which closed every
        # proxied connection at once.
        selector = selectors.DefaultSelector()
        try:
            for sock in peers:
                selector.register(sock, selectors.EVENT_READ)
            while not self._stopped.is_set():
                if self._frozen.is_set():
                    self._stopped.wait(POLL_SECONDS)
                    continue
                with self._lock:
                    if client not in self._sockets:
                        return
                for key, _ in selector.select(POLL_SECONDS):
                    if self._frozen.is_set():
                        break
                    data = key.fileobj.recv(65536)
                    if not data:
                        return
                    peers[key.fileobj].sendall(data)
        except (OSError, ValueError):
            return
        finally:
            selector.close()
            with self._lock:
                self._sockets.difference_update((client, upstream))
            _close(client)
            _close(upstream)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
