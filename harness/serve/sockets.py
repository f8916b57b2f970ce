"""Loopback listening sockets for the host's origins, bound before the servers start so a port
cannot be taken meanwhile; an API's on two loopback addresses ({api_third})."""

from __future__ import annotations

import socket

from ..scenario.origins import API_THIRD_HOST

BIND_ADDRESS = "127.0.0.1"


def bind_socket(address: str = BIND_ADDRESS, port: int = 0) -> socket.socket:
    """A loopback socket on a free port (or `port`), bound now so the port cannot be taken
    meanwhile."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this on Linux. Without it, uvicorn's separate header and
    # body writes meet the client's delayed ACK: ~40 ms per response (bench/engines.py).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((address, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def bind_api_sockets(attempts: int = 20) -> list[socket.socket]:
    """An API's sockets: a free port on 127.0.0.1 ({api}, {api_other}) and the same port on
    API_THIRD_HOST ({api_third}), another loopback address; a port already taken there is
    given up and another one tried."""
    for _ in range(attempts):
        first = bind_socket()
        try:
            return [first, bind_socket(API_THIRD_HOST, first.getsockname()[1])]
        except OSError:
            first.close()
    raise OSError(f"no port free on both {BIND_ADDRESS} and {API_THIRD_HOST}")
