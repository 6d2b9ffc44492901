"""The limits a document's parse runs under, and the failures they produce.

A parse runs in a child process (adapters/sandbox.py) because the parsers are not ours:
a crafted document (a few MB of `<p>` tags, a PDF claiming a million pages) can take
gigabytes or minutes. What the limits mean is decided here; the sandbox enforces them."""

from __future__ import annotations

from dataclasses import dataclass

# Failure codes of a parse (the task's `error.code`); all permanent: the same document
# fails the same way again.
TOO_COMPLEX = "too_complex"  # memory limit hit, too many pages, too much text or chunks
TIMEOUT = "timeout"  # the time limit (wall clock or CPU) ran out
PARSER_CRASHED = "parser_crashed"  # the child died without an answer (e.g. a segfault)
CORRUPT = "corrupt_document"
UNSUPPORTED = "unsupported_format"
EMPTY = "empty_document"


class Unprocessable(Exception):
    """The document cannot be turned into chunks; `code` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class ParseLimits:
    timeout_seconds: float  # wall clock for one document's parse and chunking
    memory_mb: int  # address space the parse may add to the interpreter it starts in
    max_pages: int  # PDFs with more pages are refused before any is read
    max_text_chars: int  # normalised text longer than this is refused, not truncated
    # HTML (and Markdown once rendered) with more tags than this is refused before the
    # tree is built: a tree costs ~1 KB a tag, so 3 MB of `<p>` would need gigabytes.
    max_markup_tags: int = 250_000

    def check_markup(self, html: str) -> None:
        tags = html.count("<")  # an upper bound on the tags, found in milliseconds
        if tags > self.max_markup_tags:
            raise Unprocessable(
                TOO_COMPLEX, f"the document has about {tags} tags, more than {self.max_markup_tags}"
            )

    def check_length(self, chars: int) -> None:
        if chars > self.max_text_chars:
            raise Unprocessable(
                TOO_COMPLEX,
                f"the document has more than {self.max_text_chars} characters of text",
            )

    def check_pages(self, pages: int) -> None:
        if pages > self.max_pages:
            raise Unprocessable(
                TOO_COMPLEX, f"the PDF has {pages} pages, more than {self.max_pages}"
            )
