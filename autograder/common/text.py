"""Student text made safe to carry: what enters the results from a student's files or code can
always be written as UTF-8, and shows as what it is.

Python decodes a file name that is not UTF-8 with lone surrogates (``surrogateescape``), a notebook's
JSON or a worker's reply may spell one outright (``"\\udcff"``), and an exception message may hold
any character at all; a lone surrogate makes a strict UTF-8 writer of results.json fail far from
where it came in, and control or bidirectional-override characters (U+202E turns ``gpj.exe`` into
``exe.jpg`` on screen) make a name or a message show as something it is not. Text read from a
submission or a worker passes through here where it enters. Every function is linear in its input
(``str.translate`` over a table; no regular expression).
"""

from __future__ import annotations

from typing import Any

REPLACEMENT = "\ufffd"

_SURROGATES = range(0xD800, 0xE000)
_BIDI = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
_CONTROLS = (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0))


def _escape(code: int) -> str:
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


_NAME_TABLE: dict[int, str] = {
    **{c: _escape(c) for c in (*_CONTROLS, *_BIDI)}, **{c: REPLACEMENT for c in _SURROGATES}}
"""What a one-line name may not hold: every control character (tabs and newlines too),
bidirectional controls, lone surrogates."""
_TEXT_TABLE: dict[int, str] = {**_NAME_TABLE, ord("\t"): "\t", ord("\n"): "\n", ord("\r"): "\n"}
"""What a multi-line text may not hold: the same, less tab and newline; a carriage return becomes a
newline."""


def no_lone_surrogates(text: str) -> str:
    """``text`` with every lone surrogate (U+D800…U+DFFF) replaced by U+FFFD; a no-op (the same
    object) for text that has none."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join(REPLACEMENT if "\ud800" <= ch <= "\udfff" else ch for ch in text)
    return text


def safe_text(text: str) -> str:
    """Multi-line student text (a message, a traceback, printed output): lone surrogates as U+FFFD,
    carriage returns as newlines, other control and bidirectional characters shown escaped
    (``\\x1b``, ``\\u202e``)."""
    return text.replace("\r\n", "\n").translate(_TEXT_TABLE)


def safe_name(name: str) -> str:
    """A one-line name (a file, a heading) as `safe_text`, with tabs and newlines escaped too."""
    return name.translate(_NAME_TABLE)


def has_unsafe_name_chars(name: str) -> bool:
    """Whether ``name`` holds a control or bidirectional character or a lone surrogate."""
    return name.translate(_NAME_TABLE) != name


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
