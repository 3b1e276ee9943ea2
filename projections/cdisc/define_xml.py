"""Define-XML 2.1 for the SDTM datasets of one export: datasets, variables (with the lengths
the data fill), code lists of the variables with a fixed vocabulary, origins, derivation
methods and comments, and a leaf per dataset file."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from projections.cdisc.datasets import (
    METADATA_VERSION_OID,
    STUDY_OID,
    Column,
    columns,
    file_name,
)
from projections.cdisc.odm_xml import DESCRIPTION, ORIGINATOR, SOURCE_SYSTEM, SOURCE_SYSTEM_VERSION
from projections.cdisc.sdtm_spec import SDTMIG_VERSION, Dataset
from projections.cdisc.sdtm_subject import Row
from projections.cdisc.sdtm_terms import CODELISTS, Terms
from projections.cdisc.xml import attr, element, text

NAMESPACES = (
    'xmlns="http://www.cdisc.org/ns/odm/v1.3" xmlns:def="http://www.cdisc.org/ns/def/v2.1" '
    'xmlns:xlink="http://www.w3.org/1999/xlink"'
)
STANDARD = "STD.SDTMIG.3.4"
# Define-XML def:Origin Source for each origin type that has one.
SOURCES = {"Collected": "Investigator", "Assigned": "Sponsor", "Derived": "Sponsor",
           "Protocol": "Sponsor"}  # fmt: skip


def _description(value: str) -> str:
    return element("Description", element("TranslatedText", text(value), **{"xml:lang": "en"}))


def define_xml(
    tables: Mapping[str, list[Row]],
    specs: Mapping[str, Dataset],
    *,
    created: datetime,
    extension: str,
) -> str:
    """The define.xml of the datasets (``specs``) holding ``tables``, whose files end in
    ``extension``."""
    datasets = [specs[name] for name in tables]
    described = {d.name: columns(d, tables[d.name]) for d in datasets}
    methods: dict[str, str] = {}
    comments: dict[str, str] = {}
    codelists: dict[str, Terms] = {}
    groups, items = [], []
    for dataset in datasets:
        groups.append(_item_group(dataset, described[dataset.name], extension,
                                  empty=not tables[dataset.name]))  # fmt: skip
        for column in described[dataset.name]:
            variable = column.variable
            if variable.method is not None:
                methods[f"MT.{column.oid[3:]}"] = variable.method
            if variable.comment is not None:
                comments[f"COM.{column.oid[3:]}"] = variable.comment
            if (terms := CODELISTS.get(variable.name)) is not None:
                codelists[terms.oid] = terms
            items.append(_item(column))
    attributes = (
        f'ODMVersion="1.3.2" FileType="Snapshot" FileOID={attr(f"{STUDY_OID}.DEFINE")}'
        f" CreationDateTime={attr(created.astimezone(UTC).isoformat(timespec='seconds'))}"
        f" Originator={attr(ORIGINATOR)} SourceSystem={attr(SOURCE_SYSTEM)}"
        f' SourceSystemVersion={attr(SOURCE_SYSTEM_VERSION)} def:Context="Submission"'
    )
    standard = element("def:Standard", OID=STANDARD, Name="SDTMIG", Type="IG",
                       Version=SDTMIG_VERSION, Status="Final")  # fmt: skip
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f"<ODM {NAMESPACES} {attributes}>",
        f"<Study OID={attr(STUDY_OID)}>",
        "<GlobalVariables>" + element("StudyName", "CHT101")
        + element("StudyDescription", text(DESCRIPTION)) + element("ProtocolName", "CHT101")
        + "</GlobalVariables>",
        f"<MetaDataVersion OID={attr(METADATA_VERSION_OID)} Name=\"CHT101 SDTM\""
        f' Description="SDTMIG {SDTMIG_VERSION} datasets of CHT101" def:DefineVersion="2.1.0">',
        element("def:Standards", standard),
        *groups,
        *items,
        *(_codelist(terms) for terms in codelists.values()),
        *(element("MethodDef", _description(how), OID=oid, Name=f"Algorithm {oid[3:]}",
                  Type="Computation") for oid, how in methods.items()),
        *(element("def:CommentDef", _description(what), OID=oid)
          for oid, what in comments.items()),
        "</MetaDataVersion>",
        "</Study>",
        "</ODM>",
    ]  # fmt: skip
    return "\n".join(parts) + "\n"


def _item_group(dataset: Dataset, described: list[Column], extension: str, *, empty: bool) -> str:
    refs = "".join(
        element(
            "ItemRef",
            ItemOID=column.oid,
            OrderNumber=str(n),
            Mandatory="Yes" if column.variable.mandatory else "No",
            KeySequence=None if column.key is None else str(column.key),
            MethodOID=None if column.variable.method is None else f"MT.{column.oid[3:]}",
        )
        for n, column in enumerate(described, start=1)
    )
    name = file_name(dataset, extension)
    leaf = element("def:leaf", element("def:title", name), ID=f"LF.{dataset.name}",
                   **{"xlink:href": name})  # fmt: skip
    return element(
        "ItemGroupDef",
        _description(dataset.label) + refs + element("def:Class", Name=dataset.class_) + leaf,
        OID=f"IG.{dataset.name}",
        Name=dataset.name,
        Repeating="No" if dataset.name == "DM" else "Yes",
        IsReferenceData="No",
        SASDatasetName=dataset.name,
        Domain="AE" if dataset.name == "SUPPAE" else dataset.name,
        Purpose="Tabulation",
        **{"def:Structure": dataset.structure, "def:StandardOID": STANDARD,
           "def:ArchiveLocationID": f"LF.{dataset.name}",
           "def:HasNoData": "Yes" if empty else None},
    )  # fmt: skip


def _codelist(terms: Terms) -> str:
    values = "".join(
        element("EnumeratedItem", CodedValue=value, OrderNumber=str(n))
        for n, value in enumerate(terms.values, start=1)
    )
    return element("CodeList", values, OID=terms.oid, Name=terms.name, DataType="text")


def _item(column: Column) -> str:
    # A deliberate twin of odm_xml._item: Define-XML's ItemDef describes a dataset's variable
    # (length, origin, SAS name), ODM's a form's item; they share only the element's name.
    variable = column.variable
    origin = variable.origin
    content = _description(variable.label)
    if (terms := CODELISTS.get(variable.name)) is not None:
        content += element("CodeListRef", CodeListOID=terms.oid)
    content += element("def:Origin", Type=origin, Source=SOURCES.get(origin))
    return element(
        "ItemDef",
        content,
        OID=column.oid,
        Name=variable.name,
        DataType=variable.data_type,
        Length=None if column.length is None else str(column.length),
        SASFieldName=variable.name,
        **{"def:CommentOID": None if variable.comment is None else f"COM.{column.oid[3:]}"},
    )
