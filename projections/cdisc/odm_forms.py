"""The CHT101 case report forms in ODM terms: what each study event, form and item group holds.

Item OIDs read as IT.<group>.<name>; the boolean items of a set (SLEDAI descriptors, EULAR/ACR
criteria, SDI items, serious criteria, exclusions) say whether each member was recorded present.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from domain.vocabulary import (
    BilagDomain,
    EularAcrCriterion,
    SdiItem,
    SeriousCriterion,
    SledaiDescriptor,
    Visit,
)
from projections.cdisc import decode
from projections.cdisc.odm_metadata import FormDef, ItemDef, ItemGroupDef, StudyEventDef


def item(
    oid: str,
    name: str,
    question: str,
    data_type: str = "text",
    *,
    codelist: str | None = None,
    unit: str | None = None,
    method: str | None = None,
    pii: bool = False,
) -> ItemDef:
    return ItemDef(oid, name, question, data_type, codelist, unit, method, pii)


def flags(prefix: str, members: Iterable[StrEnum], what: str) -> tuple[ItemDef, ...]:
    """One boolean item per member of a set: was it recorded present?"""
    return tuple(
        item(f"IT.{prefix}.{m.value}", f"{prefix}_{m.value}", f"{what}: {decode(m)}",
             "boolean")
        for m in members
    )  # fmt: skip


DQ = ItemGroupDef("IG.DQ", "Data queries (derived)", (
    item("IT.DQ.CODE", "DQ_CODE", "Data query code", method="MT.DATAQUERY"),
    item("IT.DQ.MESSAGE", "DQ_MESSAGE", "Data query message", method="MT.DATAQUERY"),
), repeating=True)  # fmt: skip

CONSENT = ItemGroupDef("IG.CONSENT", "Informed consent and demographics", (
    item("IT.CONSENT.SUBJID", "SUBJID", "Subject identifier"),
    item("IT.CONSENT.SITE", "SITE", "Site code"),
    item("IT.CONSENT.VERSION", "CONSVER", "Consent form version"),
    item("IT.CONSENT.SIGNEDON", "CONSDT", "Consent signature date", "date"),
    item("IT.CONSENT.BRTHDTC", "BRTHDTC", "Date of birth", "date", pii=True),
    item("IT.CONSENT.INITIALS", "INITIALS", "Initials", pii=True),
    item("IT.CONSENT.SEX", "SEX", "Sex", codelist="CL.SEX"),
))  # fmt: skip
SUBJECT = ItemGroupDef("IG.SUBJECT", "Subject status (derived)", (
    item("IT.SUBJECT.STATUS", "STATUS", "Participant status", codelist="CL.STATUS",
         method="MT.STATUS"),
    item("IT.SUBJECT.AGE", "AGE", "Age at consent", "integer", unit="MU.YEARS", method="MT.AGE"),
))  # fmt: skip

SCREENING = ItemGroupDef("IG.SCREENING", "Screening", (
    item("IT.SCREENING.DATE", "SCRNDT", "Screening date", "date"),
    item("IT.SCREENING.REFRACT", "REFRACT", "Refractory or relapsing (inclusion 4)", "boolean"),
    item("IT.SCREENING.CHILDBP", "CHILDBP", "Childbearing potential", "boolean"),
    item("IT.SCREENING.LACTAT", "LACTAT", "Lactating", "boolean"),
    item("IT.SCREENING.CONTRA", "CONTRA", "Agrees to contraception (inclusion 7)", "boolean"),
))  # fmt: skip
LAB_UNITS = {
    "WBC": ("White blood cells", "MU.10E9_L"), "ANC": ("Absolute neutrophils", "MU.10E9_L"),
    "HEMOGLOBIN": ("Haemoglobin", "MU.G_L"), "PLATELETS": ("Platelets", "MU.10E9_L"),
    "ALT": ("ALT", None), "ALT_ULN": ("ALT upper limit of normal", None),
    "AST": ("AST", None), "AST_ULN": ("AST upper limit of normal", None),
    "BILIRUBIN": ("Total bilirubin", "MU.MG_DL"),
    "BILIRUBIN_ULN": ("Total bilirubin upper limit of normal", "MU.MG_DL"),
    "CREATININE_MG_DL": ("Serum creatinine", "MU.MG_DL"), "WEIGHT_KG": ("Weight", "MU.KG"),
    "INR": ("INR", None), "INR_ULN": ("INR upper limit of normal", None),
    "PT": ("Prothrombin time", None), "PT_ULN": ("Prothrombin time upper limit of normal", None),
    "LVEF": ("Left ventricular ejection fraction", "MU.PERCENT"),
}  # fmt: skip
LABS = ItemGroupDef("IG.LABS", "Screening labs", (
    *(item(f"IT.LABS.{key}", key, question, "float", unit=unit)
      for key, (question, unit) in LAB_UNITS.items()),
    item("IT.LABS.HCG_NEGATIVE_ON", "HCGNEGDT", "Negative serum hCG date", "date"),
    item("IT.LABS.CSF_WITHIN_2_WEEKS", "CSF2WK", "Colony-stimulating factor within 2 weeks",
         "boolean"),
    item("IT.LABS.GILBERT_SYNDROME", "GILBERT", "Gilbert's syndrome", "boolean"),
))  # fmt: skip
SLEDAI = ItemGroupDef(
    "IG.SLEDAI", "SLEDAI-2K descriptors", flags("SLEDAI", SledaiDescriptor, "Descriptor present")
)
BILAG = ItemGroupDef("IG.BILAG", "BILAG-2004 domain grades", tuple(
    item(f"IT.BILAG.{d.value}", f"BILAG_{d.value}", f"BILAG-2004 grade: {d.value.capitalize()}",
         codelist="CL.BILAG_GRADE") for d in BilagDomain))  # fmt: skip
EULAR = ItemGroupDef(
    "IG.EULAR", "EULAR/ACR 2019 criteria", flags("EULAR", EularAcrCriterion, "Criterion present")
)
EXCLUSIONS = ItemGroupDef("IG.EXCLUSION", "Exclusion criteria", tuple(
    item(f"IT.EXCLUSION.EXC{n}", f"EXC{n}", f"Exclusion criterion {n} applies", "boolean")
    for n in range(1, 15)))  # fmt: skip
ELIGIBILITY = ItemGroupDef("IG.ELIGIBILITY", "Eligibility (derived)", (
    item("IT.ELIGIBILITY.ELIGIBLE", "ELIGIBLE", "Eligible", "boolean", method="MT.ELIGIBILITY"),
    item("IT.ELIGIBILITY.SLEDAI2K", "SLEDAI2K", "SLEDAI-2K at screening", "integer",
         method="MT.SLEDAI2K"),
    item("IT.ELIGIBILITY.EULARSC", "EULARSC", "EULAR/ACR 2019 score", "integer",
         method="MT.ELIGIBILITY"),
    item("IT.ELIGIBILITY.CRCL", "CRCL", "Creatinine clearance", "float", unit="MU.ML_MIN",
         method="MT.CRCL"),
    item("IT.ELIGIBILITY.RULESVER", "RULESVER", "Rules version", method="MT.RULESVER"),
))  # fmt: skip
CRITERIA = ItemGroupDef("IG.CRITERION", "Eligibility criteria results (derived)", (
    item("IT.CRITERION.CODE", "CRITCODE", "Criterion code", method="MT.ELIGIBILITY"),
    item("IT.CRITERION.MET", "CRITMET", "Criterion met (null: value missing)", "boolean",
         method="MT.ELIGIBILITY"),
    item("IT.CRITERION.DETAIL", "CRITDTL", "Values used", method="MT.ELIGIBILITY"),
), repeating=True)  # fmt: skip

INFUSION = ItemGroupDef("IG.INFUSION", "CHT101 infusion", (
    item("IT.INFUSION.INFUSEDAT", "INFDTC", "Infusion time", "datetime"),
    item("IT.INFUSION.DOSE", "DOSE", "Dose", "float", unit="MU.CELLS_KG"),
    item("IT.INFUSION.LOT", "LOT", "Lot"),
))  # fmt: skip
INFUSION_DERIVED = ItemGroupDef("IG.INFUSION_DER", "Infusion date (derived)", (
    item("IT.INFUSION.DATE", "INFDATE", "Infusion date (study day 0)", "date",
         method="MT.INFDATE"),
    item("IT.INFUSION.TIMEZONE", "INFTZ", "Trial time zone used", method="MT.INFDATE"),
))  # fmt: skip

VISIT = ItemGroupDef("IG.VISIT", "Visit assessment", (
    item("IT.VISIT.DATE", "VISITDT", "Visit date", "date"),
    item("IT.VISIT.PGA", "PGA", "Physician's global assessment (0-3)", "float"),
    item("IT.VISIT.PREDNISONE", "PRED", "Prednisone equivalent", "float", unit="MU.MG_DAY"),
    item("IT.VISIT.ARTHRITIS_JOINTS", "ARTHJC", "Arthritis joint count", "integer"),
    item("IT.VISIT.PROTEINURIA_NEW", "PROTNEW", "Proteinuria new or increased > 0.5 g/24 h",
         "boolean"),
    item("IT.VISIT.ANTIMALARIAL_ONLY", "AMONLY", "Antimalarials the only SLE treatment",
         "boolean"),
    item("IT.VISIT.HAEMOLYTIC_ANAEMIA", "HAEMANA", "Haemolytic anaemia", "boolean"),
    item("IT.VISIT.GI_ACTIVITY", "GIACT", "Gastrointestinal activity", "boolean"),
    item("IT.VISIT.INVESTIGATIONAL_DRUG", "INVDRUG", "Investigational drug other than CHT101",
         "boolean"),
    item("IT.VISIT.RESCUE", "RESCUE", "Rescue therapy", "boolean"),
    item("IT.VISIT.LUPUS_NEPHRITIS", "LN", "Lupus nephritis", "boolean"),
    item("IT.VISIT.UPCR", "UPCR", "Urine protein/creatinine ratio", "float", unit="MU.G_G"),
    item("IT.VISIT.EGFR", "EGFR", "eGFR as recorded", "float", unit="MU.EGFR"),
    item("IT.VISIT.CREATININE", "CREAT", "Serum creatinine", "float", unit="MU.MG_DL"),
))  # fmt: skip
SDI = ItemGroupDef(
    "IG.SDI",
    "SLICC/ACR damage index items (null: not assessed)",
    flags("SDI", SdiItem, "Damage item present"),
)
_OUTCOMES = ("SRI4", "DORIS", "REMISSION_OFF_THERAPY", "LLDAS", "CRR", "PRR", "ORR", "PERR")
VISIT_DERIVED = ItemGroupDef("IG.VISIT_DER", "Visit scores and endpoints (derived)", (
    item("IT.VISIT_DER.IN_WINDOW", "INWINDOW", "Visit within its window", "boolean",
         method="MT.WINDOW"),
    item("IT.VISIT_DER.SLEDAI2K", "SLEDAI2K", "SLEDAI-2K", "integer", method="MT.SLEDAI2K"),
    item("IT.VISIT_DER.SELENA", "SELENA", "SELENA-SLEDAI", "integer", method="MT.SELENA"),
    item("IT.VISIT_DER.CLINICAL_SLEDAI", "CLINSLED", "Clinical SLEDAI-2K", "integer",
         method="MT.CLINSLEDAI"),
    item("IT.VISIT_DER.BILAG_SCORE", "BILAGSC", "BILAG-2004 numeric score", "integer",
         method="MT.BILAG"),
    item("IT.VISIT_DER.SDI", "SDI", "SDI total (null: not assessed)", "integer",
         method="MT.SDI"),
    item("IT.VISIT_DER.EGFR", "EGFRDER", "eGFR as recorded or computed", "float",
         unit="MU.EGFR", method="MT.EGFR"),
    *(item(f"IT.VISIT_DER.{name}", name[:8], f"{name.replace('_', ' ')} outcome",
           codelist="CL.OUTCOME", method="MT.ENDPOINT") for name in _OUTCOMES),
    item("IT.VISIT_DER.CORRECTED", "CORRECTD", "Corrected", "boolean", method="MT.CORRECTED"),
    item("IT.VISIT_DER.RULESVER", "RULESVER", "Rules version", method="MT.RULESVER"),
))  # fmt: skip

ADVERSE_EVENT = ItemGroupDef("IG.AE", "Adverse event", (
    item("IT.AE.TERM", "AETERM", "Reported term"),
    item("IT.AE.CATEGORY", "AECAT", "Category", codelist="CL.AE_CATEGORY"),
    item("IT.AE.ONSET", "AESTDT", "Onset date", "date"),
    item("IT.AE.AWARE_AT", "AWAREDTC", "Site awareness time", "datetime"),
    item("IT.AE.CTCAE", "AETOXGR", "CTCAE v5.0 grade", "integer"),
    *flags("AE.SERIOUS", SeriousCriterion, "Serious criterion"),
    item("IT.AE.RELATEDNESS", "AEREL", "Relatedness to CHT101", codelist="CL.RELATEDNESS"),
    item("IT.AE.CHRONIC_GVHD", "CGVHD", "Chronic GVHD global severity",
         codelist="CL.CHRONIC_GVHD"),
    item("IT.AE.RESOLVED_ON", "AEENDT", "Resolution date", "date"),
    item("IT.AE.REPORTED_AT", "REPDTC", "Reported to the sponsor", "datetime"),
))  # fmt: skip
CRS = ItemGroupDef("IG.CRS", "CRS signs (ASTCT 2019)", (
    item("IT.CRS.TEMPERATURE", "TEMP", "Temperature", "float", unit="MU.CELSIUS"),
    item("IT.CRS.FEVER_MODIFIED", "FEVERMOD", "Antipyretics, tocilizumab or steroids given",
         "boolean"),
    item("IT.CRS.HYPOTENSION", "HYPOTEN", "Hypotension", "boolean"),
    item("IT.CRS.VASOPRESSORS", "VASOPR", "Vasopressors other than vasopressin", "integer"),
    item("IT.CRS.VASOPRESSIN", "VASOPRSN", "Vasopressin given", "boolean"),
    item("IT.CRS.OXYGEN", "OXYGEN", "Oxygen support", codelist="CL.OXYGEN"),
))  # fmt: skip
ICANS = ItemGroupDef("IG.ICANS", "ICANS signs (ASTCT 2019)", (
    item("IT.ICANS.ICE", "ICE", "ICE score (0-10)", "integer"),
    item("IT.ICANS.CONSCIOUSNESS", "CONSC", "Level of consciousness",
         codelist="CL.CONSCIOUSNESS"),
    item("IT.ICANS.SEIZURE", "SEIZURE", "Seizure", codelist="CL.SEIZURE"),
    item("IT.ICANS.MOTOR_WEAKNESS", "MOTOR", "Deep focal motor weakness", "boolean"),
    item("IT.ICANS.EDEMA", "EDEMA", "Raised ICP / cerebral oedema", codelist="CL.EDEMA"),
))  # fmt: skip
GVHD = ItemGroupDef("IG.GVHD", "Acute GVHD organ stages (MAGIC 2016)", tuple(
    item(f"IT.GVHD.{organ}", organ[:8], f"{label} stage (0-4)", "integer")
    for organ, label in (("SKIN", "Skin"), ("LIVER", "Liver"), ("UPPER_GI", "Upper GI"),
                         ("LOWER_GI", "Lower GI"))))  # fmt: skip
AE_DERIVED = ItemGroupDef("IG.AE_DER", "Adverse event grades and reporting clock (derived)", (
    item("IT.AE_DER.SERIOUS", "AESER", "Serious", "boolean", method="MT.SERIOUS"),
    item("IT.AE_DER.CRS_GRADE", "CRSGR", "CRS grade (ASTCT)", "integer", method="MT.TOXGRADE"),
    item("IT.AE_DER.ICANS_GRADE", "ICANSGR", "ICANS grade (ASTCT)", "integer",
         method="MT.TOXGRADE"),
    item("IT.AE_DER.ACUTE_GVHD_GRADE", "AGVHDGR", "Acute GVHD grade (MAGIC, 0-4 for 0-IV)",
         "integer", method="MT.TOXGRADE"),
    item("IT.AE_DER.DUE_AT", "DUEDTC", "SAE report due", "datetime", method="MT.SAEDUE"),
    item("IT.AE_DER.OVERDUE", "OVERDUE", "SAE report overdue at AsOfDateTime", "boolean",
         method="MT.OVERDUE"),
    item("IT.AE_DER.DAYS_FROM_INFUSION", "AESTDY", "Days from infusion to onset", "integer",
         unit="MU.DAYS", method="MT.STUDYDAY"),
))  # fmt: skip

WITHDRAWAL = ItemGroupDef("IG.WITHDRAWAL", "Withdrawal", (
    item("IT.WITHDRAWAL.DATE", "WDDT", "Withdrawal date", "date"),
    item("IT.WITHDRAWAL.REASON", "WDREAS", "Reason", codelist="CL.WITHDRAWAL_REASON"),
    item("IT.WITHDRAWAL.NOTE", "WDNOTE", "Note"),
))  # fmt: skip

F_CONSENT = FormDef("F.CONSENT", "Informed consent", (CONSENT,))
F_SUBJECT = FormDef("F.SUBJECT", "Subject status", (SUBJECT,))
F_SCREENING = FormDef("F.SCREENING", "Screening", (
    SCREENING, LABS, SLEDAI, BILAG, EULAR, EXCLUSIONS, ELIGIBILITY, CRITERIA, DQ))  # fmt: skip
F_INFUSION = FormDef("F.INFUSION", "Infusion", (INFUSION, INFUSION_DERIVED))
F_VISIT = FormDef("F.VISIT", "Visit assessment", (VISIT, SLEDAI, BILAG, SDI, VISIT_DERIVED, DQ))
F_AE = FormDef("F.AE", "Adverse event", (ADVERSE_EVENT, CRS, ICANS, GVHD, AE_DERIVED, DQ),
               repeating=True)  # fmt: skip
F_WITHDRAWAL = FormDef("F.WITHDRAWAL", "Withdrawal", (WITHDRAWAL,))

SE_ENROLMENT = StudyEventDef("SE.ENROLMENT", "Enrolment", (F_CONSENT, F_SUBJECT), kind="Common")
SE_SCREENING = StudyEventDef("SE.SCREENING", "Screening", (F_SCREENING,), repeating=True)
SE_INFUSION = StudyEventDef("SE.INFUSION", "CHT101 infusion", (F_INFUSION,))
SE_VISITS = {
    visit: StudyEventDef(f"SE.{visit.value}", f"Visit {visit.value}", (F_VISIT,))
    for visit in Visit
    if visit is not Visit.SCREENING
}
SE_AE = StudyEventDef("SE.AE", "Adverse events", (F_AE,), kind="Common")
SE_WITHDRAWAL = StudyEventDef("SE.WITHDRAWAL", "Withdrawal", (F_WITHDRAWAL,), kind="Unscheduled")

STUDY_EVENTS: tuple[StudyEventDef, ...] = (
    SE_ENROLMENT, SE_SCREENING, *list(SE_VISITS.values())[:1], SE_INFUSION,
    *list(SE_VISITS.values())[1:], SE_AE, SE_WITHDRAWAL,
)  # fmt: skip


def item_groups() -> dict[str, ItemGroupDef]:
    """Every item group once, by OID, in the order the forms first use them."""
    groups: dict[str, ItemGroupDef] = {}
    for event in STUDY_EVENTS:
        for form in event.forms:
            for group in form.groups:
                groups.setdefault(group.oid, group)
    return groups


def items() -> dict[str, ItemDef]:
    return {i.oid: i for group in item_groups().values() for i in group.items}
