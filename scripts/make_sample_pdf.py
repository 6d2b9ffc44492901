"""Write a plain-text PDF (Helvetica, wrapped lines, several pages) from a text file.

    python scripts/make_sample_pdf.py samples/src.txt samples/out.pdf "Title"

Used once to produce the sample PDFs committed under samples/; kept so they can be
regenerated. Hand-written PDF syntax: no PDF-writing dependency for one fixture."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

LINES_PER_PAGE = 48


def _escape(line: str) -> str:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def build(text: str, title: str) -> bytes:
    lines: list[str] = [title, ""]
    for paragraph in text.split("\n\n"):
        lines.extend(textwrap.wrap(" ".join(paragraph.split()), 90) or [""])
        lines.append("")
    pages = [lines[i : i + LINES_PER_PAGE] for i in range(0, len(lines), LINES_PER_PAGE)]
    objects: list[bytes] = []
    page_ids = [4 + 2 * i for i in range(len(pages))]
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = " ".join(f"{p} 0 R" for p in page_ids)
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, page in enumerate(pages):
        content = (
            "BT /F1 10 Tf 14 TL 50 800 Td "
            + " ".join(f"({_escape(line)}) '" for line in page)
            + " ET"
        )
        stream = content.encode("latin-1", errors="replace")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {page_ids[i] + 1} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


if __name__ == "__main__":
    source, target, title = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    target.write_bytes(build(source.read_text(), title))
