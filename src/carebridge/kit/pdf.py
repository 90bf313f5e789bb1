"""Bilingual A4 documents with fpdf2: the signed consultation opinion and the diagnosis report share
this layout (a title, label/value lines with the label column kept clear of the next line, shaded
headings, free text, a page footer). fpdf2 needs a TrueType font with Chinese glyphs: the
`opinion_cjk_font` setting, checked before any database work so a missing font fails fast."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF

from carebridge.config import get_settings
from carebridge.errors import ConfigurationError

CST = dt.timezone(dt.timedelta(hours=8))  # the network's users share China Standard Time


@dataclass(frozen=True)
class Line:
    label: str
    value: str


def when(value: dt.datetime | None) -> str:
    return value.astimezone(CST).strftime("%Y-%m-%d %H:%M (UTC+8)") if value else ""


def cjk_font(document: str) -> Path:
    """The configured font; `document` names what needs it in the error a missing font raises."""
    path = Path(get_settings().opinion_cjk_font)
    if not path.is_file():
        raise ConfigurationError(
            f"the {document} needs a font with Chinese glyphs: CAREBRIDGE_OPINION_CJK_FONT={path} does not exist "
            "(install Debian's fonts-wqy-microhei or point the setting at another TrueType font)",
            code="report_font_missing")
    return path


class BilingualPDF(FPDF):
    def __init__(self, font: Path, footer_text: str, title: str, metadata_title: str) -> None:
        super().__init__(format="A4")
        self.footer_text = footer_text
        self.set_auto_page_break(auto=True, margin=16)
        self.add_font("cjk", fname=str(font))
        self.set_title(metadata_title)
        self.add_page()
        self.set_font("cjk", size=16)
        self.cell(0, 10, title, align="C", new_x="LMARGIN", new_y="NEXT")
        self.set_font("cjk", size=10)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("cjk", size=8)
        self.cell(0, 6, f"{self.footer_text} · {self.page_no()}/{{nb}}", align="C")

    def heading(self, text: str) -> None:
        self.ln(2)
        self.set_font("cjk", size=12)
        self.set_fill_color(230, 238, 246)
        self.cell(0, 8, text, fill=True, new_x="LMARGIN", new_y="NEXT")
        self.set_font("cjk", size=10)

    def lines(self, lines: list[Line], label_width: float = 62) -> None:
        for line in lines:
            label_height = self.multi_cell(label_width, 6, line.label, dry_run=True, output="HEIGHT")
            if self.will_page_break(label_height):
                self.add_page()
            top, page = self.get_y(), self.page
            self.set_text_color(90, 90, 90)
            self.multi_cell(label_width, 6, line.label, new_x="RIGHT", new_y="TOP")
            self.set_text_color(0, 0, 0)
            self.multi_cell(0, 6, line.value or "-", new_x="LMARGIN", new_y="NEXT")
            if self.page == page:  # a label longer than its value must not run into the next line
                self.set_y(max(self.get_y(), top + label_height))
            self.ln(1)

    def paragraph(self, text: str) -> None:
        self.multi_cell(0, 6, text or "-", new_x="LMARGIN", new_y="NEXT")
