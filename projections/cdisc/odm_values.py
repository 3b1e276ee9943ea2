"""What a participant's record says, as ODM item values: one part per form instance.

Each function reads the participant's state (rebuilt from its events) and returns the values of
one form: its location (study event and form, with repeat keys) and, per item group instance,
every item's value as ODM text, None where the value is null. Collected values are the events'
inputs; derived values come from the same functions as every other view (``domain.views``).

Values are ready to stand in an XML attribute: ``text`` escapes the free text among them (the
numbers, dates, booleans and codes it writes have nothing to escape). Escaping is one to one
(but for control characters XML cannot carry), so comparing escaped values compares the values.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from domain.participant import Participant
from domain.rules.assessment import DataQuery
from domain.views import adverse_event_view, visit_view
from domain.vocabulary import (
    FOLLOW_UP_VISITS,
    BilagDomain,
    EularAcrCriterion,
    SdiItem,
    SeriousCriterion,
    SledaiDescriptor,
    Visit,
)
from projections.cdisc.xml import quoted as escape

Key = tuple[str, str | None]  # an OID and its repeat key (None where it does not repeat)
Place = tuple[Key, Key]  # study event, form
Groups = dict[Key, dict[str, str | None]]  # item group → item OID → value
Part = tuple[Place, Groups]

ENROLMENT = ("SE.ENROLMENT", None)
VISIT_ORDER: tuple[Visit, ...] = (Visit.BASELINE, *FOLLOW_UP_VISITS)


def text(value: Any) -> str | None:
    """A value as ODM writes it, escaped for an attribute: booleans true/false, dates ISO 8601,
    instants in UTC."""
    kind = type(value)
    if value is None:
        return None
    if kind is str:
        return escape(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is float:
        return repr(value)
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _flags(prefix: str, members: type[Enum], present: Any) -> dict[str, str | None]:
    """One true/false item per member of an enumerated set; all null when the set is."""
    oids = _flag_oids(prefix, members)
    if present is None:
        return dict.fromkeys(oids.values())
    return {oid: "true" if member in present else "false" for member, oid in oids.items()}


@functools.cache
def _flag_oids(prefix: str, members: type[Enum]) -> dict[Enum, str]:
    return {member: f"IT.{prefix}.{member.value}" for member in members}


def _bilag(grades: Mapping[BilagDomain, Any]) -> dict[str, str | None]:
    return {f"IT.BILAG.{d.value}": text(grades.get(d)) for d in BilagDomain}


def _queries(queries: tuple[DataQuery, ...] | list[DataQuery]) -> Groups:
    """One repeating group per data query, keyed by its code (numbered from the second of a
    code on): a query that resolves is removed, and the others keep their keys."""
    groups: Groups = {}
    for query in queries:
        key, n = query.code, 1
        while ("IG.DQ", key) in groups:
            n += 1
            key = f"{query.code}#{n}"
        groups["IG.DQ", key] = {
            "IT.DQ.CODE": text(query.code),
            "IT.DQ.MESSAGE": text(query.message),
        }
    return groups


def consent(participant: Participant, *, pii: bool) -> Part:
    c = participant.consent
    values = {
        "IT.CONSENT.SUBJID": text(c.subject_id),
        "IT.CONSENT.SITE": text(c.site),
        "IT.CONSENT.VERSION": text(c.consent_version),
        "IT.CONSENT.SIGNEDON": text(c.signed_on),
        "IT.CONSENT.BRTHDTC": text(c.date_of_birth),
        "IT.CONSENT.INITIALS": text(c.initials),
        "IT.CONSENT.SEX": text(c.sex),
    }
    if not pii:
        del values["IT.CONSENT.BRTHDTC"], values["IT.CONSENT.INITIALS"]
    return (ENROLMENT, ("F.CONSENT", None)), {("IG.CONSENT", None): values}


def subject(participant: Participant) -> Part:
    values = {
        "IT.SUBJECT.STATUS": text(participant.status),
        "IT.SUBJECT.AGE": text(participant.consent.age_at_consent),
    }
    return (ENROLMENT, ("F.SUBJECT", None)), {("IG.SUBJECT", None): values}


def screening(participant: Participant, index: int) -> Part:
    """The ``index``-th screening (0-based; repeat key index + 1) and its recorded decision."""
    recorded = participant.screenings[index]
    details, result = recorded.details, recorded.result
    labs = details.labs
    groups: Groups = {
        ("IG.SCREENING", None): {
            "IT.SCREENING.DATE": text(details.screened_on),
            "IT.SCREENING.REFRACT": text(details.refractory),
            "IT.SCREENING.CHILDBP": text(details.childbearing_potential),
            "IT.SCREENING.LACTAT": text(details.lactating),
            "IT.SCREENING.CONTRA": text(details.contraception_agreed),
        },
        ("IG.LABS", None): {
            f"IT.LABS.{name.upper()}": text(getattr(labs, name)) for name in _LAB_FIELDS
        },
        ("IG.SLEDAI", None): _flags("SLEDAI", SledaiDescriptor, details.sledai),
        ("IG.BILAG", None): _bilag(details.bilag),
        ("IG.EULAR", None): _flags("EULAR", EularAcrCriterion, details.eular_acr_criteria),
        ("IG.EXCLUSION", None): {
            f"IT.EXCLUSION.EXC{n}": text(n in details.exclusions) for n in range(1, 15)
        },
        ("IG.ELIGIBILITY", None): {
            "IT.ELIGIBILITY.ELIGIBLE": text(result.eligible),
            "IT.ELIGIBILITY.SLEDAI2K": text(result.sledai_2k),
            "IT.ELIGIBILITY.EULARSC": text(result.eular_acr_score),
            "IT.ELIGIBILITY.CRCL": text(result.creatinine_clearance),
            "IT.ELIGIBILITY.RULESVER": text(result.rules_version),
        },
    }
    for criterion in result.criteria:
        groups["IG.CRITERION", criterion.code] = {
            "IT.CRITERION.CODE": text(criterion.code),
            "IT.CRITERION.MET": text(criterion.met),
            "IT.CRITERION.DETAIL": text(criterion.detail),
        }
    groups.update(_queries(result.data_queries))
    return (("SE.SCREENING", str(index + 1)), ("F.SCREENING", None)), groups


_LAB_FIELDS = (
    "wbc", "anc", "hemoglobin", "platelets", "alt", "alt_uln", "ast", "ast_uln", "bilirubin",
    "bilirubin_uln", "creatinine_mg_dl", "weight_kg", "inr", "inr_uln", "pt", "pt_uln", "lvef",
    "hcg_negative_on", "csf_within_2_weeks", "gilbert_syndrome",
)  # fmt: skip


def infusion(participant: Participant) -> Part:
    recorded = participant.infusion
    assert recorded is not None
    groups: Groups = {
        ("IG.INFUSION", None): {
            "IT.INFUSION.INFUSEDAT": text(recorded.infused_at),
            "IT.INFUSION.DOSE": text(recorded.dose_cells_per_kg),
            "IT.INFUSION.LOT": text(recorded.lot),
        },
        ("IG.INFUSION_DER", None): {
            "IT.INFUSION.DATE": text(recorded.infusion_date),
            "IT.INFUSION.TIMEZONE": text(recorded.time_zone),
        },
    }
    return (("SE.INFUSION", None), ("F.INFUSION", None)), groups


def visit(participant: Participant, which: Visit) -> Part:
    score = participant.visits[which].score
    view = visit_view(participant, which)
    outcome = {name: text(verdict.outcome) for name, verdict in view.outcomes.items()}
    pga = divmod(score.pga_tenths or 0, 10)
    groups: Groups = {
        ("IG.VISIT", None): {
            "IT.VISIT.DATE": text(score.visit_date),
            "IT.VISIT.PGA": f"{pga[0]}.{pga[1]}",
            "IT.VISIT.PREDNISONE": text(score.prednisone_mg_per_day),
            "IT.VISIT.ARTHRITIS_JOINTS": text(score.arthritis_joint_count),
            "IT.VISIT.PROTEINURIA_NEW": text(score.proteinuria_new_or_increased),
            "IT.VISIT.ANTIMALARIAL_ONLY": text(score.antimalarial_only),
            "IT.VISIT.HAEMOLYTIC_ANAEMIA": text(score.haemolytic_anaemia),
            "IT.VISIT.GI_ACTIVITY": text(score.gi_activity),
            "IT.VISIT.INVESTIGATIONAL_DRUG": text(score.investigational_drug),
            "IT.VISIT.RESCUE": text(score.rescue_therapy),
            "IT.VISIT.LUPUS_NEPHRITIS": text(score.lupus_nephritis),
            "IT.VISIT.UPCR": text(score.upcr_g_per_g),
            "IT.VISIT.EGFR": text(score.egfr),
            "IT.VISIT.CREATININE": text(score.creatinine_mg_dl),
        },
        ("IG.SLEDAI", None): _flags("SLEDAI", SledaiDescriptor, score.sledai),
        ("IG.BILAG", None): _bilag(score.bilag),
        ("IG.SDI", None): _flags("SDI", SdiItem, score.sdi_items),
        ("IG.VISIT_DER", None): {
            "IT.VISIT_DER.IN_WINDOW": text(view.in_window),
            "IT.VISIT_DER.SLEDAI2K": text(view.sledai_2k),
            "IT.VISIT_DER.SELENA": text(view.selena_sledai),
            "IT.VISIT_DER.CLINICAL_SLEDAI": text(view.clinical_sledai),
            "IT.VISIT_DER.BILAG_SCORE": text(view.bilag_score),
            "IT.VISIT_DER.SDI": text(view.sdi),
            "IT.VISIT_DER.EGFR": text(view.egfr),
            **{f"IT.VISIT_DER.{name}": value for name, value in outcome.items()},
            "IT.VISIT_DER.CORRECTED": text(view.corrected),
            "IT.VISIT_DER.RULESVER": text(view.rules_version),
        },
    }
    groups.update(_queries(view.data_queries))
    return ((f"SE.{which.value}", None), ("F.VISIT", None)), groups


def visits(participant: Participant, since: Visit = Visit.BASELINE) -> Iterator[Part]:
    """Every scored visit from ``since`` on, in visit order: a visit's outcomes look back at
    the baseline and the visits before it, never at later ones."""
    for which in VISIT_ORDER[VISIT_ORDER.index(since) :]:
        if which in participant.visits:
            yield visit(participant, which)


def adverse_event(
    participant: Participant, ae_id: str, reference: datetime, *, report: bool = True
) -> Part:
    """The AE as it stands; its overdue flag as read at ``reference``. What only the report
    records (term, category, dates of onset and awareness, relatedness, chronic GVHD severity and
    the CRS, ICANS and acute GVHD signs) only when ``report``: no update changes it."""
    reported = participant.adverse_events[ae_id].report
    view = adverse_event_view(participant, ae_id)
    recorded: dict[str, str | None] = {}
    if report:
        recorded.update({
            "IT.AE.TERM": text(view.term),
            "IT.AE.CATEGORY": text(view.category),
            "IT.AE.ONSET": text(view.onset_on),
            "IT.AE.AWARE_AT": text(view.aware_at),
            "IT.AE.RELATEDNESS": text(view.relatedness),
            "IT.AE.CHRONIC_GVHD": text(view.chronic_gvhd_severity),
        })  # fmt: skip
    recorded.update({
        "IT.AE.CTCAE": text(view.ctcae_grade),
        **_flags("AE.SERIOUS", SeriousCriterion, set(view.serious_criteria)),
        "IT.AE.RESOLVED_ON": text(view.resolved_on),
        "IT.AE.REPORTED_AT": text(view.reported_to_sponsor_at),
    })  # fmt: skip
    groups: Groups = {("IG.AE", None): recorded}
    for group, signs in (("CRS", reported.crs), ("ICANS", reported.icans),
                         ("GVHD", reported.acute_gvhd)):  # fmt: skip
        if report and signs is not None:
            groups[f"IG.{group}", None] = {
                f"IT.{group}.{_SIGN_ITEMS.get(name, name.upper())}": text(value)
                for name, value in vars(signs).items()
            }
    groups["IG.AE_DER", None] = {
        "IT.AE_DER.SERIOUS": text(view.serious),
        "IT.AE_DER.CRS_GRADE": text(view.crs_grade),
        "IT.AE_DER.ICANS_GRADE": text(view.icans_grade),
        "IT.AE_DER.ACUTE_GVHD_GRADE": text(view.acute_gvhd_grade),
        "IT.AE_DER.DUE_AT": text(view.reporting_due_at),
        "IT.AE_DER.OVERDUE": text(view.overdue_at(reference)),
        "IT.AE_DER.DAYS_FROM_INFUSION": text(view.days_from_infusion),
    }
    groups.update(_queries(view.data_queries))
    return (("SE.AE", None), ("F.AE", ae_id)), groups


# Payload names of the signs whose item names differ (the rest are the upper-cased name).
_SIGN_ITEMS = {
    "temperature_c": "TEMPERATURE",
    "fever_modified_by_treatment": "FEVER_MODIFIED",
    "ice_score": "ICE",
}


def withdrawal(participant: Participant) -> Part:
    recorded = participant.withdrawal
    assert recorded is not None
    values = {
        "IT.WITHDRAWAL.DATE": text(recorded.withdrawn_on),
        "IT.WITHDRAWAL.REASON": text(recorded.reason),
        "IT.WITHDRAWAL.NOTE": text(recorded.note),
    }
    return (("SE.WITHDRAWAL", None), ("F.WITHDRAWAL", None)), {("IG.WITHDRAWAL", None): values}
