"""Red team: softmax writes forged replies straight into the worker's reply pipe (fd 4).

* a vector of length 2 → a well-formed frame, with the id of the request it answers (found in the
  worker's stack), whose value is a ``__reduce__``-style payload claiming success;
* a vector of length 3 → a well-formed frame, with the right id, whose value is nested 500 lists
  deep (which once made the judge's own code fail, turning the student's zero into "not graded");
* anything else → a frame whose header is a pickle that, if unpickled, would create a file in the
  judge's /tmp (the red-team test checks that it never appears).
"""

import json
import os
import pickle
import struct
import sys

import numpy as np

SENTINEL = "@@SENTINEL@@"


class Payload:
    def __reduce__(self):
        return (os.system, (f"touch /tmp/{SENTINEL}",))


def _frame(header):
    return b"AGW1" + struct.pack(">IQ", len(header), 0) + header


def _request_id():
    """The id of the request being answered: any dict on the stack holding "probe" and "id"."""
    frame = sys._getframe(1)
    while frame is not None:
        for value in frame.f_locals.values():
            if type(value) is dict and "probe" in value and "id" in value:
                return value["id"]
        frame = frame.f_back
    return None


def softmax(x):
    if len(x) == 2:
        value = {"__reduce__": ["os.system", f"touch /tmp/{SENTINEL}"], "passed": True}
        reply = {"ok": True, "value": value, "id": _request_id(), "seconds": 0.0}
        os.write(4, _frame(json.dumps({"value": reply, "arrays": []}).encode()))
    elif len(x) == 3:
        deep = "[" * 500 + "]" * 500
        header = '{"value": {"ok": true, "id": %d, "value": %s}, "arrays": []}' % (_request_id(), deep)
        os.write(4, _frame(header.encode()))
    else:
        os.write(4, _frame(pickle.dumps(Payload(), protocol=0)))
    return np.zeros(len(x))
