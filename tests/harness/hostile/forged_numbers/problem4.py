"""Red team: softmax forges replies the judge must refuse as the student's failure, never as "not
graded" (which would cost the student nothing):

* a vector of length 4 → a reply holding a 401-digit integer (once an OverflowError in the judge);
* a vector of length 3 → a reply without its "ok" field;
* a vector of length 2 (or 5) → a reply whose "id" is a string.
"""

import json
import os

import numpy as np
import redteam


def softmax(x):
    rid = redteam.request_id()
    if len(x) == 4:
        header = '{"value": {"ok": true, "id": %d, "value": [%s, 1, 1, 1]}, "arrays": []}' % (rid, "9" * 401)
    elif len(x) == 3:
        header = json.dumps({"value": {"id": rid, "value": [0.3, 0.3, 0.4]}, "arrays": []})
    else:
        header = json.dumps({"value": {"ok": True, "id": str(rid), "value": [1.0] * len(x)}, "arrays": []})
    os.write(redteam.reply_fd(), redteam.frame(header.encode()))
    return np.zeros(len(x))
