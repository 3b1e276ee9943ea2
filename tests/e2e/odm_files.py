"""Reading an exported ODM 1.3.2 file the way a sponsor's loader would, independently of the
exporter: validation with two XML Schema processors, the transactions with their audit records,
their replay, and the values mapped back to the contract's Participant fields.

The mapping below is written from the file's metadata (item OIDs and their meaning), not from
the exporter's code: a value the exporter put in the wrong item shows up as a difference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import xmlschema
from lxml import etree
from odmlib.schema_manager import get_schema_path

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
ODM = "{http://www.cdisc.org/ns/odm/v1.3}"
Key = tuple[str, str | None]
State = dict[Key, dict[Key, dict[Key, dict[str, str]]]]  # event → form → group → item → value


@cache
def lxml_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(get_schema_path("odm", "1.3.2")))


@cache
def xmlschema_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(get_schema_path("odm", "1.3.2"))


def validation_errors(document: bytes) -> tuple[list[str], list[str]]:
    """What lxml's and xmlschema's validators find wrong with ``document`` (each its own list)."""
    schema = lxml_schema()
    tree = etree.fromstring(document)
    by_lxml = [] if schema.validate(tree) else [str(error) for error in schema.error_log]
    by_xmlschema = [str(error) for error in xmlschema_schema().iter_errors(document.decode())]
    return by_lxml, by_xmlschema


@dataclass(frozen=True)
class Audit:
    user: str
    location: str
    at: datetime
    reason: str | None
    source: int


def audit_of(element: Any) -> Audit:
    record = element.find("odm:AuditRecord", NS)
    reason = record.find("odm:ReasonForChange", NS)
    return Audit(
        user=record.find("odm:UserRef", NS).get("UserOID"),
        location=record.find("odm:LocationRef", NS).get("LocationOID"),
        at=datetime.fromisoformat(record.find("odm:DateTimeStamp", NS).text),
        reason=None if reason is None else reason.text,
        source=int(record.find("odm:SourceID", NS).text),
    )


@dataclass
class Transaction:
    subject: str
    kind: str  # the SubjectData's TransactionType
    audit: Audit
    item_audits: list[Audit] = field(default_factory=list)
    # (event, form, group, group TransactionType, item OID, item TransactionType, value or None)
    changes: list[tuple[Key, Key, Key, str, str | None, str | None, str | None]] = field(
        default_factory=list
    )


class OdmFile:
    def __init__(self, content: bytes) -> None:
        self.content = content
        self.root = etree.fromstring(content)

    @classmethod
    def read(cls, path: Path) -> OdmFile:
        return cls(path.read_bytes())

    @property
    def file_type(self) -> str:
        return str(self.root.get("FileType"))

    def users(self) -> dict[str, str]:
        """User OID → login name."""
        return {
            user.get("OID"): user.find("odm:LoginName", NS).text
            for user in self.root.iterfind("odm:AdminData/odm:User", NS)
        }

    def locations(self) -> dict[str, str]:
        return {
            location.get("OID"): location.get("Name")
            for location in self.root.iterfind("odm:AdminData/odm:Location", NS)
        }

    def item_defs(self) -> dict[str, Any]:
        return {i.get("OID"): i for i in self.root.iterfind(".//odm:ItemDef", NS)}

    def subjects(self) -> list[Any]:
        return list(self.root.iterfind("odm:ClinicalData/odm:SubjectData", NS))

    def transactions(self) -> list[Transaction]:
        found = []
        for subject in self.subjects():
            tx = Transaction(subject.get("SubjectKey"), subject.get("TransactionType"),
                             audit_of(subject))  # fmt: skip
            for event in subject.iterfind("odm:StudyEventData", NS):
                event_key = (event.get("StudyEventOID"), event.get("StudyEventRepeatKey"))
                for form in event.iterfind("odm:FormData", NS):
                    form_key = (form.get("FormOID"), form.get("FormRepeatKey"))
                    for group in form.iterfind("odm:ItemGroupData", NS):
                        group_key = (group.get("ItemGroupOID"), group.get("ItemGroupRepeatKey"))
                        group_tx = group.get("TransactionType")
                        if group_tx == "Remove":
                            tx.changes.append((event_key, form_key, group_key, "Remove",
                                               None, None, None))  # fmt: skip
                        for item in group.iterfind("odm:ItemData", NS):
                            tx.item_audits.append(audit_of(item))
                            value = None if item.get("IsNull") == "Yes" else item.get("Value")
                            tx.changes.append((event_key, form_key, group_key, group_tx,
                                               item.get("ItemOID"), item.get("TransactionType"),
                                               value))  # fmt: skip
            found.append(tx)
        return found

    def snapshot(self) -> dict[str, State]:
        """Subject key → the values as the snapshot states them."""
        states: dict[str, State] = {}
        for subject in self.subjects():
            state: State = states.setdefault(subject.get("SubjectKey"), {})
            for event in subject.iterfind("odm:StudyEventData", NS):
                forms = state.setdefault(
                    (event.get("StudyEventOID"), event.get("StudyEventRepeatKey")), {}
                )
                for form in event.iterfind("odm:FormData", NS):
                    groups = forms.setdefault((form.get("FormOID"), form.get("FormRepeatKey")), {})
                    for group in form.iterfind("odm:ItemGroupData", NS):
                        key = (group.get("ItemGroupOID"), group.get("ItemGroupRepeatKey"))
                        groups[key] = {i.get("ItemOID"): i.get("Value")
                                       for i in group.iterfind("odm:ItemData", NS)}  # fmt: skip
        return states


def replay(transactions: list[Transaction]) -> State:
    """Apply transactions in order: Insert and Update set a value, IsNull clears it, Remove
    drops an item group instance."""
    state: State = {}
    for tx in transactions:
        for event, form, group, group_tx, item, _, value in tx.changes:
            groups = state.setdefault(event, {}).setdefault(form, {})
            if group_tx == "Remove":
                groups.pop(group, None)
                continue
            assert item is not None
            items = groups.setdefault(group, {})
            if value is None:
                items.pop(item, None)
            else:
                items[item] = value
    return state


# ----- the contract's Participant fields, read from the items -----

VISITS = ("BASELINE", "M1", "M2", "M3", "M6", "M9", "M12")
OUTCOMES = {"SRI4": "sri4", "DORIS": "doris", "REMISSION_OFF_THERAPY": "remissionOffTherapy",
            "LLDAS": "lldas", "CRR": "crr", "PRR": "prr", "ORR": "orr", "PERR": "perr"}  # fmt: skip
SERIOUS = ("DEATH", "LIFE_THREATENING", "HOSPITALISATION", "DISABILITY", "CONGENITAL_ANOMALY",
           "IMPORTANT_MEDICAL_EVENT")  # fmt: skip


def _int(value: str | None) -> int | None:
    return None if value is None else int(value)


def _float(value: str | None) -> float | None:
    return None if value is None else float(value)


def _bool(value: str | None) -> bool | None:
    return None if value is None else {"true": True, "false": False}[value]


def _instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _queries(groups: dict[Key, dict[str, str]]) -> list[dict[str, str]]:
    """The data queries, in code order (a file orders them by when they were raised)."""
    found = [{"code": items["IT.DQ.CODE"], "message": items["IT.DQ.MESSAGE"]}
             for key, items in groups.items() if key[0] == "IG.DQ"]  # fmt: skip
    return sorted(found, key=lambda query: (query["code"], query["message"]))


def participant_fields(state: State, *, overdue: bool) -> dict[str, Any]:
    """The Participant fields the values say (``reportingOverdue`` only when ``overdue``)."""
    enrolment = state[("SE.ENROLMENT", None)]
    consent = enrolment[("F.CONSENT", None)][("IG.CONSENT", None)]
    subject = enrolment[("F.SUBJECT", None)][("IG.SUBJECT", None)]
    fields: dict[str, Any] = {
        "subjectId": consent["IT.CONSENT.SUBJID"],
        "site": consent["IT.CONSENT.SITE"],
        "status": subject["IT.SUBJECT.STATUS"],
        "sex": consent["IT.CONSENT.SEX"],
        "ageAtConsent": int(subject["IT.SUBJECT.AGE"]),
        "dateOfBirth": consent.get("IT.CONSENT.BRTHDTC"),
        "initials": consent.get("IT.CONSENT.INITIALS"),
        "eligibility": None,
        "infusedAt": None,
        "visits": [],
        "adverseEvents": [],
    }
    screenings = sorted((k for k in state if k[0] == "SE.SCREENING"), key=lambda k: int(k[1] or 0))
    if screenings:
        groups = state[screenings[-1]][("F.SCREENING", None)]
        decision = groups[("IG.ELIGIBILITY", None)]
        fields["eligibility"] = {
            "eligible": _bool(decision["IT.ELIGIBILITY.ELIGIBLE"]),
            "sledai2k": _int(decision["IT.ELIGIBILITY.SLEDAI2K"]),
            "eularAcrScore": _int(decision["IT.ELIGIBILITY.EULARSC"]),
            "creatinineClearance": _float(decision.get("IT.ELIGIBILITY.CRCL")),
            "rulesVersion": decision["IT.ELIGIBILITY.RULESVER"],
            "criteria": [
                {"code": items["IT.CRITERION.CODE"], "met": _bool(items.get("IT.CRITERION.MET")),
                 "detail": items.get("IT.CRITERION.DETAIL")}
                for key, items in groups.items() if key[0] == "IG.CRITERION"
            ],
            "dataQueries": _queries(groups),
        }  # fmt: skip
    infusion = state.get(("SE.INFUSION", None))
    if infusion:
        infused = infusion[("F.INFUSION", None)][("IG.INFUSION", None)]
        fields["infusedAt"] = _instant(infused["IT.INFUSION.INFUSEDAT"])
    for visit in VISITS:
        form = state.get((f"SE.{visit}", None))
        if form is not None:
            fields["visits"].append(_visit(visit, form[("F.VISIT", None)]))
    for (_, ae_id), groups in state.get(("SE.AE", None), {}).items():
        fields["adverseEvents"].append(_adverse_event(ae_id, groups, overdue=overdue))
    return fields


def _visit(visit: str, groups: dict[Key, dict[str, str]]) -> dict[str, Any]:
    recorded = groups[("IG.VISIT", None)]
    derived = groups[("IG.VISIT_DER", None)]
    return {
        "visit": visit,
        "visitDate": recorded["IT.VISIT.DATE"],
        "inWindow": _bool(derived["IT.VISIT_DER.IN_WINDOW"]),
        "sledai2k": _int(derived["IT.VISIT_DER.SLEDAI2K"]),
        "selenaSledai": _int(derived["IT.VISIT_DER.SELENA"]),
        "clinicalSledai": _int(derived["IT.VISIT_DER.CLINICAL_SLEDAI"]),
        "bilagScore": _int(derived["IT.VISIT_DER.BILAG_SCORE"]),
        "pga": _float(recorded["IT.VISIT.PGA"]),
        "sdi": _int(derived.get("IT.VISIT_DER.SDI")),
        "egfr": _float(derived.get("IT.VISIT_DER.EGFR")),
        **{name: derived[f"IT.VISIT_DER.{item}"] for item, name in OUTCOMES.items()},
        "corrected": _bool(derived["IT.VISIT_DER.CORRECTED"]),
        "rulesVersion": derived["IT.VISIT_DER.RULESVER"],
        "dataQueries": _queries(groups),
    }


def _adverse_event(ae_id: str | None, groups: dict[Key, dict[str, str]], *,
                   overdue: bool) -> dict[str, Any]:  # fmt: skip
    recorded = groups[("IG.AE", None)]
    derived = groups[("IG.AE_DER", None)]
    fields = {
        "aeId": ae_id,
        "term": recorded["IT.AE.TERM"],
        "category": recorded["IT.AE.CATEGORY"],
        "onsetOn": recorded["IT.AE.ONSET"],
        "ctcaeGrade": _int(recorded["IT.AE.CTCAE"]),
        "serious": _bool(derived["IT.AE_DER.SERIOUS"]),
        "seriousCriteria": sorted(c for c in SERIOUS if recorded[f"IT.AE.SERIOUS.{c}"] == "true"),
        "relatedness": recorded["IT.AE.RELATEDNESS"],
        "crsGrade": _int(derived.get("IT.AE_DER.CRS_GRADE")),
        "icansGrade": _int(derived.get("IT.AE_DER.ICANS_GRADE")),
        "acuteGvhdGrade": _int(derived.get("IT.AE_DER.ACUTE_GVHD_GRADE")),
        "chronicGvhdSeverity": recorded.get("IT.AE.CHRONIC_GVHD"),
        "resolvedOn": recorded.get("IT.AE.RESOLVED_ON"),
        "awareAt": _instant(recorded["IT.AE.AWARE_AT"]),
        "reportedToSponsorAt": _instant(recorded.get("IT.AE.REPORTED_AT")),
        "reportingDueAt": _instant(derived.get("IT.AE_DER.DUE_AT")),
        "daysFromInfusion": _int(derived.get("IT.AE_DER.DAYS_FROM_INFUSION")),
        "dataQueries": _queries(groups),
    }
    if overdue:
        fields["reportingOverdue"] = _bool(derived["IT.AE_DER.OVERDUE"])
    return fields


def _sorted_queries(described: dict[str, Any]) -> dict[str, Any]:
    queries = described["dataQueries"]
    return {**described, "dataQueries": sorted(queries, key=lambda q: (q["code"], q["message"]))}


def from_graphql(participant: dict[str, Any], *, overdue: bool) -> dict[str, Any]:
    """The same fields from a GraphQL Participant (PARTICIPANT_FIELDS), typed alike."""
    keys = ("subjectId", "site", "status", "sex", "ageAtConsent", "dateOfBirth", "initials")
    fields = {key: participant[key] for key in keys}
    eligibility = participant["eligibility"]
    fields["eligibility"] = None if eligibility is None else _sorted_queries(eligibility)
    fields["infusedAt"] = _instant(participant["infusedAt"])
    fields["visits"] = [_sorted_queries(visit) for visit in participant["visits"]]
    events = []
    for ae in participant["adverseEvents"]:
        event = _sorted_queries(ae)
        event["seriousCriteria"] = sorted(event["seriousCriteria"])
        for key in ("awareAt", "reportedToSponsorAt", "reportingDueAt"):
            event[key] = _instant(event[key])
        if not overdue:
            del event["reportingOverdue"]
        events.append(event)
    fields["adverseEvents"] = events
    return fields
