"""Student text made safe to carry: what enters the results from a student's files or code can
always be written as UTF-8, and shows as what it is.

Python decodes a file name that is not UTF-8 with lone surrogates (``surrogateescape``), a notebook's
JSON or a worker's reply may spell one outright (``"\\udcff"``), and an exception message may hold
any character at all; a lone surrogate makes a strict UTF-8 writer of results.json fail far from
where it came in, and control or bidirectional-override characters (U+202E turns ``gpj.exe`` into
``exe.jpg`` on screen) make a name or a message show as something it is not. Text read from a
submission or a worker passes through here where it enters. Every function is linear in its input
(one character class, no backtracking).
"""

from __future__ import annotations

import re
from typing import Any

REPLACEMENT = "\ufffd"

_SURROGATE = re.compile("[\ud800-\udfff]")
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE_TEXT = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI}\ud800-\udfff]|\r\n?")
"""What a multi-line text may not hold: C0 and C1 controls other than tab and newline, DEL,
bidirectional controls, lone surrogates; carriage returns become newlines."""
_UNSAFE_NAME = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}\ud800-\udfff]")
"""What a one-line name may not hold: every control character (tabs and newlines too)."""


def no_lone_surrogates(text: str) -> str:
    """``text`` with every lone surrogate (U+D800…U+DFFF) replaced by U+FFFD; a no-op (the same
    object) for text that has none."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub(REPLACEMENT, text)
    return text


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    if ch.startswith("\r"):
        return "\n"
    if "\ud800" <= ch <= "\udfff":
        return REPLACEMENT
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_text(text: str) -> str:
    """Multi-line student text (a message, a traceback, printed output): lone surrogates as U+FFFD,
    carriage returns as newlines, other control and bidirectional characters shown escaped
    (``\\x1b``, ``\\u202e``); text with none of them is returned as it is."""
    if _UNSAFE_TEXT.search(text) is None:
        return text
    return _UNSAFE_TEXT.sub(_escape, text)


def safe_name(name: str) -> str:
    """A one-line name (a file, a heading) as `safe_text`, with tabs and newlines escaped too."""
    if _UNSAFE_NAME.search(name) is None:
        return name
    return _UNSAFE_NAME.sub(_escape, name)


def has_unsafe_name_chars(name: str) -> bool:
    """Whether ``name`` holds a control or bidirectional character or a lone surrogate."""
    return _UNSAFE_NAME.search(name) is not None


def writable(value: Any) -> Any:
    """Plain data (JSON-like) with every string, keys included, freed of lone surrogates: what any
    strict UTF-8 writer can write. (Control and bidirectional characters were made safe where the
    text entered, and JSON escapes them anyway.)"""
    if isinstance(value, str):
        return no_lone_surrogates(value)
    if isinstance(value, dict):
        return {no_lone_surrogates(k) if isinstance(k, str) else k: writable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [writable(v) for v in value]
    return value


def ascii_only(text: str) -> str:
    """``text`` with everything outside ASCII written as Python escapes: a last resort that cannot fail."""
    return text.encode("ascii", "backslashreplace").decode("ascii")
