from pathlib import Path

import pytest

from tradebus_knowledge import CorruptDocument, UnsupportedFormat, detect_format, normalize, parse

SAMPLES = Path(__file__).parents[3] / "samples" / "documents"


@pytest.mark.parametrize(
    ("filename", "content_type", "expected"),
    [
        ("a.pdf", "application/pdf", "pdf"),
        ("a.bin", "text/html; charset=utf-8", "html"),
        ("notes.MD", "application/octet-stream", "md"),
        ("notes.txt", None, "txt"),
        (None, "text/markdown", "md"),
    ],
)
def test_detect_format(filename, content_type, expected) -> None:
    assert detect_format(filename, content_type) == expected


def test_unsupported_types_are_refused_with_what_was_given() -> None:
    with pytest.raises(UnsupportedFormat, match="image/png"):
        detect_format("photo.png", "image/png")
    with pytest.raises(UnsupportedFormat, match=r"archive\.zip"):
        detect_format("archive.zip", None)


def test_html_drops_scripts_and_navigation_and_keeps_blocks() -> None:
    html = (
        "<html><head><title>Terms</title><script>var x=1;</script></head><body>"
        "<nav>Home | About</nav><h1>FOB</h1><p>Free on board.</p><p>Risk passes on board.</p>"
        "<footer>legal</footer></body></html>"
    )
    text = normalize(parse(html.encode(), "html"))
    assert text == "Terms\n\nFOB\n\nFree on board.\n\nRisk passes on board."


def test_markdown_keeps_text_and_loses_markup() -> None:
    text = normalize(parse(b"# Title\n\n- **bold** item\n- [link](http://x)\n", "md"))
    assert text == "Title\n\nbold item\n\nlink"


def test_text_decodes_utf8_bom_and_legacy_encodings() -> None:
    assert parse("\ufeffZoll €".encode(), "txt") == "Zoll €"
    assert parse("café".encode("cp1252"), "txt") == "café"


def test_normalize_collapses_whitespace_and_controls() -> None:
    assert normalize("a\u00a0\u00a0b\r\n\r\n\r\n\r\nc\x00d  ") == "a b\n\ncd"


def test_every_sample_parses_to_real_text() -> None:
    for path, fmt in [
        ("incoterms-2020-overview.md", "md"),
        ("supplier-onboarding-checklist.txt", "txt"),
        ("export-control-faq.html", "html"),
        ("letter-of-credit-guide.pdf", "pdf"),
    ]:
        text = normalize(parse((SAMPLES / path).read_bytes(), fmt))
        assert len(text.split()) > 300, path
    assert "UCP 600" in parse((SAMPLES / "letter-of-credit-guide.pdf").read_bytes(), "pdf")


def test_broken_pdfs_raise_corrupt_document() -> None:
    with pytest.raises(CorruptDocument, match="unreadable PDF"):
        parse((SAMPLES / "corrupt.pdf").read_bytes(), "pdf")
    with pytest.raises(CorruptDocument, match="not a PDF"):
        parse(b"hello", "pdf")
