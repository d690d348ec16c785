"""Generate the binary documents of the sample corpus from their text sources.

Each ``corpora/.sources/<folder>/<name>.<suffix>.yaml`` describes one document; this script
writes it to ``corpora/<folder>/<name>.<suffix>`` (DOCX, PPTX, XLSX, PDF or EML). Output is
byte-for-byte deterministic: fixed document properties, fixed zip entry dates and attributes,
ReportLab's invariant mode with uncompressed streams. Zip entries are deflated, so another zlib
build (zlib-ng, say) may compress differently: a zip whose entries hold the same bytes counts as
unchanged and is not rewritten.

Usage::

    python scripts/make_corpora.py            # (re)write the generated documents
    python scripts/make_corpora.py --check    # exit 1 if corpora/ differs from a fresh build
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT / "corpora"
SOURCES = ".sources"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
GENERATED_SUFFIXES = (".docx", ".pptx", ".xlsx", ".pdf", ".eml")
CREATOR = "docduet scripts/make_corpora.py"

Spec = Mapping[str, Any]


class SourceError(Exception):
    """A source file is malformed; the message names the file and what to fix."""


def _when(spec: Spec) -> dt.datetime:
    value = spec.get("date")
    if not isinstance(value, dt.datetime):
        raise SourceError(f"'date' must be a date and time like 2025-03-11T10:00:00, not {value!r}")
    return value


def _normalized_zip(data: bytes) -> bytes:
    """The same zip with fixed entry dates, attributes and compression level."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            dst.writestr(info, src.read(item.filename), compresslevel=9)
    return out.getvalue()


def _zip_entries(data: bytes) -> list[tuple[str, tuple[int, ...], int, bytes]] | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return [
                (i.filename, i.date_time, i.external_attr, archive.read(i))
                for i in archive.infolist()
            ]
    except zipfile.BadZipFile:
        return None


def same_document(a: bytes, b: bytes) -> bool:
    """Equal bytes, or zips with equal entries (names, dates, attributes, uncompressed bytes)."""
    if a == b:
        return True
    entries = _zip_entries(a)
    return entries is not None and entries == _zip_entries(b)


def _single(block: Mapping[str, Any]) -> tuple[str, Any]:
    if not isinstance(block, Mapping) or len(block) != 1:
        raise SourceError(f"each block must be a one-key mapping like {{p: text}}, got {block!r}")
    ((kind, value),) = block.items()
    return str(kind), value


def _table_rows(value: Any) -> list[list[str]]:
    if not isinstance(value, list) or not value or not all(isinstance(r, list) for r in value):
        raise SourceError(f"a table must be a list of rows (lists), got {value!r}")
    width = len(value[0])
    for row in value:
        if len(row) != width:
            raise SourceError(f"table row {row!r} has {len(row)} cells; the header has {width}")
    return [[str(cell) for cell in row] for row in value]


def build_docx(spec: Spec) -> bytes:
    """A Word document from ``blocks`` (h1, h2, p, bullets, numbered, table)."""
    import docx

    document = docx.Document()
    _core_properties(document.core_properties, spec)
    for block in spec["blocks"]:
        _docx_block(document, *_single(block))
    buffer = io.BytesIO()
    document.save(buffer)
    return _normalized_zip(buffer.getvalue())


def _core_properties(props: Any, spec: Spec) -> None:
    """Fixed core properties (python-docx and python-pptx share the interface)."""
    when = _when(spec)
    props.title = spec["title"]
    props.author = spec["author"]
    props.last_modified_by = spec["author"]
    props.subject = spec.get("subject", "")
    props.comments = CREATOR
    props.created = when
    props.modified = when
    props.last_printed = when
    props.revision = 1


def _docx_block(document: Any, kind: str, value: Any) -> None:
    if kind in ("h1", "h2", "h3"):
        document.add_heading(str(value), level=int(kind[1]))
    elif kind == "p":
        document.add_paragraph(str(value))
    elif kind in ("bullets", "numbered"):
        style = "List Bullet" if kind == "bullets" else "List Number"
        for item in value:
            document.add_paragraph(str(item), style=style)
    elif kind == "table":
        rows = _table_rows(value)
        table = document.add_table(rows=len(rows), cols=len(rows[0]), style="Table Grid")
        for cells, row in zip(table.rows, rows, strict=True):
            for cell, text in zip(cells.cells, row, strict=True):
                cell.text = text
        for cell in table.rows[0].cells:
            for run in cell.paragraphs[0].runs:
                run.bold = True
    else:
        raise SourceError(f"unknown block {kind!r}; use h1, h2, h3, p, bullets, numbered, table")


def build_pptx(spec: Spec) -> bytes:
    """A slide deck from ``slides`` (title, then subtitle or bullets, optional speaker notes)."""
    import pptx

    deck = pptx.Presentation()
    _core_properties(deck.core_properties, spec)
    for number, slide_spec in enumerate(spec["slides"], start=1):
        if "title" not in slide_spec:
            raise SourceError(f"slide {number} has no title")
        _add_slide(deck, slide_spec)
    buffer = io.BytesIO()
    deck.save(buffer)
    return _normalized_zip(buffer.getvalue())


def _add_slide(deck: Any, spec: Spec) -> None:
    bullets = [str(b) for b in spec.get("bullets", ())]
    layout = deck.slide_layouts[1 if bullets else 0]  # Title and Content / Title Slide
    slide = deck.slides.add_slide(layout)
    slide.shapes.title.text = str(spec["title"])
    body = slide.placeholders[1].text_frame
    if bullets:
        body.text = bullets[0]
        for text in bullets[1:]:
            body.add_paragraph().text = text
    else:
        body.text = str(spec.get("subtitle", ""))
    if spec.get("notes"):
        slide.notes_slide.notes_text_frame.text = str(spec["notes"])


def build_xlsx(spec: Spec) -> bytes:
    """A workbook from ``sheets`` (name, rows with the header first, optional column widths)."""
    import openpyxl
    from openpyxl.writer.excel import ExcelWriter

    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for sheet in spec["sheets"]:
        _add_sheet(workbook, sheet)
    when = _when(spec)
    props = workbook.properties
    props.title, props.subject = spec["title"], spec.get("subject", "")
    props.creator = props.lastModifiedBy = spec["author"]
    props.description = CREATOR
    props.created = props.modified = when
    buffer = io.BytesIO()
    # ExcelWriter directly: openpyxl's save_workbook() stamps the current time as "modified".
    with zipfile.ZipFile(buffer, "w") as archive:
        ExcelWriter(workbook, archive).save()
    return _normalized_zip(buffer.getvalue())


def _add_sheet(workbook: Any, sheet: Spec) -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    rows = sheet["rows"]
    width = len(rows[0])
    worksheet = workbook.create_sheet(str(sheet["name"]))
    for row in rows:
        if len(row) > width:
            raise SourceError(f"sheet {sheet['name']!r}: row {row!r} is wider than its header")
        worksheet.append(row)
    for cell in worksheet[1]:
        cell.font = Font(bold=True)
    for index, column_width in enumerate(sheet.get("widths", ()), start=1):
        worksheet.column_dimensions[get_column_letter(index)].width = column_width
    worksheet.freeze_panes = "A2"


def build_pdf(spec: Spec) -> bytes:
    """An A4 PDF from ``blocks``, in ReportLab's invariant mode without stream compression."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        title=spec["title"],
        author=spec["author"],
        subject=spec.get("subject", ""),
        creator=CREATOR,
        invariant=1,
        pageCompression=0,
    )
    story = [flowable for block in spec["blocks"] for flowable in _pdf_block(*_single(block))]
    footer = _pdf_footer(str(spec["title"]))
    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def _pdf_block(kind: str, value: Any) -> Iterator[Any]:
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import ListFlowable, ListItem, Paragraph

    styles = getSampleStyleSheet()
    if kind in ("h1", "h2", "h3"):
        yield Paragraph(escape(str(value)), styles[f"Heading{kind[1]}"])
    elif kind == "p":
        yield Paragraph(escape(str(value)), styles["BodyText"])
    elif kind in ("bullets", "numbered"):
        items = [ListItem(Paragraph(escape(str(v)), styles["BodyText"])) for v in value]
        yield ListFlowable(items, bulletType="bullet" if kind == "bullets" else "1")
    elif kind == "table":
        yield _pdf_table(_table_rows(value), styles["BodyText"])
    else:
        raise SourceError(f"unknown block {kind!r}; use h1, h2, h3, p, bullets, numbered, table")


def _pdf_table(rows: list[list[str]], style: Any) -> Any:
    from reportlab.lib import colors
    from reportlab.platypus import Paragraph, Table, TableStyle

    table = Table([[Paragraph(escape(c), style) for c in row] for row in rows], repeatRows=1)
    look = [("GRID", (0, 0), (-1, -1), 0.5, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP")]
    look.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E8EEF4")))
    table.setStyle(TableStyle(look))
    return table


def _pdf_footer(title: str) -> Callable[[Any, Any], None]:
    from reportlab.lib.units import mm

    def draw(canvas: Any, document: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.drawString(document.leftMargin, 12 * mm, f"Corvala Logistics Software · {title}")
        right = document.pagesize[0] - document.rightMargin
        canvas.drawRightString(right, 12 * mm, f"Page {document.page}")
        canvas.restoreState()

    return draw


def build_eml(spec: Spec) -> bytes:
    """An RFC 822 message (LF line endings) from ``headers`` and a plain-text ``body``."""
    message = EmailMessage(policy=policy.default)
    for name, value in spec["headers"].items():
        message[str(name)] = str(value)
    message.set_content(str(spec["body"]))
    return message.as_bytes(policy=policy.default.clone(linesep="\n"))


# --- driver --------------------------------------------------------------------------------------

BUILDERS: dict[str, Callable[[Spec], bytes]] = {
    "docx": build_docx,
    "pptx": build_pptx,
    "xlsx": build_xlsx,
    "pdf": build_pdf,
    "eml": build_eml,
}


def build_one(source: Path) -> bytes:
    """The bytes of the document described by ``source``; :class:`SourceError` names the file."""
    try:
        spec = yaml.safe_load(source.read_text(encoding="utf-8"))
        kind = spec.get("kind") if isinstance(spec, dict) else None
        if kind not in BUILDERS:
            raise SourceError(f"'kind' must be one of {', '.join(BUILDERS)}, got {kind!r}")
        if not source.name.endswith(f".{kind}.yaml"):
            raise SourceError(f"kind {kind!r} does not match the name; call it <name>.{kind}.yaml")
        return BUILDERS[kind](spec)
    except (SourceError, KeyError, TypeError, ValueError, yaml.YAMLError) as e:
        raise SourceError(f"{source}: {type(e).__name__}: {e}") from e


def build_all(corpus: Path) -> dict[Path, bytes]:
    """Every generated document, keyed by its path relative to ``corpus``."""
    sources = corpus / SOURCES
    outputs: dict[Path, bytes] = {}
    for source in sorted(sources.rglob("*.yaml")):
        relative = source.relative_to(sources)
        outputs[relative.with_name(relative.name.removesuffix(".yaml"))] = build_one(source)
    return outputs


def write_all(outputs: Mapping[Path, bytes], target: Path) -> list[Path]:
    """Write ``outputs`` under ``target``, touching only files whose bytes change."""
    changed = []
    for relative, data in outputs.items():
        path = target / relative
        if path.is_file() and same_document(path.read_bytes(), data):
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        changed.append(relative)
    return changed


def differences(corpus: Path) -> list[str]:
    """Problems that a fresh build into a temporary folder reveals in ``corpus``."""
    with tempfile.TemporaryDirectory(prefix="docduet-corpora-") as tmp:
        fresh = Path(tmp)
        write_all(build_all(corpus), fresh)
        expected = {p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file()}
        problems = []
        for relative in sorted(expected):
            path = corpus / relative
            if not path.is_file():
                problems.append(f"missing: {relative}")
            elif not same_document(path.read_bytes(), (fresh / relative).read_bytes()):
                problems.append(f"differs: {relative}")
    for path in sorted(corpus.rglob("*")):
        relative = path.relative_to(corpus)
        hidden = any(part.startswith(".") for part in relative.parts)  # .sources/ included
        if hidden or path.suffix.lower() not in GENERATED_SUFFIXES:
            continue
        if relative not in expected:
            problems.append(f"no source in {SOURCES}/: {relative}")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="default: %(default)s")
    parser.add_argument(
        "--check", action="store_true", help="build into a temporary folder; exit 1 on differences"
    )
    args = parser.parse_args(argv)
    try:
        if args.check:
            problems = differences(args.corpus)
            for problem in problems:
                print(problem, file=sys.stderr)
            if problems:
                print("run: python scripts/make_corpora.py, then commit corpora/", file=sys.stderr)
            return 1 if problems else 0
        changed = write_all(build_all(args.corpus), args.corpus)
    except SourceError as e:
        print(f"make_corpora: {e}", file=sys.stderr)
        return 2
    for relative in changed:
        print(f"wrote {args.corpus / relative}")
    print(f"{len(changed)} file(s) changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
