"""Running an HTTP server on a background thread: the part the sandbox and the postback
receiver share.

It owns the thread, the base URL (IPv6 hosts bracketed) and an orderly shutdown; each server
keeps its own handlers, stores and what else it starts.
"""

from __future__ import annotations

import threading
from http.server import HTTPServer


class ServerThread:
    """Serve ``server`` on a daemon thread until :meth:`stop`."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        host, port = str(server.server_address[0]), server.server_address[1]
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{port}"
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting, let requests in flight finish, close the socket, join the thread."""
        self.server.shutdown()
        close_connections = getattr(self.server, "close_connections", None)
        if callable(close_connections):
            close_connections()
        self.server.server_close()
        self._thread.join()
