"""Red team: softmax tries to reach the network — the judge's own listener on the loopback
address (which proves the worker has a network namespace of its own: outside it, this connection
would succeed), another loopback address, and a name that can never resolve (``.invalid``).

Only the loopback range and a reserved name are ever aimed at: a test never sends traffic beyond
this machine, even from inside a sandbox.
"""

import socket

import numpy as np
import redteam

PORT = int("@@PORT@@")


def _connect(host, port):
    with socket.create_connection((host, port), timeout=3) as s:
        s.sendall(b"softmax answers, please\n")
        return s.getpeername()


def softmax(x):
    redteam.attempt("connect 127.0.0.1 judge-side listener", lambda: _connect("127.0.0.1", PORT))
    redteam.attempt("connect 127.0.0.2 judge-side listener", lambda: _connect("127.0.0.2", PORT))
    redteam.attempt("resolve autograder-redteam.invalid", lambda: socket.getaddrinfo("autograder-redteam.invalid", 443))
    return np.zeros(len(x))
