"""The student's report.md, split into sections tied to the problems their headings name.

The Markdown is parsed by markdown-it-py (CommonMark, tables on, raw HTML off) into its token
stream, which is turned here into plain data — blocks of text spans, code, lists, tables — for the
templates to draw with autoescaping. No HTML is produced in Python: a student's ``<script>`` or
``[x](javascript:…)`` is text on the page, and links are shown as their text and address, never
as anchors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.token import Token

from autograder.common.contract import BY_MODULE
from autograder.common.headings import read_heading

_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")


@dataclass
class Span:
    """A run of inline text and how it is set: ``text``, ``code``, ``strong`` or ``em``."""

    kind: str
    text: str


@dataclass
class Block:
    """One block of a section."""

    kind: str
    """``heading``, ``text`` (a paragraph), ``code``, ``list``, ``quote``, ``table`` or ``rule``."""
    text: str = ""
    """The block's plain text (a paragraph's line breaks kept)."""
    spans: list[Span] = field(default_factory=list)
    """A heading's, paragraph's or quote's inline content."""
    rows: list[list[list[Span]]] = field(default_factory=list)
    """A list's items (one cell each) or a table's rows of cells, header row first."""
    ordered: bool = False


@dataclass
class AnswerSection:
    heading: str
    problem: str | None
    blocks: list[Block]


def problem_of_heading(heading: str) -> str | None:
    """The contract module a report.md heading names ("3-(1)" → problem3_1, "1-(4)" → problem1,
    "문제 3 (2)" → problem3_2, "Part 2: problem 4" → problem4), as a notebook's heading is read
    (`autograder.common.headings`); "3" alone names no module."""
    found = read_heading(heading)
    module = found.module if found is not None else None
    return module if module in BY_MODULE else None


def spans(inline: Token | None) -> list[Span]:
    """An inline token's children as spans: emphasis flattened to its innermost kind, a link as its
    text followed by its address, an image as its description."""
    out: list[Span] = []
    marks: list[str] = []

    def add(kind: str, text: str) -> None:
        if out and out[-1].kind == kind:
            out[-1].text += text
        elif text:
            out.append(Span(kind, text))

    links: list[str] = []
    children = (inline.children or []) if inline is not None else []
    for t in children:
        if t.type in ("strong_open", "em_open"):
            marks.append(t.type.removesuffix("_open"))
        elif t.type in ("strong_close", "em_close") and marks:
            marks.pop()
        elif t.type == "link_open":
            links.append(str(t.attrGet("href") or ""))
        elif t.type == "link_close" and links:
            href = links.pop()
            add("text", f" ({href})" if href else "")
        elif t.type == "code_inline":
            add("code", t.content)
        elif t.type in ("softbreak", "hardbreak"):
            add(marks[-1] if marks else "text", "\n")
        elif t.type == "image":
            add("text", t.content)
        else:  # text, and raw HTML (off: it arrives as text)
            add(marks[-1] if marks else "text", t.content)
    return out


def _plain(items: list[Span]) -> str:
    return "".join(s.text for s in items)


def _blocks(tokens: list[Token]) -> list[Block]:
    """The blocks of one section's tokens (nesting flattened: a list's items are text cells)."""
    blocks: list[Block] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t.type == "heading_open":
            inline = spans(tokens[i + 1])
            blocks.append(Block("heading", _plain(inline).strip(), inline))
            i += 3
        elif t.type == "paragraph_open":
            inline = spans(tokens[i + 1])
            blocks.append(Block("text", _plain(inline), inline))
            i += 3
        elif t.type in ("fence", "code_block"):
            blocks.append(Block("code", t.content.rstrip("\n")))
            i += 1
        elif t.type == "hr":
            blocks.append(Block("rule"))
            i += 1
        elif t.type in ("bullet_list_open", "ordered_list_open", "blockquote_open", "table_open"):
            close = t.type.replace("_open", "_close")
            depth, j = 0, i
            while j < len(tokens):
                if tokens[j].type == t.type:
                    depth += 1
                elif tokens[j].type == close:
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            inner = tokens[i + 1:j]
            if t.type == "blockquote_open":
                quoted = [s for b in _blocks(inner) for s in (b.spans or [Span("text", b.text)])]
                blocks.append(Block("quote", _plain(quoted), quoted))
            elif t.type == "table_open":
                rows, row = [], []
                for x in inner:
                    if x.type == "tr_open":
                        row = []
                    elif x.type == "inline":
                        row.append(spans(x))
                    elif x.type == "tr_close":
                        rows.append(row)
                blocks.append(Block("table", "", [], rows))
            else:
                cells = [spans(x) for x in inner if x.type == "inline"]  # nested items flattened
                blocks.append(Block("list", "", [], [[c] for c in cells], ordered=t.type.startswith("ordered")))
            i = j + 1
        else:
            i += 1
    return blocks


def answer_sections(report_md: str) -> list[AnswerSection]:
    """report.md split at its ``## `` headings (never inside code), each tied to a problem if named."""
    tokens = _MARKDOWN.parse(report_md)
    sections: list[tuple[str, list[Token]]] = [("", [])]
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t.type == "heading_open" and t.tag == "h2":
            sections.append((_plain(spans(tokens[i + 1])).strip(), []))
            i += 3
            continue
        sections[-1][1].append(t)
        i += 1
    out = []
    for heading, toks in sections:
        blocks = _blocks(toks)
        if heading or blocks:
            out.append(AnswerSection(heading, problem_of_heading(heading) if heading else None, blocks))
    return out
