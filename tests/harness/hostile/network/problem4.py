"""Red team: softmax tries to reach the network (the judge's machine and the outside world)."""

import socket

import numpy as np
import redteam

PORT = int("@@PORT@@")


def _connect(host, port):
    with socket.create_connection((host, port), timeout=3) as s:
        s.sendall(b"softmax answers, please\n")
        return s.getpeername()


def _udp(host, port):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        return s.sendto(b"\0" * 32, (host, port))


def softmax(x):
    redteam.attempt("connect 127.0.0.1 judge-side listener", lambda: _connect("127.0.0.1", PORT))
    redteam.attempt("connect 1.1.1.1:443", lambda: _connect("1.1.1.1", 443))
    redteam.attempt("udp 8.8.8.8:53", lambda: _udp("8.8.8.8", 53))
    redteam.attempt("resolve pypi.org", lambda: socket.getaddrinfo("pypi.org", 443))
    return np.zeros(len(x))
