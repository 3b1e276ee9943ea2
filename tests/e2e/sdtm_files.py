"""Checking exported SDTM files the way a sponsor's tools would, independently of the exporter:
the Dataset-JSON 1.1 schema kept in docs/cdisc, every cell against its column's dataType (the
schema does not look at cells), SAS V5 transport files read back by pandas' own XPORT reader,
and Define-XML 2.1 against odmlib's XSD with two validators."""

from __future__ import annotations

import json
import math
import re
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pandas as pd
import xmlschema
from lxml import etree
from odmlib.schema_manager import get_schema_path

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "cdisc" / "dataset-json-1.1.schema.json"
SCHEMA_SHA256 = "14d9dcc3db0bc3fe2d025a661637070dfe684ba33447b6515281de9e6a16ff1d"
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?")


def schema_errors(document: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft201909Validator(json.loads(SCHEMA.read_text()))
    return [error.message for error in validator.iter_errors(document)]


def cell_errors(document: dict[str, Any]) -> list[str]:
    """Every cell that is neither null nor of its column's dataType, and every row whose length
    is not the number of columns."""
    columns = document["columns"]
    found = []
    for n, row in enumerate(document.get("rows", [])):
        if len(row) != len(columns):
            found.append(f"row {n}: {len(row)} cells for {len(columns)} columns")
            continue
        for column, cell in zip(columns, row, strict=True):
            if cell is not None and not _fits(column["dataType"], cell):
                found.append(f"row {n} {column['name']}: {cell!r} is not {column['dataType']}")
    return found


def _fits(data_type: str, cell: Any) -> bool:
    if data_type == "string":
        return isinstance(cell, str)
    if data_type == "integer":
        return isinstance(cell, int) and not isinstance(cell, bool)
    if data_type in ("float", "double"):
        return isinstance(cell, int | float) and not isinstance(cell, bool) and math.isfinite(cell)
    if data_type == "boolean":
        return isinstance(cell, bool)
    if data_type == "decimal":
        return isinstance(cell, str) and re.fullmatch(r"-?\d+(\.\d+)?", cell) is not None
    if data_type == "date":
        return isinstance(cell, str) and DATE.fullmatch(cell) is not None and _is_date(cell)
    if data_type == "datetime":
        return isinstance(cell, str) and DATETIME.fullmatch(cell) is not None and _is_instant(cell)
    return False


def _is_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_instant(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


# pandas' XPORT reader decodes an IBM double of eight zero bytes (0.0) as 16**-65, the smallest
# IBM magnitude (pandas-dev/pandas#50670, open): read back, that value is the zero written.
IBM_ZERO_AS_PANDAS_READS_IT = 16.0**-65


def xpt_rows(path: Path) -> tuple[list[str], list[list[Any]]]:
    """A transport file's column names and rows as pandas' XPORT reader reads them, with its
    missing values (NaN numbers, empty strings) as None."""
    frame = pd.read_sas(path, format="xport", encoding="utf-8")
    rows = [
        [None if _missing(value) else 0.0 if value == IBM_ZERO_AS_PANDAS_READS_IT else value
         for value in record]
        for record in frame.itertuples(index=False, name=None)
    ]  # fmt: skip
    return list(frame.columns), rows


def _missing(value: Any) -> bool:
    return value == "" or (isinstance(value, float) and math.isnan(value))


def same_cells(json_rows: list[list[Any]], xpt: list[list[Any]]) -> list[str]:
    """Where the XPT rows differ from the Dataset-JSON rows (numbers compared as numbers)."""
    if len(json_rows) != len(xpt):
        return [f"{len(json_rows)} Dataset-JSON rows, {len(xpt)} XPT rows"]
    found = []
    for n, (left, right) in enumerate(zip(json_rows, xpt, strict=True)):
        for m, (a, b) in enumerate(zip(left, right, strict=True)):
            numbers = isinstance(a, int | float) and isinstance(b, int | float)
            if (float(a) != float(b)) if numbers else (a != b):
                found.append(f"row {n} column {m}: {a!r} != {b!r}")
    return found


@cache
def _define_schemas() -> tuple[etree.XMLSchema, xmlschema.XMLSchema]:
    path = get_schema_path("define", "2.1")
    return etree.XMLSchema(etree.parse(path)), xmlschema.XMLSchema(path)


def define_errors(document: bytes) -> tuple[list[str], list[str]]:
    by_lxml_schema, by_xmlschema_schema = _define_schemas()
    tree = etree.fromstring(document)
    by_lxml = [] if by_lxml_schema.validate(tree) else [str(e) for e in by_lxml_schema.error_log]
    by_xmlschema = [str(error) for error in by_xmlschema_schema.iter_errors(document.decode())]
    return by_lxml, by_xmlschema


def table(document: dict[str, Any]) -> list[dict[str, Any]]:
    """A Dataset-JSON document's rows as dictionaries by variable name."""
    names = [column["name"] for column in document["columns"]]
    return [dict(zip(names, row, strict=True)) for row in document.get("rows", [])]
