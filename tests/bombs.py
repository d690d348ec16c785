"""Expansion bombs for tests: small files that parse into far more text than their size.

Each is a real OOXML package (python-docx and openpyxl open them), written straight as XML so
that even a million repeats take a fraction of a second to build; deflate shrinks the repeats
about a thousandfold.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>{overrides}</Types>'
)
_OFFICE = "application/vnd.openxmlformats-officedocument"
_OVERRIDE = '<Override PartName="/{part}" ContentType="' + _OFFICE + '.{kind}"/>'
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}</Relationships>'
)
_REL_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_REL = '<Relationship Id="rId{n}" Type="' + _REL_TYPE + '/{kind}" Target="{target}"/>'
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_S = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_R = _REL_TYPE


def _package(parts: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as package:
        for name, text in parts.items():
            package.writestr(name, text)
    return buffer.getvalue()


def docx_bomb(paragraphs: int, text: str = "All work and no play makes Jack a dull boy. ") -> bytes:
    """A DOCX of ``paragraphs`` copies of one paragraph (``len(text)`` characters each)."""
    body = f"<w:p><w:r><w:t>{text.strip()}</w:t></w:r></w:p>" * paragraphs
    override = _OVERRIDE.format(part="word/document.xml", kind="wordprocessingml.document.main+xml")
    return _package(
        {
            "[Content_Types].xml": _CONTENT_TYPES.format(overrides=override),
            "_rels/.rels": _RELS.format(
                rels=_REL.format(n=1, kind="officeDocument", target="word/document.xml")
            ),
            "word/document.xml": f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<w:document xmlns:w="{_W}"><w:body>{body}</w:body></w:document>',
        }
    )


def xlsx_bomb(rows: int, columns: int = 10, text: str = "x" * 200) -> bytes:
    """An XLSX of ``rows`` × ``columns`` cells that all show one shared string, ``text``."""
    row = "<row>" + '<c t="s"><v>0</v></c>' * columns + "</row>"  # no references: they are optional
    sheet = row * rows
    overrides = _OVERRIDE.format(
        part="xl/workbook.xml", kind="spreadsheetml.sheet.main+xml"
    ) + _OVERRIDE.format(part="xl/worksheets/sheet1.xml", kind="spreadsheetml.worksheet+xml")
    overrides += _OVERRIDE.format(part="xl/sharedStrings.xml", kind="spreadsheetml.sharedStrings+xml")
    return _package(
        {
            "[Content_Types].xml": _CONTENT_TYPES.format(overrides=overrides),
            "_rels/.rels": _RELS.format(
                rels=_REL.format(n=1, kind="officeDocument", target="xl/workbook.xml")
            ),
            "xl/workbook.xml": f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<workbook xmlns="{_S}" xmlns:r="{_R}"><sheets>'
            '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
            "xl/_rels/workbook.xml.rels": _RELS.format(
                rels=_REL.format(n=1, kind="worksheet", target="worksheets/sheet1.xml")
                + _REL.format(n=2, kind="sharedStrings", target="sharedStrings.xml")
            ),
            "xl/sharedStrings.xml": f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<sst xmlns="{_S}" count="1" uniqueCount="1"><si><t>{text}</t></si></sst>',
            "xl/worksheets/sheet1.xml": f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<worksheet xmlns="{_S}"><sheetData>{sheet}</sheetData></worksheet>',
        }
    )


def write(path: Path, data: bytes) -> Path:
    """``data`` written at ``path`` (parents made); the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
