"""SDTM findings of CHT101: the criteria a screening did not meet (IE), the screening labs (LB)
and the disease-activity instruments (RS: SLEDAI-2K, BILAG-2004 and the physician's global
assessment, clinical classifications in SDTMIG 3.3 and later)."""

from __future__ import annotations

from datetime import date
from typing import Any

from domain.participant import Participant
from domain.rules.bilag import NUMERIC, bilag_score
from domain.rules.sledai import WEIGHTS, sledai_2k
from domain.vocabulary import SledaiDescriptor
from projections.cdisc import decode
from projections.cdisc import sdtm_terms as terms
from projections.cdisc.sdtm_subject import Row, Subject, figure


def criteria_not_met(s: Subject) -> list[Row]:
    rows = []
    for index, screening in enumerate(s.participant.screenings):
        on = screening.details.screened_on
        number, visit = terms.screening_visit(index)
        for criterion in screening.result.criteria:
            code, met = criterion.code, criterion.met
            inclusion = code.startswith("INC")
            if (inclusion and met is True) or (not inclusion and met is not True):
                continue
            short, text = terms.CRITERIA[code]
            result = "N" if inclusion else "Y"
            rows.append(s.row(
                "IE", IETESTCD=short, IETEST=text,
                IECAT="INCLUSION" if inclusion else "EXCLUSION", IEORRES=result,
                IESTRESC=result, VISITNUM=number, VISIT=visit, EPOCH=s.epoch(on),
                IEDTC=on.isoformat(), IEDY=s.day(on),
            ))  # fmt: skip
    return rows


def screening_labs(s: Subject) -> list[Row]:
    rows = []
    for index, screening in enumerate(s.participant.screenings):
        details = screening.details
        number, visit = terms.screening_visit(index)
        on, labs = details.screened_on, details.labs
        for field, (code, name, category, unit, uln_field) in terms.LABS.items():
            value = getattr(labs, field)
            if value is None:
                continue
            uln = None if uln_field is None else getattr(labs, uln_field)
            rows.append(s.row(
                "LB", LBTESTCD=code, LBTEST=name, LBCAT=category, LBORRES=figure(value),
                LBORRESU=unit, LBORNRHI=None if uln is None else figure(uln),
                LBSTRESC=figure(value), LBSTRESN=float(value), LBSTRESU=unit,
                LBSTNRHI=None if uln is None else float(uln), VISITNUM=number, VISIT=visit,
                EPOCH=s.epoch(on), LBDTC=on.isoformat(), LBDY=s.day(on),
            ))  # fmt: skip
        if labs.hcg_negative_on is not None:
            tested = labs.hcg_negative_on
            rows.append(s.row(
                "LB", LBTESTCD="HCG", LBTEST="Choriogonadotropin Beta", LBCAT="CHEMISTRY",
                LBORRES="NEGATIVE", LBORRESU=None, LBORNRHI=None, LBSTRESC="NEGATIVE",
                LBSTRESN=None, LBSTRESU=None, LBSTNRHI=None, VISITNUM=number, VISIT=visit,
                EPOCH=s.epoch(tested), LBDTC=tested.isoformat(), LBDY=s.day(tested),
            ))  # fmt: skip
    return rows


Assessed = tuple[float, str, date, Any, Any, int | None]  # visit number and name, date, …


def _assessments(p: Participant) -> list[Assessed]:
    """Each screening's and scored visit's SLEDAI-2K descriptors, BILAG grades and PGA."""
    found: list[Assessed] = []
    for index, screening in enumerate(p.screenings):
        details = screening.details
        number, visit = terms.screening_visit(index)
        found.append((number, visit, details.screened_on, details.sledai, details.bilag, None))
    for which, (number, visit) in terms.VISITS.items():
        if (recorded := p.visits.get(which)) is not None:
            score = recorded.score
            found.append(
                (number, visit, score.visit_date, score.sledai, score.bilag, score.pga_tenths)
            )
    return found


def classifications(s: Subject) -> list[Row]:
    """SLEDAI-2K (descriptors and total), BILAG-2004 (domain grades and numeric score) at each
    screening and scored visit, and the physician's global assessment at each scored visit."""
    rows = []
    for number, visit, on, sledai, bilag, pga in _assessments(s.participant):
        at = {"VISITNUM": number, "VISIT": visit, "EPOCH": s.epoch(on),
              "RSDTC": on.isoformat(), "RSDY": s.day(on)}  # fmt: skip
        found: list[tuple[str, str, str, str, float, bool]] = []
        for descriptor, code in terms.SLEDAI_ITEMS.items():
            present = descriptor in sledai
            weight = WEIGHTS[SledaiDescriptor(descriptor)] if present else 0
            result = "PRESENT" if present else "ABSENT"
            found.append((code, decode(descriptor.value), "SLEDAI-2K", result, weight, False))
        total = sledai_2k(sledai)
        found.append(("SLEDTOT", "SLEDAI-2K Total Score", "SLEDAI-2K", str(total), total, True))
        for domain, code in terms.BILAG_ITEMS.items():
            grade = bilag[domain]
            test = f"{decode(domain.value)} Grade"
            found.append((code, test, "BILAG-2004", grade.value, NUMERIC[grade], False))
        score = bilag_score(bilag)
        found.append(("BILAGTOT", "BILAG-2004 Numeric Score", "BILAG-2004", str(score), score,
                      True))  # fmt: skip
        if pga is not None:
            recorded = f"{pga // 10}.{pga % 10}"
            found.append(("PGA", "Physician Global Assessment", "PGA", recorded, pga / 10, False))
        # The standardized result is the numeric one as text (the descriptor's weight, the
        # grade's score): --STRESN is --STRESC as a number.
        for code, test, category, result, numeric, derived in found:
            rows.append(s.row(
                "RS", RSTESTCD=code, RSTEST=test, RSCAT=category, RSORRES=result,
                RSSTRESC=figure(numeric), RSSTRESN=float(numeric),
                RSDRVFL="Y" if derived else None, RSEVAL="INVESTIGATOR", **at,
            ))  # fmt: skip
    return rows
