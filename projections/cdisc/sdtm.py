"""SDTM rows of the record as it stood at an instant: DM, DS, EX, AE (with SUPPAE), and the
findings of ``sdtm_findings`` (IE, LB, RS), one participant at a time, from the same state and
views every other read uses.

Dates and times are ISO 8601; times are the trial's local time, so that every --DTC's date is
the calendar date the rulebook counts from; study days are SDTM's (``sdtm_subject``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from domain.participant import Participant
from domain.views import adverse_event_view
from domain.vocabulary import Sex, Visit, WithdrawalReason
from projections.cdisc import decode
from projections.cdisc import sdtm_terms as terms
from projections.cdisc.sdtm_findings import classifications, criteria_not_met, screening_labs
from projections.cdisc.sdtm_spec import DATASETS, Dataset, datasets
from projections.cdisc.sdtm_subject import Row, Subject, iso, local_time, value

Tables = dict[str, list[Row]]


def _yes(flag: bool) -> str:
    return "Y" if flag else "N"


def _end(p: Participant) -> date | None:
    if p.withdrawal is not None:
        return p.withdrawal.withdrawn_on
    m12 = p.visits.get(Visit.M12)
    return None if m12 is None else m12.visit_date


def demographics(s: Subject, *, pii: bool) -> Row:
    p, consent = s.participant, s.participant.consent
    withdrawal = p.withdrawal
    died_withdrawn = withdrawal is not None and withdrawal.reason is WithdrawalReason.DEATH
    died = died_withdrawn or any(
        ae.ctcae_grade == 5 or "DEATH" in ae.serious_criteria
        for ae in (adverse_event_view(p, ae_id) for ae_id in p.adverse_events)
    )
    screened = p.screenings[-1].result.eligible if p.screenings else None
    arm = terms.ARMCD if screened else None
    treated = terms.ARMCD if s.infused is not None else None
    reason = (
        "NOT ASSIGNED" if screened is None else "SCREEN FAILURE" if not screened
        else None if treated else "ASSIGNED, NOT TREATED"
    )  # fmt: skip
    end = iso(_end(p))
    return s.row(
        "DM", SUBJID=p.subject_id, RFSTDTC=s.infusion(), RFENDTC=end, RFXSTDTC=s.infusion(),
        RFXENDTC=s.infusion(), RFICDTC=iso(consent.signed_on), RFPENDTC=end,
        DTHDTC=iso(withdrawal.withdrawn_on) if died_withdrawn and withdrawal else None,
        DTHFL="Y" if died else None, SITEID=consent.site,
        **({"BRTHDTC": iso(consent.date_of_birth)} if pii else {}), AGE=consent.age_at_consent,
        AGEU="YEARS", SEX="F" if consent.sex is Sex.FEMALE else "M", RACE=None, ETHNIC=None,
        ARMCD=arm, ARM=terms.ARM if arm else None, ACTARMCD=treated,
        ACTARM=terms.ARM if treated else None, ARMNRS=reason, COUNTRY="CHN",
        DMDTC=iso(consent.signed_on), DMDY=s.day(consent.signed_on),
    )  # fmt: skip


def disposition(s: Subject) -> list[Row]:
    p = s.participant

    def event(term: str, decoded: str, category: str, on: date) -> Row:
        return s.row("DS", DSTERM=term, DSDECOD=decoded, DSCAT=category, EPOCH=s.epoch(on),
                     DSSTDTC=on.isoformat(), DSSTDY=s.day(on))  # fmt: skip

    consented = "INFORMED CONSENT OBTAINED"
    rows = [event(consented, consented, "PROTOCOL MILESTONE", p.consent.signed_on)]
    if p.screenings and not p.screenings[-1].result.eligible:
        on = p.screenings[-1].details.screened_on
        rows.append(event("SCREEN FAILURE", "SCREEN FAILURE", "DISPOSITION EVENT", on))
    # The study's one disposition, as ParticipantStatus reads it: a withdrawal, whatever came
    # before it, else the completion of M12.
    if p.withdrawal is not None:
        reason, on = p.withdrawal.reason, p.withdrawal.withdrawn_on
        term = p.withdrawal.note or decode(reason.value).upper()
        rows.append(event(term, terms.WITHDRAWAL[reason], "DISPOSITION EVENT", on))
    elif (m12 := p.visits.get(Visit.M12)) is not None:
        rows.append(event("COMPLETED", "COMPLETED", "DISPOSITION EVENT", m12.visit_date))
    return rows


def exposure(s: Subject) -> list[Row]:
    infusion = s.participant.infusion
    if infusion is None or s.start is None:
        return []
    return [s.row(
        "EX", EXTRT="CHT101", EXDOSE=float(infusion.dose_cells_per_kg), EXDOSU="cells/kg",
        EXDOSFRM="SUSPENSION", EXROUTE="INTRAVENOUS", EXLOT=infusion.lot, EPOCH="TREATMENT",
        EXSTDTC=s.infusion(), EXENDTC=s.infusion(), EXSTDY=1, EXENDY=1,
    )]  # fmt: skip


_SERIOUS = {"AESCONG": "CONGENITAL_ANOMALY", "AESDISAB": "DISABILITY", "AESDTH": "DEATH",
            "AESHOSP": "HOSPITALISATION", "AESLIFE": "LIFE_THREATENING",
            "AESMIE": "IMPORTANT_MEDICAL_EVENT"}  # fmt: skip


def adverse_events(s: Subject) -> tuple[list[Row], list[Row]]:
    """AE rows in key order, numbered, and their SUPPAE rows."""
    p = s.participant
    rows, qualified = [], []
    for ae_id in p.adverse_events:
        ae = adverse_event_view(p, ae_id)
        criteria = {c.value for c in ae.serious_criteria}
        row = s.row(
            "AE", AESPID=ae.ae_id, AETERM=ae.term, AEDECOD=None, AECAT=ae.category.value,
            AESER=_yes(ae.serious), AEREL=ae.relatedness.value,
            **{name: _yes(criterion in criteria) for name, criterion in _SERIOUS.items()},
            AETOXGR=str(ae.ctcae_grade), EPOCH=s.epoch(ae.onset_on),
            AESTDTC=ae.onset_on.isoformat(), AEENDTC=iso(ae.resolved_on),
            AESTDY=s.day(ae.onset_on), AEENDY=s.day(ae.resolved_on),
        )  # fmt: skip
        zone = ZoneInfo(p.infusion.time_zone) if p.infusion else None
        values = {
            "CRSGR": ae.crs_grade, "ICANSGR": ae.icans_grade, "AGVHDGR": ae.acute_gvhd_grade,
            "CGVHDSEV": value(ae.chronic_gvhd_severity),
            "AWAREDTC": local_time(ae.aware_at, zone),
            "REPDTC": local_time(ae.reported_to_sponsor_at, zone),
        }  # fmt: skip
        rows.append(row)
        qualified.append(values)
    order = sorted(range(len(rows)), key=lambda n: (rows[n]["AESTDTC"], rows[n]["AESPID"]))
    events, supplements = [], []
    for seq, n in enumerate(order, start=1):
        events.append({**rows[n], "AESEQ": seq})
        for qnam, qualifier in qualified[n].items():
            if qualifier is None:
                continue
            label, origin = terms.QUALIFIERS[qnam]
            supplements.append({
                "STUDYID": terms.STUDYID, "RDOMAIN": "AE", "USUBJID": s.usubjid,
                "IDVAR": "AESEQ", "IDVARVAL": str(seq), "QNAM": qnam, "QLABEL": label,
                "QVAL": str(qualifier), "QORIG": origin, "QEVAL": None,
            })  # fmt: skip
    return events, supplements


def tabulate(participants: Iterable[Participant], *, pii: bool) -> Tables:
    """Every dataset's rows for these participants as they stand, sorted by the dataset's
    keys, with --SEQ numbered per subject."""
    tables: Tables = {name: [] for name in DATASETS}
    for participant in participants:
        s = Subject(participant)
        tables["DM"].append(demographics(s, pii=pii))
        events, supplements = adverse_events(s)
        tables["AE"] += events
        tables["SUPPAE"] += supplements
        for name, rows in (("DS", disposition(s)), ("EX", exposure(s)),
                           ("IE", criteria_not_met(s)), ("LB", screening_labs(s)),
                           ("RS", classifications(s))):  # fmt: skip
            tables[name] += _numbered(DATASETS[name], rows)
    for name, dataset in datasets(pii=pii).items():
        rows = tables[name]
        keys = [k for k in dataset.keys if k != "STUDYID"]
        rows.sort(key=lambda row: tuple(_sortable(row.get(k)) for k in keys))
        order = [v.name for v in dataset.variables]
        tables[name] = [{column: row.get(column) for column in order} for row in rows]
    return tables


def _numbered(dataset: Dataset, rows: list[Row]) -> list[Row]:
    keys = [k for k in dataset.keys if k not in ("STUDYID", "USUBJID")]
    rows.sort(key=lambda row: tuple(_sortable(row.get(k)) for k in keys))
    seq = f"{dataset.name}SEQ"
    return [{**row, seq: n} for n, row in enumerate(rows, start=1)]


def _sortable(value: Any) -> tuple[int, Any]:
    return (0, "") if value is None else (1, value)
