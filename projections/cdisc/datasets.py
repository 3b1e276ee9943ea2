"""SDTM datasets as files: CDISC Dataset-JSON 1.1, SAS V5 transport (XPT), and the column
metadata both share with Define-XML (item OIDs, data types, lengths, keys)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from projections.cdisc import ExportError
from projections.cdisc.sdtm_spec import Dataset, Variable
from projections.cdisc.sdtm_subject import Row

DATASET_JSON_VERSION = "1.1.0"
STUDY_OID = "ST.CHT101"
METADATA_VERSION_OID = "MDV.CHT101.SDTMIG.3.4"
XPT_MAX_BYTES = 200  # a SAS V5 transport file's longest character value
# Define-XML data type → Dataset-JSON dataType
DATA_TYPES = {"text": "string", "integer": "integer", "float": "float", "date": "date",
              "datetime": "datetime"}  # fmt: skip


class DatasetTooWide(ExportError):
    """A value does not fit a SAS V5 transport file (200 bytes); Dataset-JSON carries it."""


def item_oid(dataset: Dataset, variable: Variable) -> str:
    return f"IT.{dataset.name}.{variable.name}"


def file_name(dataset: Dataset, extension: str) -> str:
    return f"{dataset.name.lower()}.{extension}"


@dataclass(frozen=True)
class Column:
    """A variable as this export's data fill it: its planned length is the longest value, in
    UTF-8 bytes (what a transport file stores)."""

    variable: Variable
    oid: str
    length: int | None
    key: int | None

    @property
    def data_type(self) -> str:
        return DATA_TYPES[self.variable.data_type]


def columns(dataset: Dataset, rows: list[Row]) -> list[Column]:
    found = []
    for variable in dataset.variables:
        length = None
        if variable.data_type in ("text", "integer", "float"):
            values = [row[variable.name] for row in rows if row[variable.name] is not None]
            length = max((len(_text(value).encode()) for value in values), default=1)
        key = dataset.keys.index(variable.name) + 1 if variable.name in dataset.keys else None
        found.append(Column(variable, item_oid(dataset, variable), length, key))
    return found


def _text(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def dataset_json(
    dataset: Dataset, rows: list[Row], *, created: datetime, modified: datetime | None
) -> dict[str, Any]:
    """The Dataset-JSON 1.1 document, attributes in the order the specification gives."""
    document: dict[str, Any] = {
        "datasetJSONCreationDateTime": created.astimezone(UTC).isoformat(timespec="seconds"),
        "datasetJSONVersion": DATASET_JSON_VERSION,
        "fileOID": f"{STUDY_OID}.{dataset.name}",
    }
    if modified is not None:
        document["dbLastModifiedDateTime"] = modified.astimezone(UTC).isoformat(timespec="seconds")
    document.update(
        originator="CHT101 trial data backend",
        sourceSystem={"name": "cht101-trial", "version": "0.1.0"},
        studyOID=STUDY_OID,
        metaDataVersionOID=METADATA_VERSION_OID,
        metaDataRef="define.xml",
        itemGroupOID=f"IG.{dataset.name}",
        records=len(rows),
        name=dataset.name,
        label=dataset.label,
        columns=[_column(column) for column in columns(dataset, rows)],
        rows=[[row[v.name] for v in dataset.variables] for row in rows],
    )
    return document


def _column(column: Column) -> dict[str, Any]:
    described: dict[str, Any] = {
        "itemOID": column.oid,
        "name": column.variable.name,
        "label": column.variable.label,
        "dataType": column.data_type,
    }
    if column.length is not None:
        described["length"] = column.length
    if column.key is not None:
        described["keySequence"] = column.key
    return described


def write_dataset_json(path: Path, document: dict[str, Any]) -> None:
    with path.open("w", encoding="utf-8") as out:
        json.dump(document, out, ensure_ascii=False, allow_nan=False)


def write_xpt(path: Path, dataset: Dataset, rows: list[Row]) -> None:
    """A SAS V5 transport file (pyreadstat): character values as UTF-8, numbers as doubles,
    missing numbers as SAS missing; refuses a character value over 200 bytes."""
    import pandas as pd
    import pyreadstat

    data: dict[str, Any] = {}
    for variable in dataset.variables:
        values = [row[variable.name] for row in rows]
        if variable.data_type in ("integer", "float"):
            data[variable.name] = pd.array(
                [float("nan") if value is None else float(value) for value in values],
                dtype="float64",
            )
            continue
        for n, value in enumerate(values):
            if value is not None and len(str(value).encode()) > XPT_MAX_BYTES:
                raise DatasetTooWide(
                    f"{dataset.name}.{variable.name} row {n + 1} holds {len(str(value))} "
                    f"characters, more than a SAS V5 transport file's {XPT_MAX_BYTES} bytes; "
                    f"export Dataset-JSON instead"
                )
        data[variable.name] = pd.array(["" if v is None else str(v) for v in values],
                                       dtype=object)  # fmt: skip
    frame = pd.DataFrame(data, columns=[v.name for v in dataset.variables])
    pyreadstat.write_xport(
        frame,
        str(path),
        file_label=dataset.label,
        column_labels=[v.label for v in dataset.variables],
        table_name=dataset.name,
        file_format_version=5,
    )
