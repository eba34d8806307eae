"""Printable PDF documents in English, Russian and Chinese.

ReportLab lays them out. English and Russian are set in DejaVu Sans (shipped in ``fonts/``,
embedded as a subset of the glyphs used). Chinese is set in STSong-Light, a CID font PDF
readers supply for Adobe-GB1 (Acrobat, pdf.js, PDFium and poppler do), so no Chinese font of
several megabytes is shipped; its Latin and Cyrillic glyphs are full-width, which is why it is
not used for the other languages. Documents are written invariant (no creation date, fixed
ids), so the same report gives the same bytes.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from xml.sax.saxutils import escape

from reportlab.graphics.shapes import Drawing, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

CJK_FONT = "STSong-Light"
FONT = "DejaVuSans"
INK = colors.HexColor("#111827")
MUTED = colors.HexColor("#6b7280")
LINE = colors.HexColor("#e5e7eb")


@functools.cache
def _font(cjk: bool) -> str:
    if cjk:
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
        return CJK_FONT
    path = resources.files("indivisible").joinpath("fonts/DejaVuSans.ttf")
    with resources.as_file(path) as file:
        pdfmetrics.registerFont(TTFont(FONT, str(file)))
    return FONT


@functools.cache
def _styles(cjk: bool) -> dict[str, ParagraphStyle]:
    # Chinese wraps between any two characters; Latin and Cyrillic only at spaces.
    font, wrap = _font(cjk), "CJK" if cjk else None
    return {
        "title": ParagraphStyle(
            "title", fontName=font, fontSize=16, leading=20, spaceAfter=6, wordWrap=wrap
        ),
        "heading": ParagraphStyle(
            "heading",
            fontName=font,
            fontSize=12,
            leading=15,
            spaceBefore=8,
            spaceAfter=4,
            wordWrap=wrap,
        ),
        "body": ParagraphStyle("body", fontName=font, fontSize=9, leading=12, wordWrap=wrap),
        "note": ParagraphStyle(
            "note", fontName=font, fontSize=8, leading=10, textColor=MUTED, wordWrap=wrap
        ),
        "cell": ParagraphStyle("cell", fontName=font, fontSize=7, leading=9, wordWrap=wrap),
    }


def _box(x: float, y: float, width: float, height: float, fill: colors.Color) -> Rect:
    box = Rect(x, y, width, height)
    box.fillColor = fill
    box.strokeColor = None
    return box


@dataclass
class Bar:
    """One bar: stacked parts (value, colour) against a common scale, labelled on the left."""

    label: str
    parts: list[tuple[float, str]]
    # Drawn as a thin mark across the bar, e.g. a ceiling.
    limit: float | None = None


PAGE = landscape(A4)
MARGIN = 15 * mm
WIDTH = PAGE[0] - 2 * MARGIN


@dataclass
class Document:
    title: str
    subject: str = ""
    # The document's language is Chinese (or Japanese): wrap lines between characters.
    cjk: bool = False
    story: list[Flowable] = field(default_factory=list)

    def _style(self, name: str) -> ParagraphStyle:
        return _styles(self.cjk)[name]

    def heading(self, text: str) -> None:
        self.story.append(Paragraph(escape(text), self._style("heading")))

    def paragraph(self, text: str, *, note: bool = False) -> None:
        self.story.append(Paragraph(escape(text), self._style("note" if note else "body")))

    def table(
        self,
        header: Sequence[str],
        rows: Sequence[Sequence[object]],
        weights: Sequence[float] | None = None,
    ) -> None:
        """A table across the page; ``weights`` share the width between columns (equal by
        default), since columns left to measure themselves wrap their words apart."""
        cell = self._style("cell")
        data = [[Paragraph(escape(str(v)), cell) for v in row] for row in [header, *rows]]
        shares = list(weights or [1.0] * len(header))
        widths = [WIDTH * share / sum(shares) for share in shares]
        table = Table(data, colWidths=widths, repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("LINEBELOW", (0, 0), (-1, -1), 0.4, LINE),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f3f4f6")),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 2),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 2),
                ]
            )
        )
        self.story.append(table)
        self.story.append(Spacer(1, 4 * mm))

    def bars(self, bars: Sequence[Bar], *, width: float = WIDTH * 0.7) -> None:
        """Horizontal bars on one scale: the largest total or limit fills the width."""
        if not bars:
            return
        label_width, row, gap = 30 * mm, 5 * mm, 1.5 * mm
        scale_to = max(
            [sum(v for v, _c in b.parts) for b in bars] + [b.limit or 0 for b in bars] + [1]
        )
        span = width - label_width
        height = len(bars) * (row + gap)
        drawing = Drawing(width, height)
        for index, bar in enumerate(bars):
            y = height - (index + 1) * (row + gap)
            drawing.add(
                String(0, y + 1, bar.label, fontName=_font(self.cjk), fontSize=7, fillColor=INK)
            )
            x = label_width
            for value, colour in bar.parts:
                w = span * value / scale_to
                if w > 0:
                    drawing.add(_box(x, y, w, row, colors.HexColor(colour)))
                x += w
            if bar.limit:
                at = label_width + span * bar.limit / scale_to
                drawing.add(_box(at - 0.5, y - 1, 1, row + 2, INK))
        self.story.append(drawing)
        self.story.append(Spacer(1, 3 * mm))

    def render(self) -> bytes:
        out = io.BytesIO()
        doc = SimpleDocTemplate(
            out,
            pagesize=PAGE,
            title=self.title,
            subject=self.subject,
            author="Indivisible",
            leftMargin=MARGIN,
            rightMargin=MARGIN,
            topMargin=MARGIN,
            bottomMargin=MARGIN,
            invariant=True,
        )
        doc.build([Paragraph(escape(self.title), self._style("title")), *self.story])
        return out.getvalue()
