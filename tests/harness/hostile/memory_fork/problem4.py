"""Red team: softmax forks children that each touch a block of memory, then touches more itself:
every process stays under its own address-space limit, so only a bound on the whole worker (its
memory cgroup) can stop them. The kernel must kill inside this worker's own group — the largest
process, the worker itself — and the judge must say so, without any other worker noticing."""

import os
import time

import redteam

GiB = 2**30


def _touch(n):
    block = bytearray(n)
    for i in range(0, len(block), 4096):
        block[i] = 1
    return block


def softmax(x):
    redteam.guard()
    ready_r, ready_w = os.pipe()
    for _ in range(2):
        if os.fork() == 0:
            block = _touch(3 * GiB // 2)
            os.write(ready_w, b"+")  # this child holds its block now
            time.sleep(60)
            os._exit(len(block) and 0)
    for _ in range(2):
        os.read(ready_r, 1)
    held = _touch(4 * GiB)  # over the share only now, and the largest process of the group
    return [0.25] * len(x) + [len(held)]
