"""The SDTM terms CHT101's values map to: criterion short names, lab tests, instrument items,
disposition terms and the visit numbering."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from domain.vocabulary import (
    AeCategory,
    BilagDomain,
    Relatedness,
    SledaiDescriptor,
    Visit,
    WithdrawalReason,
)

STUDYID = "CHT101"
ARMCD = "CHT101"
ARM = "Universal anti-CD70 CAR-T (CHT101)"

# IETESTCD (at most 8 characters) and IETEST for each criterion code of clinical-rules.md §9.
CRITERIA: dict[str, tuple[str, str]] = {
    "INC1_EULAR_ACR": ("IN01", "Meets the 2019 EULAR/ACR classification criteria for SLE"),
    "INC2_SLEDAI": ("IN02", "SLEDAI-2K score > 6"),
    "INC3_BILAG": ("IN03", "At least one BILAG-2004 A or two B organ domain scores"),
    "INC4_REFRACTORY": ("IN04", "Refractory to conventional therapy or relapse after "
                        "remission"),
    "INC5_AGE": ("IN05", "Aged 18-65 years"),
    "INC6_WBC": ("IN06WBC", "White blood cell count >= 3 x 10^9/L"),
    "INC6_ANC": ("IN06ANC", "Absolute neutrophil count >= 1 x 10^9/L without CSF within 2 "
                 "weeks"),
    "INC6_HEMOGLOBIN": ("IN06HGB", "Haemoglobin >= 60 g/L"),
    "INC6_ALT": ("IN06ALT", "ALT <= 3 x ULN"),
    "INC6_AST": ("IN06AST", "AST <= 3 x ULN"),
    "INC6_BILIRUBIN": ("IN06BILI", "Total bilirubin <= 1.5 x ULN (<= 3 x ULN with Gilbert's "
                       "syndrome)"),
    "INC6_CRCL": ("IN06CRCL", "Creatinine clearance >= 60 mL/min (Cockcroft-Gault)"),
    "INC6_INR": ("IN06INR", "INR <= 1.5 x ULN"),
    "INC6_PT": ("IN06PT", "Prothrombin time <= 1.5 x ULN"),
    "INC6_LVEF": ("IN06LVEF", "Left ventricular ejection fraction >= 55%"),
    "INC7_CONTRACEPTION": ("IN07CONT", "Agrees to contraception during the study and for one "
                           "year after the infusion"),
    "INC7_HCG": ("IN07HCG", "Negative serum hCG within 7 days before enrolment (females of "
                 "childbearing potential)"),
    "INC7_NOT_LACTATING": ("IN07LACT", "Not lactating"),
    "INC8_CONSENT": ("IN08", "Written informed consent"),
    "EXC1": ("EX01", "Neuropsychiatric lupus (NPSLE)"),
    "EXC2": ("EX02", "History of TTP or thrombotic microangiopathy"),
    "EXC3": ("EX03", "History of severe drug allergies or hypersensitivity"),
    "EXC4": ("EX04", "Active or suspected uncontrolled infection requiring treatment"),
    "EXC5": ("EX05", "Central nervous system disorders"),
    "EXC6": ("EX06", "Severe cardiac disease"),
    "EXC7": ("EX07", "Congenital immunoglobulin deficiency"),
    "EXC8": ("EX08", "History of malignancy (with the registry's exceptions)"),
    "EXC9": ("EX09", "End-stage renal failure"),
    "EXC10": ("EX10", "HBV, HCV, HIV or syphilis infection as defined by the registry"),
    "EXC11": ("EX11", "Psychiatric disorder or severe cognitive impairment"),
    "EXC12": ("EX12", "Another clinical trial within 3 months before enrolment"),
    "EXC13": ("EX13", "Pregnant or planning pregnancy"),
    "EXC14": ("EX14", "Other conditions precluding participation (investigator)"),
}  # fmt: skip

# Screening lab (Labs field) → LBTESTCD, LBTEST, LBCAT, unit (None where the contract names
# none), and the Labs field holding its upper limit of normal.
LABS: dict[str, tuple[str, str, str, str | None, str | None]] = {
    "wbc": ("WBC", "Leukocytes", "HEMATOLOGY", "10^9/L", None),
    "anc": ("NEUT", "Neutrophils", "HEMATOLOGY", "10^9/L", None),
    "hemoglobin": ("HGB", "Hemoglobin", "HEMATOLOGY", "g/L", None),
    "platelets": ("PLAT", "Platelets", "HEMATOLOGY", "10^9/L", None),
    "alt": ("ALT", "Alanine Aminotransferase", "CHEMISTRY", None, "alt_uln"),
    "ast": ("AST", "Aspartate Aminotransferase", "CHEMISTRY", None, "ast_uln"),
    "bilirubin": ("BILI", "Bilirubin", "CHEMISTRY", "mg/dL", "bilirubin_uln"),
    "creatinine_mg_dl": ("CREAT", "Creatinine", "CHEMISTRY", "mg/dL", None),
    "inr": ("INR", "Prothrombin Intl. Normalized Ratio", "COAGULATION", None, "inr_uln"),
    "pt": ("PT", "Prothrombin Time", "COAGULATION", None, "pt_uln"),
}

SLEDAI_ITEMS: dict[SledaiDescriptor, str] = {
    descriptor: f"SLED{n:02d}" for n, descriptor in enumerate(SledaiDescriptor, start=1)
}
BILAG_ITEMS: dict[BilagDomain, str] = {
    domain: f"BILAG{n:02d}" for n, domain in enumerate(BilagDomain, start=1)
}

WITHDRAWAL: dict[WithdrawalReason, str] = {
    WithdrawalReason.CONSENT_WITHDRAWN: "WITHDRAWAL BY SUBJECT",
    WithdrawalReason.LOST_TO_FOLLOW_UP: "LOST TO FOLLOW-UP",
    WithdrawalReason.DEATH: "DEATH",
    WithdrawalReason.INVESTIGATOR_DECISION: "PHYSICIAN DECISION",
    WithdrawalReason.OTHER: "OTHER",
}

VISITS: dict[Visit, tuple[float, str]] = {
    Visit.BASELINE: (2.0, "BASELINE"),
    Visit.M1: (3.0, "MONTH 1"),
    Visit.M2: (4.0, "MONTH 2"),
    Visit.M3: (5.0, "MONTH 3"),
    Visit.M6: (6.0, "MONTH 6"),
    Visit.M9: (7.0, "MONTH 9"),
    Visit.M12: (8.0, "MONTH 12"),
}


def screening_visit(index: int) -> tuple[float, str]:
    """VISITNUM and VISIT of the ``index``-th screening (0-based): 1, 1.1, 1.2 …"""
    return round(1 + index / 10, 1), "SCREENING" if index == 0 else f"SCREENING {index + 1}"


@dataclass(frozen=True)
class Terms:
    """A Define-XML code list: the values a variable takes."""

    oid: str
    name: str
    values: tuple[str, ...]


def _terms(oid: str, name: str, values: Iterable[str]) -> Terms:
    return Terms(f"CL.{oid}", name, tuple(dict.fromkeys(values)))


_NY = _terms("NY", "No Yes Response", ("N", "Y"))
_Y = _terms("Y", "Yes Response", ("Y",))
_EPOCH = _terms("EPOCH", "Epoch", ("SCREENING", "TREATMENT", "FOLLOW-UP"))
_UNITS = _terms("UNIT", "Unit", (unit for *_, unit, _ in LABS.values() if unit is not None))
# SUPPAE qualifiers of AE: QNAM → (QLABEL, QORIG)
QUALIFIERS = {
    "CRSGR": ("ASTCT CRS Grade", "Derived"),
    "ICANSGR": ("ASTCT ICANS Grade", "Derived"),
    "AGVHDGR": ("MAGIC Acute GVHD Grade", "Derived"),
    "CGVHDSEV": ("NCCN Chronic GVHD Global Severity", "Collected"),
    "AWAREDTC": ("Date/Time of Site Awareness", "Collected"),
    "REPDTC": ("Date/Time Reported to Sponsor", "Collected"),
}

# Variable name → the code list of its values (the same list wherever the name is used).
CODELISTS: dict[str, Terms] = {
    "SEX": _terms("SEX", "Sex", ("F", "M")),
    "AGEU": _terms("AGEU", "Age Unit", ("YEARS",)),
    "COUNTRY": _terms("COUNTRY", "Country", ("CHN",)),
    **dict.fromkeys(("ARMCD", "ACTARMCD"), _terms("ARMCD", "Arm Code", (ARMCD,))),
    **dict.fromkeys(("ARM", "ACTARM"), _terms("ARM", "Arm", (ARM,))),
    "ARMNRS": _terms("ARMNRS", "Reason Arm Null",
                     ("SCREEN FAILURE", "NOT ASSIGNED", "ASSIGNED, NOT TREATED")),
    "DTHFL": _Y,
    "RSDRVFL": _Y,
    "EPOCH": _EPOCH,
    "DSCAT": _terms("DSCAT", "Category for Disposition Event",
                    ("PROTOCOL MILESTONE", "DISPOSITION EVENT")),
    "DSDECOD": _terms("DSDECOD", "Standardized Disposition Term",
                      ("INFORMED CONSENT OBTAINED", "SCREEN FAILURE", "COMPLETED",
                       *WITHDRAWAL.values())),
    "EXTRT": _terms("EXTRT", "Treatment", ("CHT101",)),
    "EXDOSU": _terms("EXDOSU", "Dose Unit", ("cells/kg",)),
    "EXDOSFRM": _terms("EXDOSFRM", "Dose Form", ("SUSPENSION",)),
    "EXROUTE": _terms("EXROUTE", "Route of Administration", ("INTRAVENOUS",)),
    "AECAT": _terms("AECAT", "Category for Adverse Event", (c.value for c in AeCategory)),
    "AEREL": _terms("AEREL", "Causality", (r.value for r in Relatedness)),
    "AETOXGR": _terms("AETOXGR", "CTCAE Grade", ("1", "2", "3", "4", "5")),
    **dict.fromkeys(("AESER", "AESCONG", "AESDISAB", "AESDTH", "AESHOSP", "AESLIFE", "AESMIE",
                     "IEORRES", "IESTRESC"), _NY),
    "RDOMAIN": _terms("RDOMAIN", "Related Domain", ("AE",)),
    "IDVAR": _terms("IDVAR", "Identifying Variable", ("AESEQ",)),
    "QNAM": _terms("QNAM", "Qualifier Variable Name", QUALIFIERS),
    "QORIG": _terms("QORIG", "Origin", ("Collected", "Derived")),
    "IETESTCD": _terms("IETESTCD", "Criterion Short Name", (s for s, _ in CRITERIA.values())),
    "IECAT": _terms("IECAT", "Inclusion/Exclusion Category", ("INCLUSION", "EXCLUSION")),
    "LBTESTCD": _terms("LBTESTCD", "Lab Test Code", (*(t[0] for t in LABS.values()), "HCG")),
    "LBCAT": _terms("LBCAT", "Category for Lab Test", (t[2] for t in LABS.values())),
    "LBORRESU": _UNITS,
    "LBSTRESU": _UNITS,
    "RSTESTCD": _terms("RSTESTCD", "Assessment Short Name",
                       (*SLEDAI_ITEMS.values(), "SLEDTOT", *BILAG_ITEMS.values(), "BILAGTOT",
                        "PGA")),
    "RSCAT": _terms("RSCAT", "Category for Assessment", ("SLEDAI-2K", "BILAG-2004", "PGA")),
    "RSEVAL": _terms("RSEVAL", "Evaluator", ("INVESTIGATOR",)),
}  # fmt: skip
