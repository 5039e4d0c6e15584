"""The connections to a remote store: queries reuse one per thread, writes never do."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kg.store.remote import RemoteStore

_ASK_TRUE = json.dumps({"head": {}, "boolean": True}).encode()


class _Server(ThreadingHTTPServer):
    """An HTTP/1.1 server that answers every query ``true`` and counts connections;
    ``close_after`` answers end with closing the connection (as a server does with an
    idle one)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.connections, self.requests, self.close_after = 0, [], False
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/query"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.connections += 1

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        closing = self.server.close_after  # as the request came: the test sets it between two
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests.append((self.command, self.headers["Content-Type"], body))
        answer = b"" if self.headers["Content-Type"] == "application/sparql-update" else _ASK_TRUE
        self.send_response(200 if answer else 204)
        self.send_header("Content-Type", "application/sparql-results+json")
        self.send_header("Content-Length", str(len(answer)))
        self.send_header("Server", "test")
        self.end_headers()
        self.wfile.write(answer)
        if closing:
            self.close_connection = True

    def log_message(self, *args) -> None:
        """Quiet."""


@pytest.fixture
def server():
    server = _Server()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=30)


def _store(server: _Server) -> RemoteStore:
    """A store that has asked the server which it is (a query of its own) before the test's."""
    store = RemoteStore(server.url)
    assert store.dialect is not None
    store.close()
    server.connections, server.requests = 0, []
    return store


def test_queries_of_one_thread_share_one_connection(server):
    store = _store(server)
    for _ in range(5):
        assert bool(store.query("ASK {}")) is True
    store.close()
    assert len(server.requests) == 5
    assert server.connections == 1


def test_a_query_on_a_connection_the_server_closed_is_sent_again_on_a_new_one(server):
    store = _store(server)
    assert bool(store.query("ASK {}")) is True
    server.close_after = True  # the next answer ends with the server closing the connection
    assert bool(store.query("ASK {}")) is True
    server.close_after = False
    assert bool(store.query("ASK {}")) is True  # the kept connection is dead: retried
    store.close()
    assert len(server.requests) == 3
    assert server.connections == 2


def test_an_answer_not_read_to_the_end_does_not_leave_its_connection_for_the_next(server):
    store = _store(server)
    reply = store.send("ASK {}", "application/sparql-results+json")
    assert reply.read(1) == b"{"
    reply.close()  # a client that left: the rest is unread on that connection
    assert bool(store.query("ASK {}")) is True
    store.close()
    assert len(server.requests) == 2
    assert server.connections == 2


def test_updates_never_reuse_a_connection(server):
    store = RemoteStore(server.url)
    store.update("INSERT DATA { <http://example.org/s> <http://example.org/p> 1 }")
    store.update("INSERT DATA { <http://example.org/s> <http://example.org/p> 2 }")
    store.close()
    assert [kind for _, kind, _ in server.requests] == ["application/sparql-update"] * 2
    assert server.connections == 2
