"""Read the tables of a chipmix HTML report back (stdlib html.parser; no browser needed).

``tables(html)`` maps each table's ``id`` to its rows; a row maps each cell's ``data-key``
to ``(text, value)``: the text a reader sees and the cell's ``data-value`` (a float where it
parses, else the raw string, ``None`` when the attribute is absent or empty).
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[dict[str, tuple[str, Any]]]] = {}
        self.ids: list[str] = []
        self.cards: dict[str, str] = {}
        self._table: str | None = None
        self._row: dict[str, tuple[str, Any]] | None = None
        self._cell: tuple[str, Any] | None = None
        self._text: list[str] = []
        self._card: str | None = None
        self._card_value = False
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(a["id"])
        if tag == "script":
            self.scripts += 1
        if tag == "table":
            self._table = a.get("id") or f"table{len(self.tables)}"
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self._row = {}
        elif tag == "td" and self._row is not None:
            raw = a.get("data-value")
            value: Any = None
            if raw not in (None, ""):
                try:
                    value = float(raw)
                except ValueError:
                    value = raw
            self._cell = (a.get("data-key") or str(len(self._row)), value)
            self._text = []
        elif tag == "div" and (a.get("id") or "").startswith("card-"):
            self._card = a["id"][5:]
        elif tag == "div" and self._card and a.get("class") == "v":
            self._card_value = True
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None and self._row is not None:
            key, value = self._cell
            self._row[key] = ("".join(self._text).strip(), value)
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._row and self._table is not None:
                self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None
        elif tag == "div" and self._card_value:
            self.cards[self._card or ""] = "".join(self._text).strip()
            self._card_value = False
            self._card = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None or self._card_value:
            self._text.append(data)


def parse(html: str) -> _Tables:
    parser = _Tables()
    parser.feed(html)
    parser.close()
    return parser


def tables(html: str) -> dict[str, list[dict[str, tuple[str, Any]]]]:
    return parse(html).tables
