"""The ODM 1.3.2 metadata of CHT101: every study event, form, item group and item the events
carry, with data types, code lists for the contract's enums, units, and how derived values are
computed.

One study event per kind of record (enrolment, each screening, the infusion, each visit, the
adverse-event log, the withdrawal); derived values (scores, endpoints, grades, data queries) sit
in item groups of their own whose items name the method (MethodDef) that computes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.vocabulary import (
    AeCategory,
    BilagGrade,
    ChronicGvhdSeverity,
    Consciousness,
    Edema,
    Outcome,
    Oxygen,
    ParticipantStatus,
    Relatedness,
    SeizureStatus,
    Sex,
    WithdrawalReason,
)

STUDY_OID = "ST.CHT101"
STUDY_NAME = "CHT101"
METADATA_VERSION_OID = "MDV.CHT101.2026.1"


@dataclass(frozen=True)
class ItemDef:
    """One value: its OID, a short name, the question or description, and how it is typed."""

    oid: str
    name: str
    question: str
    data_type: str  # an ODM 1.3.2 DataType: text, integer, float, date, datetime, boolean
    codelist: str | None = None
    unit: str | None = None
    method: str | None = None  # the MethodDef that derives it; None: collected as recorded
    pii: bool = False  # never exported to roles without PII access

    @property
    def derived(self) -> bool:
        return self.method is not None


@dataclass(frozen=True)
class ItemGroupDef:
    oid: str
    name: str
    items: tuple[ItemDef, ...]
    repeating: bool = False

    @property
    def derived(self) -> bool:
        return all(item.derived for item in self.items)


@dataclass(frozen=True)
class FormDef:
    oid: str
    name: str
    groups: tuple[ItemGroupDef, ...]
    repeating: bool = False


@dataclass(frozen=True)
class StudyEventDef:
    oid: str
    name: str
    forms: tuple[FormDef, ...]
    repeating: bool = False
    kind: str = "Scheduled"  # ODM EventType: Scheduled, Unscheduled, Common


@dataclass(frozen=True)
class MethodDef:
    oid: str
    name: str
    description: str


@dataclass(frozen=True)
class CodeList:
    oid: str
    name: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Unit:
    oid: str
    symbol: str


def _codelist(oid: str, name: str, enum: type[StrEnum]) -> CodeList:
    return CodeList(oid, name, tuple(member.value for member in enum))


CODELISTS = (
    _codelist("CL.SEX", "Sex", Sex),
    _codelist("CL.STATUS", "Participant status", ParticipantStatus),
    _codelist("CL.BILAG_GRADE", "BILAG-2004 grade", BilagGrade),
    _codelist("CL.OUTCOME", "Endpoint outcome", Outcome),
    _codelist("CL.AE_CATEGORY", "Adverse event category", AeCategory),
    _codelist("CL.RELATEDNESS", "Relatedness to CHT101", Relatedness),
    _codelist("CL.WITHDRAWAL_REASON", "Withdrawal reason", WithdrawalReason),
    _codelist("CL.OXYGEN", "Oxygen support (ASTCT CRS)", Oxygen),
    _codelist("CL.CONSCIOUSNESS", "Level of consciousness (ASTCT ICANS)", Consciousness),
    _codelist("CL.SEIZURE", "Seizure (ASTCT ICANS)", SeizureStatus),
    _codelist("CL.EDEMA", "Raised ICP / cerebral oedema (ASTCT ICANS)", Edema),
    _codelist("CL.CHRONIC_GVHD", "Chronic GVHD global severity (NCCN 2020)", ChronicGvhdSeverity),
)

UNITS = (
    Unit("MU.10E9_L", "10^9/L"),
    Unit("MU.G_L", "g/L"),
    Unit("MU.MG_DL", "mg/dL"),
    Unit("MU.PERCENT", "%"),
    Unit("MU.KG", "kg"),
    Unit("MU.MG_DAY", "mg/day"),
    Unit("MU.G_G", "g/g"),
    Unit("MU.EGFR", "mL/min/1.73m2"),
    Unit("MU.ML_MIN", "mL/min"),
    Unit("MU.CELLS_KG", "cells/kg"),
    Unit("MU.CELSIUS", "C"),
    Unit("MU.YEARS", "years"),
    Unit("MU.DAYS", "days"),
)

# How each derived value is computed; § numbers are those of docs/clinical-rules.md.
METHODS = tuple(
    MethodDef(oid, name, description)
    for oid, name, description in (
        (
            "MT.STATUS",
            "Participant status",
            "The latest stage reached: screening result, infusion, M12 scored, withdrawal.",
        ),
        (
            "MT.AGE",
            "Age at consent",
            "Completed years from date of birth to the consent signature date (§9).",
        ),
        (
            "MT.ELIGIBILITY",
            "Eligibility",
            "Every inclusion and exclusion criterion evaluated at screening, as recorded with "
            "the rules version (§9).",
        ),
        ("MT.CRCL", "Creatinine clearance", "Cockcroft-Gault (§10)."),
        ("MT.SLEDAI2K", "SLEDAI-2K", "Weighted sum of the descriptors present (§1)."),
        (
            "MT.SELENA",
            "SELENA-SLEDAI",
            "SLEDAI-2K with the SELENA arthritis and proteinuria rules (§2).",
        ),
        (
            "MT.CLINSLEDAI",
            "Clinical SLEDAI-2K",
            "SLEDAI-2K without low complement and increased DNA binding (§1).",
        ),
        ("MT.BILAG", "BILAG-2004 numeric score", "Yee 2010: A=12, B=8, C=1, D=E=0 (§3)."),
        ("MT.SDI", "SLICC/ACR damage index", "Items present, with the organ maxima (§8)."),
        (
            "MT.EGFR",
            "eGFR",
            "As recorded, else CKD-EPI 2021 from creatinine at the age on the visit date (§10).",
        ),
        (
            "MT.WINDOW",
            "Visit window",
            "Target day 30 x month after the infusion date, +-7 days for M1-M3, +-14 days for "
            "M6-M12 (§12).",
        ),
        (
            "MT.ENDPOINT",
            "Endpoint outcome",
            "SRI-4, DORIS, remission off therapy, LLDAS, CRR, PRR, ORR and PERR, decided in the "
            "order of §4 by the criteria of §4-§7.",
        ),
        (
            "MT.INFDATE",
            "Infusion date",
            "Calendar date of the infusion instant in the trial's time zone (study day 0).",
        ),
        ("MT.SERIOUS", "Serious", "Any ICH E2A serious criterion recorded (§11)."),
        (
            "MT.TOXGRADE",
            "Toxicity grade",
            "ASTCT 2019 CRS and ICANS grades, MAGIC 2016 acute GVHD grade (§11).",
        ),
        ("MT.SAEDUE", "SAE reporting due", "Site awareness + 24 h, for an SAE (§11)."),
        (
            "MT.OVERDUE",
            "SAE reporting overdue",
            "Not reported to the sponsor by the due time, read at the file's AsOfDateTime "
            "(snapshots only: it changes with time, not with the record).",
        ),
        ("MT.STUDYDAY", "Days from infusion", "Onset date minus the infusion date (day 0)."),
        (
            "MT.DATAQUERY",
            "Data queries",
            "Recorded values that contradict each other; the record is kept as entered.",
        ),
        ("MT.CORRECTED", "Corrected", "True once a correction replaced the visit's values."),
        ("MT.RULESVER", "Rules version", "The rule set that derived the values."),
    )
)
