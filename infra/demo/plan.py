"""The demo's synthetic CHT101 cohort at site NJ01, planned from a seed alone.

``plan_cohort`` returns, subject by subject, the facts the site records — consent, screenings,
infusion, visits, corrections, adverse events and their updates, withdrawal — as the
application's input objects, each with its clinical date and the user who records it. The cast
in ``cohort.toml`` gives every subject a story; ``random.Random(seed)`` fills in the dates and
values; ``infra.demo.builders`` assembles the inputs.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from domain.commands import Actor
from domain.inputs import (
    AdverseEventReport,
    AdverseEventUpdate,
    ConsentDetails,
    InfusionDetails,
    VisitScore,
    Withdrawal,
)
from domain.rules.eligibility import Labs
from domain.rules.schedule import infusion_date, target_date
from domain.rules.toxicity import CrsSigns, IcansSigns
from domain.vocabulary import (
    AeCategory,
    BilagDomain,
    BilagGrade,
    Consciousness,
    Edema,
    EularAcrCriterion,
    Oxygen,
    Relatedness,
    SdiItem,
    SeizureStatus,
    SeriousCriterion,
    Sex,
    Visit,
    WithdrawalReason,
)
from domain.vocabulary import SledaiDescriptor as D
from infra.demo.builders import REFERENCE_LABS, bilag, screening, visit_score
from infra.demo.cast import (
    CAST,
    CONSENT_SPACING_DAYS,
    FIRST_CONSENT,
    INVESTIGATOR,
    NEVER,
    PGA_TREND,
    RESOLVES,
    SITE,
    SKIN,
    STAFF,
    TEXTS,
    UPCR_FALLING,
    UPCR_RISING,
    VISITS,
    Casting,
    Correction,
    Fact,
    Step,
    SubjectPlan,
)


def plan_cohort(seed: int, time_zone: str) -> list[SubjectPlan]:
    """The whole cohort from the seed alone: the same seed plans the same facts."""
    rng = random.Random(seed)
    return [_Planner(rng, n, casting, time_zone).plan() for n, casting in enumerate(CAST, 1)]


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def _renal_grade(k: int, upcr: float) -> BilagGrade:
    if k == 0 or upcr > 2.5:
        return BilagGrade.A
    return BilagGrade.B if upcr > 1.0 else BilagGrade.C if upcr > 0.5 else BilagGrade.D


class _Planner:
    """Plans one subject's facts; steps are sorted by day at the end (stable within a day)."""

    def __init__(self, rng: random.Random, number: int, casting: Casting, time_zone: str) -> None:
        self.rng, self.casting, self.time_zone = rng, casting, time_zone
        self.subject_id = f"{SITE}-{number:03d}"
        self.steps: list[Step] = []
        offset = (number - 1) * CONSENT_SPACING_DAYS + rng.randint(0, 5)
        self.consented_on = FIRST_CONSENT + timedelta(days=offset)
        self.descriptors = self._entry_descriptors()

    def add(self, name: str, on: date, by: Actor, fact: Fact) -> None:
        self.steps.append(Step(name, on, by, fact))

    def plan(self) -> SubjectPlan:
        rng, c = self.rng, self.casting
        age = 58 if c.screening == "low_crcl" else rng.randint(22, 50)
        born = date(self.consented_on.year - age - 1, rng.randint(1, 12), rng.randint(1, 28))
        initials = "".join(rng.choices("BCDFGHJLMQSWXYZ", k=rng.choice((2, 3))))
        consent = ConsentDetails(self.subject_id, SITE, "v2.1", self.consented_on, born, c.sex,
                                 initials)  # fmt: skip
        self.add("consent", self.consented_on, STAFF, consent)
        screened_on = self._screen(self.consented_on + timedelta(days=rng.randint(3, 7)), age)
        if c.screening in ("eligible", "rescreened"):
            self._treat(screened_on)
        self.steps.sort(key=lambda step: step.on)
        return SubjectPlan(self.subject_id, tuple(self.steps))

    # ----- screening -----

    def _entry_descriptors(self) -> frozenset[D]:
        rng, c = self.rng, self.casting
        if c.screening == "low_sledai":
            return frozenset({D.ARTHRITIS, D.RASH})  # SLEDAI-2K 6
        present = {D.LOW_COMPLEMENT, D.INCREASED_DNA_BINDING}
        if c.nephritis:
            present |= {D.PROTEINURIA, D.HEMATURIA}
            present |= {d for d in (D.URINARY_CASTS, D.ARTHRITIS, D.RASH) if rng.random() < 0.4}
        else:
            present |= {D.ARTHRITIS, D.RASH}
            present |= {d for d in (D.ALOPECIA, D.MUCOSAL_ULCERS) if rng.random() < 0.4}
        return frozenset(present)

    def _screen(self, screened_on: date, age: int) -> date:
        rng, c = self.rng, self.casting
        self.creatinine = round(rng.uniform(0.7, 0.9) if c.nephritis else rng.uniform(0.6, 0.8), 2)
        labs = replace(
            REFERENCE_LABS, creatinine_mg_dl=self.creatinine, weight_kg=rng.randint(52, 75)
        )
        if c.screening == "low_crcl":
            labs = replace(labs, creatinine_mg_dl=1.6, weight_kg=61.0)
        childbearing = c.sex is Sex.FEMALE and age < 45
        anc = 0.8 if c.screening == "rescreened" else round(rng.uniform(1.5, 4.5), 1)
        self._screening("screen-1", screened_on, replace(labs, anc=anc), childbearing)
        if c.screening != "rescreened":
            return screened_on
        rescreened_on = screened_on + timedelta(days=14)  # the neutrophils recovered
        self._screening("screen-2", rescreened_on, replace(labs, anc=1.6), childbearing)
        return rescreened_on

    def _screening(self, name: str, on: date, labs: Labs, childbearing: bool) -> None:
        rng, c = self.rng, self.casting
        labs = replace(
            labs, wbc=round(rng.uniform(3.4, 7.5), 1), hemoglobin=rng.randint(95, 135),
            platelets=rng.randint(120, 300), alt=rng.randint(12, 45), ast=rng.randint(15, 40),
            bilirubin=round(rng.uniform(0.3, 1.0), 1), inr=round(rng.uniform(0.9, 1.1), 2),
            pt=round(rng.uniform(11, 13), 1), lvef=rng.randint(58, 68),
            hcg_negative_on=on - timedelta(days=rng.randint(1, 6)) if childbearing else None,
        )  # fmt: skip
        criteria = {EularAcrCriterion.ANA_POSITIVE, EularAcrCriterion.ANTI_DSDNA_OR_ANTI_SM}
        if c.nephritis:
            criteria |= {EularAcrCriterion.RENAL_BIOPSY_CLASS_III_OR_IV,
                         EularAcrCriterion.LOW_C3_AND_LOW_C4}  # fmt: skip
        else:
            criteria |= {EularAcrCriterion.JOINT_INVOLVEMENT,
                         EularAcrCriterion.ACUTE_CUTANEOUS_LUPUS}  # fmt: skip
        details = screening(
            on, labs, self.descriptors, self._bilag(self.descriptors, 0, upcr=0.0),
            eular_acr_criteria=frozenset(criteria), childbearing_potential=childbearing,
        )  # fmt: skip
        self.add(name, on, INVESTIGATOR, details)

    def _bilag(self, present: frozenset[D], k: int, upcr: float) -> dict[BilagDomain, BilagGrade]:
        """Grades follow the activity: B when active at entry, C when still active, D after."""
        grades = bilag(BilagGrade.E)
        if present & SKIN:
            grades[BilagDomain.MUCOCUTANEOUS] = BilagGrade.B if k == 0 else BilagGrade.C
        elif self.descriptors & SKIN:
            grades[BilagDomain.MUCOCUTANEOUS] = BilagGrade.D
        if D.ARTHRITIS in present:
            grades[BilagDomain.MUSCULOSKELETAL] = BilagGrade.B
        elif D.ARTHRITIS in self.descriptors:
            grades[BilagDomain.MUSCULOSKELETAL] = BilagGrade.D
        if self.casting.nephritis:
            grades[BilagDomain.RENAL] = _renal_grade(k, upcr)
        return grades

    # ----- infusion and follow-up -----

    def _treat(self, screened_on: date) -> None:
        rng, c = self.rng, self.casting
        day = screened_on + timedelta(days=rng.randint(6, 9))
        infused_at = _at(day, rng.randint(1, 6), rng.choice((0, 15, 30, 45)))
        self.infusion_day = infusion_date(infused_at, self.time_zone)
        lot = f"CHT101-L{rng.randint(40, 60):04d}"
        self.add("infusion", self.infusion_day, STAFF, InfusionDetails(infused_at, 1.0e6, lot))
        self._adverse_events()
        for visit, score in zip(VISITS, self._course(), strict=True):
            if (visit is Visit.BASELINE and not c.baseline) or visit is c.missed_visit:
                continue
            if c.withdrawn and visit in (Visit.M9, Visit.M12):
                continue
            self.add(f"visit-{visit.value}", score.visit_date, STAFF, score)
            if visit is Visit.M1 and c.pga_corrected:
                self._correct(score, TEXTS["pga_correction"], pga_tenths=8)
            if visit is Visit.M3 and c.dose_corrected:
                self._correct(score, TEXTS["dose_correction"], prednisone_mg_per_day=7.5)
        if c.withdrawn:
            self._withdraw()

    def _correct(self, entered: VisitScore, reason: str, **source: Any) -> None:
        """Source data verification three weeks after the visit finds the transcription error."""
        corrected = replace(entered, **source)
        found_on = entered.visit_date + timedelta(days=21)
        self.add(f"correct-{entered.visit.value}", found_on, INVESTIGATOR,
                 Correction(corrected, reason))  # fmt: skip

    def _withdraw(self) -> None:
        """Lost to follow-up after M6; the infection's outcome arrives after the withdrawal."""
        rng = self.rng
        withdrawn_on = target_date(Visit.M9, self.infusion_day) + timedelta(rng.randint(15, 25))
        note = "no contact after three calls and a letter since M6"
        self.add("withdrawal", withdrawn_on, INVESTIGATOR,
                 Withdrawal(withdrawn_on, WithdrawalReason.LOST_TO_FOLLOW_UP, note))  # fmt: skip
        resolved_on = self.infection.onset_on + timedelta(days=rng.randint(14, 21))
        reason = "resolution date from the dermatology letter received after withdrawal"
        update = AdverseEventUpdate(self.infection.ae_id, reason, resolved_on=resolved_on)
        self.add(f"{update.ae_id}-resolved", withdrawn_on + timedelta(days=9), INVESTIGATOR, update)

    def _visit_date(self, visit: Visit) -> date:
        if visit is Visit.BASELINE:
            return self.infusion_day - timedelta(days=1)
        shift = 10 if visit is self.casting.late_visit else self.rng.randint(-3, 3)
        return target_date(visit, self.infusion_day) + timedelta(days=shift)

    def _course(self) -> list[VisitScore]:
        """BASELINE, M1 … M12 along the subject's course, as the site first entered them."""
        rng, c = self.rng, self.casting
        resolves = RESOLVES[c.course]
        gone_from = {d: rng.choice(resolves.get(d, (NEVER,))) for d in sorted(self.descriptors)}
        pga0 = 9 if c.pga_corrected else rng.randint(12 if c.course == "responder" else 16, 22)
        pred0 = rng.choice((15.0, 20.0, 25.0, 30.0))
        prednisone = {
            "responder": (pred0, pred0 - 5, 10.0, 7.5, 5.0, rng.choice((5.0, 2.5)),
                          rng.choice((2.5, 0.0))),
            "non_responder": (pred0, pred0, pred0 + 5, pred0 + 5, pred0, pred0, pred0 - 5),
            "rescue": (pred0, pred0, pred0, 40.0, 20.0, 10.0, 7.5),
        }[c.course]  # fmt: skip
        rising = c.course == "non_responder"
        upcr0 = rng.uniform(1.8, 2.4) if rising else rng.uniform(1.2, 3.6)
        joints = rng.randint(3, 8)
        scores = []
        for k, visit in enumerate(VISITS):
            noise = 1.0 if rising or k == 0 else rng.uniform(0.9, 1.1)
            trend = UPCR_RISING if rising else UPCR_FALLING
            upcr = upcr0 * trend[k] * noise if c.nephritis else rng.uniform(0.05, 0.2)
            upcr = round(upcr, 2)
            present = {d for d, k_gone in gone_from.items() if k < k_gone} - {D.PROTEINURIA}
            if c.nephritis and upcr > 0.5:
                present.add(D.PROTEINURIA)  # the descriptor agrees with the UPCR
            if c.course == "rescue" and k in (2, 3):
                present.add(D.MUCOSAL_ULCERS)  # the flare that needed rescue therapy
            pga = round(pga0 * PGA_TREND[c.course][k]) + (rng.randint(-1, 1) if k else 0)
            if c.pga_corrected and visit is Visit.M1:
                pga = 12  # as entered; the source document says 0.8
            dose = 75.0 if c.dose_corrected and visit is Visit.M3 else prednisone[k]
            cataract = c.cataract_at_m6 and k >= VISITS.index(Visit.M6)
            scores.append(visit_score(
                visit, self._visit_date(visit), sledai=frozenset(present),
                bilag=self._bilag(frozenset(present), k, upcr), pga_tenths=max(0, min(30, pga)),
                prednisone_mg_per_day=dose,
                arthritis_joint_count=(joints if k == 0 else 3) if D.ARTHRITIS in present else 0,
                # SELENA counts proteinuria at entry (the flare) or > 0.5 g/g above it.
                proteinuria_new_or_increased=(k == 0 or rising) if D.PROTEINURIA in present
                else None,
                antimalarial_only=dose == 0, rescue_therapy=c.course == "rescue" and k == 3,
                lupus_nephritis=c.nephritis, upcr_g_per_g=upcr,
                creatinine_mg_dl=round(self.creatinine * rng.uniform(0.92, 1.05), 2),
                sdi_items=frozenset({SdiItem.CATARACT} if cataract else ()),
            ))  # fmt: skip
        return scores

    # ----- adverse events -----

    def _adverse_events(self) -> None:
        rng, c, day0 = self.rng, self.casting, self.infusion_day
        if c.crs:
            self._crs(day0 + timedelta(days=rng.randint(1, 3)), c.crs)
        if c.ice_score is not None:
            grade = 1 if c.ice_score >= 7 else 2
            awake = Consciousness.NORMAL if grade == 1 else Consciousness.SPONTANEOUS
            signs = IcansSigns(c.ice_score, awake, SeizureStatus.NONE, False, Edema.NONE)
            onset = day0 + timedelta(days=rng.randint(4, 6))
            self._report(onset, TEXTS["icans"], AeCategory.ICANS, grade, icans=signs,
                         resolved_after=rng.randint(2, 4))  # fmt: skip
        if c.other_ae is AeCategory.CYTOPENIA:
            term = "Neutrophil count decreased"
            self._report(day0 + timedelta(days=9), term, AeCategory.CYTOPENIA, 3,
                         Relatedness.PROBABLE, resolved_after=12)  # fmt: skip
        if c.other_ae is AeCategory.INFECTION:
            onset = day0 + timedelta(days=rng.randint(140, 165))
            self.infection = self._report(onset, "Herpes zoster", AeCategory.INFECTION, 2,
                                          Relatedness.POSSIBLE)  # fmt: skip

    def _crs(self, onset: date, grade: int) -> None:
        """ASTCT signs for the grade: fever alone 1; hypotension or low-flow O2 2; + pressor 3."""
        rng = self.rng
        fever = round(rng.uniform(38.1, 39.0) if grade == 1 else rng.uniform(38.6, 39.8), 1)
        hypotension = grade == 3 or (grade == 2 and rng.random() < 0.5)
        oxygen = Oxygen.LOW_FLOW if grade == 3 or (grade == 2 and not hypotension) else Oxygen.NONE
        signs = CrsSigns(fever, grade >= 2, hypotension, int(grade == 3), False, oxygen)
        if grade < 3:
            self._report(onset, TEXTS["crs"], AeCategory.CRS, grade, crs=signs,
                         resolved_after=rng.randint(2, 6))  # fmt: skip
            return
        hospitalised = frozenset({SeriousCriterion.HOSPITALISATION})
        sae = self._report(
            onset, TEXTS["crs"], AeCategory.CRS, grade, crs=signs, serious=hospitalised
        )
        sent_at = sae.aware_at + timedelta(hours=20)
        sent = AdverseEventUpdate(sae.ae_id, "SAE report sent to the sponsor",
                                  reported_to_sponsor_at=sent_at)  # fmt: skip
        self.add(f"{sae.ae_id}-reported", sent_at.date(), INVESTIGATOR, sent)
        resolved_on = onset + timedelta(days=7)
        reason = "resolved after tocilizumab; norepinephrine weaned on day 3"
        resolved = AdverseEventUpdate(sae.ae_id, reason, resolved_on=resolved_on)
        self.add(f"{sae.ae_id}-resolved", resolved_on, INVESTIGATOR, resolved)

    def _report(
        self, onset: date, term: str, category: AeCategory, grade: int,
        relatedness: Relatedness = Relatedness.DEFINITE, *, crs: CrsSigns | None = None,
        icans: IcansSigns | None = None, serious: frozenset[SeriousCriterion] = frozenset(),
        resolved_after: int | None = None,
    ) -> AdverseEventReport:  # fmt: skip
        ae_id = f"AE-{sum(isinstance(s.fact, AdverseEventReport) for s in self.steps) + 1:03d}"
        aware_at = _at(onset, self.rng.randint(1, 9), self.rng.choice((0, 20, 40)))
        report = AdverseEventReport(ae_id, term, category, onset, aware_at, grade, serious,
                                    relatedness, crs=crs, icans=icans)  # fmt: skip
        self.add(ae_id, onset, INVESTIGATOR, report)
        if resolved_after is not None:
            resolved_on = onset + timedelta(days=resolved_after)
            update = AdverseEventUpdate(ae_id, "resolved", resolved_on=resolved_on)
            self.add(f"{ae_id}-resolved", resolved_on, INVESTIGATOR, update)
        return report
