"""Document bytes → plain text, per format. Errors say what is wrong in plain words,
because they end up in the task's error and the parked message's headers."""

from __future__ import annotations

import io
import re
import unicodedata
from pathlib import PurePosixPath

from bs4 import BeautifulSoup
from markdown_it import MarkdownIt
from pypdf import PdfReader
from pypdf.errors import PdfReadError, PyPdfError


class UnsupportedFormat(ValueError):
    pass


class CorruptDocument(ValueError):
    pass


SUPPORTED_TYPES: dict[str, str] = {
    "text/plain": "txt",
    "text/markdown": "md",
    "text/x-markdown": "md",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/pdf": "pdf",
}
SUFFIXES: dict[str, str] = {
    ".txt": "txt",
    ".text": "txt",
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
}
GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})


def detect_format(filename: str | None, content_type: str | None) -> str:
    """The content type decides; a generic or missing one defers to the file suffix."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media in SUPPORTED_TYPES:
        return SUPPORTED_TYPES[media]
    suffix = PurePosixPath(filename or "").suffix.lower()
    if media in GENERIC_TYPES and suffix in SUFFIXES:
        return SUFFIXES[suffix]
    given = media or "no content type"
    if filename:
        given += f", file {PurePosixPath(filename).name!r}"
    raise UnsupportedFormat(f"unsupported document type ({given}); use txt, md, html or pdf")


def parse(data: bytes, fmt: str) -> str:
    if fmt == "txt":
        return decode_text(data)
    if fmt == "md":
        return _markdown(decode_text(data))
    if fmt == "html":
        return html_to_text(decode_text(data))
    if fmt == "pdf":
        return _pdf(data)
    raise UnsupportedFormat(f"unsupported format {fmt!r}")


def decode_text(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")  # the usual legacy office encoding


_DROP = ("script", "style", "noscript", "template", "nav", "header", "footer", "aside", "svg")
_BLOCKS = (
    "p", "div", "section", "article", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6",
    "pre", "blockquote", "table", "ul", "ol", "dd", "dt",
)  # fmt: skip


def html_to_text(html: str) -> str:
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(_DROP):
        tag.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    if soup.title:
        soup.title.decompose()
    for tag in soup.find_all(_BLOCKS):
        # Block boundaries become paragraph breaks so chunking can respect them. Inside
        # the tag, not beside it: inserting siblings is quadratic in a parent's children.
        tag.insert(0, "\n\n")
        tag.append("\n\n")
    body = soup.get_text()
    return f"{title}\n\n{body}" if title and title not in body[:200] else body


_md = MarkdownIt("commonmark").enable("table")


def _markdown(text: str) -> str:
    return html_to_text(_md.render(text))


def _pdf(data: bytes) -> str:
    if not data.lstrip()[:5].startswith(b"%PDF-"):
        raise CorruptDocument("not a PDF file (no %PDF- header)")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise CorruptDocument("the PDF is encrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
    except CorruptDocument:
        raise
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise CorruptDocument(f"unreadable PDF: {exc}") from exc
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text:
        raise CorruptDocument("the PDF has no extractable text (scanned images?)")
    return text


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u3000]+")
_BLANKS = re.compile(r"\n\s*\n(\s*\n)+")


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()
