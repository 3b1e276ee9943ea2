"""The parts of an ODM 1.3.2 document other than clinical data: the root element, the study's
metadata (MetaDataVersion) and the administrative data (users and locations)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from projections.cdisc import decode
from projections.cdisc.odm_forms import STUDY_EVENTS, item_groups
from projections.cdisc.odm_metadata import (
    CODELISTS,
    METADATA_VERSION_OID,
    METHODS,
    STUDY_NAME,
    STUDY_OID,
    UNITS,
    CodeList,
    FormDef,
    ItemDef,
    ItemGroupDef,
    StudyEventDef,
)
from projections.cdisc.xml import attr, element, text

NAMESPACE = "http://www.cdisc.org/ns/odm/v1.3"
SOURCE_SYSTEM = "cht101-trial"
SOURCE_SYSTEM_VERSION = "0.1.0"
ORIGINATOR = "CHT101 trial data backend"
PROTOCOL = "CHT101"
DESCRIPTION = (
    "Universal anti-CD70 CAR-T (CHT101) for relapsed/refractory systemic lupus erythematosus: "
    "open-label, single arm, 15 participants, Nanjing Drum Tower Hospital"
)


def instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def root_open(
    *, file_type: str, file_oid: str, created: datetime, as_of: datetime, granularity: str | None
) -> str:
    """The XML declaration and the ODM start tag."""
    attributes = {
        "xmlns": NAMESPACE,
        "FileType": file_type,
        "Granularity": granularity,
        "FileOID": file_oid,
        "CreationDateTime": instant(created),
        "AsOfDateTime": instant(as_of),
        "ODMVersion": "1.3.2",
        "Originator": ORIGINATOR,
        "SourceSystem": SOURCE_SYSTEM,
        "SourceSystemVersion": SOURCE_SYSTEM_VERSION,
    }
    written = "".join(
        f" {key}={attr(value)}" for key, value in attributes.items() if value is not None
    )
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<ODM{written}>\n'


ROOT_CLOSE = "</ODM>\n"


def _translated(value: str) -> str:
    return element("TranslatedText", text(value), **{"xml:lang": "en"})


def study(*, pii: bool) -> str:
    """The Study element: global variables, units and the one MetaDataVersion. Without ``pii``
    the items that hold PII (date of birth, initials) are not even described."""
    parts = [
        f"<Study OID={attr(STUDY_OID)}>",
        "<GlobalVariables>",
        element("StudyName", STUDY_NAME),
        element("StudyDescription", text(DESCRIPTION)),
        element("ProtocolName", PROTOCOL),
        "</GlobalVariables>",
        "<BasicDefinitions>",
        *(
            element("MeasurementUnit", element("Symbol", _translated(unit.symbol)),
                    OID=unit.oid, Name=unit.symbol)
            for unit in UNITS
        ),
        "</BasicDefinitions>",
        f"<MetaDataVersion OID={attr(METADATA_VERSION_OID)} Name=\"CHT101 rules 2026.1\""
        f" Description=\"CHT101 case report forms; derived values per clinical-rules.md\">",
        _protocol(),
        *(_study_event(event) for event in STUDY_EVENTS),
        *(_form(form) for form in _forms()),
        *(_item_group(group, pii) for group in item_groups().values()),
        *(_item(item) for group in item_groups().values() for item in group.items
          if pii or not item.pii),
        *(_codelist(codelist) for codelist in CODELISTS),
        *(
            element("MethodDef", element("Description", _translated(method.description)),
                    OID=method.oid, Name=method.name, Type="Computation")
            for method in METHODS
        ),
        "</MetaDataVersion>",
        "</Study>\n",
    ]  # fmt: skip
    return "\n".join(parts)


def _protocol() -> str:
    refs = "".join(
        element("StudyEventRef", StudyEventOID=event.oid, OrderNumber=str(n),
                Mandatory="Yes" if event.oid == "SE.ENROLMENT" else "No")
        for n, event in enumerate(STUDY_EVENTS, start=1)
    )  # fmt: skip
    return element("Protocol", refs)


def _yes(flag: bool) -> str:
    return "Yes" if flag else "No"


def _study_event(event: StudyEventDef) -> str:
    refs = "".join(
        element("FormRef", FormOID=form.oid, OrderNumber=str(n), Mandatory="Yes")
        for n, form in enumerate(event.forms, start=1)
    )
    return element("StudyEventDef", refs, OID=event.oid, Name=event.name,
                   Repeating=_yes(event.repeating), Type=event.kind)  # fmt: skip


def _forms() -> list[FormDef]:
    forms: dict[str, FormDef] = {}
    for event in STUDY_EVENTS:
        for form in event.forms:
            forms.setdefault(form.oid, form)
    return list(forms.values())


def _form(form: FormDef) -> str:
    refs = "".join(
        element("ItemGroupRef", ItemGroupOID=group.oid, OrderNumber=str(n),
                Mandatory=_yes(n == 1))
        for n, group in enumerate(form.groups, start=1)
    )  # fmt: skip
    return element("FormDef", refs, OID=form.oid, Name=form.name, Repeating=_yes(form.repeating))


def _item_group(group: ItemGroupDef, pii: bool) -> str:
    refs = "".join(
        element("ItemRef", ItemOID=item.oid, OrderNumber=str(n), Mandatory="No",
                MethodOID=item.method)
        for n, item in enumerate(group.items, start=1)
        if pii or not item.pii
    )  # fmt: skip
    return element(
        "ItemGroupDef",
        refs,
        OID=group.oid,
        Name=group.name,
        Repeating=_yes(group.repeating),
        Origin="Derived" if group.derived else "CRF",
        Purpose="Tabulation",
    )


def _item(item: ItemDef) -> str:
    content = element("Question", _translated(item.question))
    if item.unit is not None:
        content += element("MeasurementUnitRef", MeasurementUnitOID=item.unit)
    if item.codelist is not None:
        content += element("CodeListRef", CodeListOID=item.codelist)
    return element(
        "ItemDef",
        content,
        OID=item.oid,
        Name=item.name,
        DataType=item.data_type,
        Origin="Derived" if item.derived else "CRF",
        Comment=None if item.method is None else f"Derived: {item.method}",
    )


def _codelist(codelist: CodeList) -> str:
    items = "".join(
        element("CodeListItem", element("Decode", _translated(decode(value))),
                CodedValue=value, OrderNumber=str(n))
        for n, value in enumerate(codelist.values, start=1)
    )  # fmt: skip
    return element("CodeList", items, OID=codelist.oid, Name=codelist.name, DataType="text")


@dataclass(frozen=True)
class User:
    """Someone who recorded events: the user id from the token, with its role and sites."""

    oid: str
    login: str
    role: str
    sites: tuple[str, ...]


@dataclass(frozen=True)
class Location:
    oid: str
    name: str
    effective: date


def user_oid(actor: str) -> str:
    return f"USR.{actor}"


def location_oid(site: str) -> str:
    return f"LOC.{site}"


_USER_TYPES = {"SITE_STAFF": "Investigator", "INVESTIGATOR": "Investigator", "SPONSOR": "Sponsor"}


def admin_data(users: Iterable[User], locations: Iterable[Location]) -> str:
    """AdminData: a User per actor and a Location per site the exported events name."""
    parts = [f"<AdminData StudyOID={attr(STUDY_OID)}>"]
    for user in users:
        content = element("LoginName", text(user.login)) + element(
            "DisplayName", text(f"{user.login} ({user.role})")
        )
        content += "".join(element("LocationRef", LocationOID=location_oid(s)) for s in user.sites)
        parts.append(element("User", content, OID=user.oid,
                             UserType=_USER_TYPES.get(user.role, "Other")))  # fmt: skip
    for location in locations:
        version = element(
            "MetaDataVersionRef",
            StudyOID=STUDY_OID,
            MetaDataVersionOID=METADATA_VERSION_OID,
            EffectiveDate=location.effective.isoformat(),
        )
        parts.append(element("Location", version, OID=location.oid, Name=location.name,
                             LocationType="Site"))  # fmt: skip
    parts.append("</AdminData>\n")
    return "\n".join(parts)
