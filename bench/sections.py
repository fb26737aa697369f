"""bench/RESULTS.md is written by several benchmarks: each owns one section between markers.

``replace_section(path, "bench", text)`` puts ``text`` between ``<!-- bench: begin -->`` and
``<!-- bench: end -->``, in place when the markers are there, else at the end; every other part
of the file is kept as it was.
"""

from __future__ import annotations

from pathlib import Path


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}: begin -->", f"<!-- {name}: end -->"


def replace_section(path: Path, name: str, text: str, *, before: str | None = None) -> None:
    """Write ``text`` as the section ``name`` of ``path``, keeping the rest. A new section goes
    before the section ``before`` when that one is there, else at the end."""
    begin, end = markers(name)
    section = f"{begin}\n{text.strip()}\n{end}"
    old = path.read_text() if path.exists() else ""
    if begin in old and end in old and old.index(begin) < old.index(end):
        head, rest = old.split(begin, 1)
        tail = rest.split(end, 1)[1]
        new = head + section + tail
    elif before is not None and markers(before)[0] in old:
        head, tail = old.split(markers(before)[0], 1)
        new = head + section + "\n\n" + markers(before)[0] + tail
    else:
        new = (old.rstrip() + "\n\n" if old.strip() else "") + section + "\n"
    path.write_text(new)
