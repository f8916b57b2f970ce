"""Loopback listening sockets for the host's origins, bound before the servers start so a port
cannot be taken meanwhile; an API's on every loopback address it has a name on ({api_third}...)."""

from __future__ import annotations

import socket

from ..scenario.origins import API_EXTRA_HOSTS

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
    each of API_EXTRA_HOSTS ({api_third}, {api_fourth}, {api_fifth}), other loopback
    addresses; a port already taken on one is given up and another one tried."""
    for _ in range(attempts):
        sockets = [bind_socket()]
        port = sockets[0].getsockname()[1]
        try:
            for address in API_EXTRA_HOSTS:
                sockets.append(bind_socket(address, port))
            return sockets
        except OSError:
            for sock in sockets:
                sock.close()
    raise OSError(f"no port free on all of {BIND_ADDRESS}, {', '.join(API_EXTRA_HOSTS)}")
