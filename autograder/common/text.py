"""Student text made safe to carry: what enters the results from a student's files can always be
written as UTF-8.

Python decodes a file name that is not UTF-8 with lone surrogates (``surrogateescape``), and a
notebook's JSON may spell one outright (``"\\udcff"``); either would make a strict UTF-8 writer of
results.json fail far from where it came in. Text read from a submission passes through here
where it is read.
"""

from __future__ import annotations

REPLACEMENT = "\ufffd"


def no_lone_surrogates(text: str) -> str:
    """``text`` with every lone surrogate (U+D800…U+DFFF) replaced by U+FFFD; linear, and a no-op
    (the same object) for text that has none."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join(REPLACEMENT if "\ud800" <= ch <= "\udfff" else ch for ch in text)
    return text
