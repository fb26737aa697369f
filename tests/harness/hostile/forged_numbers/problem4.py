"""Red team: softmax forges replies the judge must refuse as the student's failure, never as "not
graded" (which would cost the student nothing):

* a vector of length 4 → a reply holding a 401-digit integer (once an OverflowError in the judge);
* a vector of length 3 → a reply without its "ok" field;
* a vector of length 2 (or 5) → a reply whose "id" is a string.
"""

import json
import os
import struct
import sys

import numpy as np


def _frame(header):
    return b"AGW1" + struct.pack(">IQ", len(header), 0) + header


def _request_id():
    frame = sys._getframe(1)
    while frame is not None:
        for value in frame.f_locals.values():
            if type(value) is dict and "probe" in value and "id" in value:
                return value["id"]
        frame = frame.f_back
    return None


def softmax(x):
    rid = _request_id()
    if len(x) == 4:
        header = '{"value": {"ok": true, "id": %d, "value": [%s, 1, 1, 1]}, "arrays": []}' % (rid, "9" * 401)
    elif len(x) == 3:
        header = json.dumps({"value": {"id": rid, "value": [0.3, 0.3, 0.4]}, "arrays": []})
    else:
        header = json.dumps({"value": {"ok": True, "id": str(rid), "value": [1.0] * len(x)}, "arrays": []})
    os.write(4, _frame(header.encode()))
    return np.zeros(len(x))
