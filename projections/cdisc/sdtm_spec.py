"""The SDTM datasets of CHT101 (SDTMIG 3.4): each variable's name, label, type and origin.

Names are at most 8 characters and labels at most 40, as SAS V5 transport files require; the
labels are SDTMIG's. ``data_type`` is Define-XML's: text, integer, float, date, datetime.
"""

from __future__ import annotations

from dataclasses import dataclass

SDTMIG_VERSION = "3.4"


@dataclass(frozen=True)
class Variable:
    name: str
    label: str
    data_type: str = "text"
    origin: str = "Collected"  # Define-XML 2.1 def:Origin Type
    mandatory: bool = False  # SDTMIG core: Required
    method: str | None = None  # for a derived variable: how (Define-XML MethodDef)
    comment: str | None = None
    pii: bool = False  # left out of exports for roles without access to personal data


@dataclass(frozen=True)
class Dataset:
    name: str
    label: str
    structure: str
    class_: str  # SDTM observation class (Define-XML 2.1 def:Class)
    keys: tuple[str, ...]
    variables: tuple[Variable, ...]

    def column(self, name: str) -> Variable:
        return next(v for v in self.variables if v.name == name)

    def without_pii(self) -> Dataset:
        """The dataset as a role without access to personal data receives it."""
        kept = tuple(v for v in self.variables if not v.pii)
        return Dataset(self.name, self.label, self.structure, self.class_, self.keys, kept)


def _v(name: str, label: str, data_type: str = "text", origin: str = "Collected",
       *, mandatory: bool = False, method: str | None = None,
       comment: str | None = None) -> Variable:  # fmt: skip
    return Variable(name, label, data_type, origin, mandatory, method, comment)


STUDY_DAY = "Date minus the reference start date (RFSTDTC), plus 1 on or after it (no day 0)"


def _identifiers(domain: str) -> tuple[Variable, ...]:
    return (
        _v("STUDYID", "Study Identifier", origin="Assigned", mandatory=True),
        _v("DOMAIN", "Domain Abbreviation", origin="Assigned", mandatory=True),
        _v("USUBJID", "Unique Subject Identifier", origin="Assigned", mandatory=True,
           comment="CHT101- followed by the subject identifier"),
        _v(f"{domain}SEQ", "Sequence Number", "integer", "Derived", mandatory=True,
           method="Numbered 1, 2, ... per subject in the dataset's key order"),
    )  # fmt: skip


def _day(name: str, label: str) -> Variable:
    return _v(name, label, "integer", "Derived", method=STUDY_DAY)


def _visit() -> tuple[Variable, ...]:
    return (
        _v("VISITNUM", "Visit Number", "float", "Assigned"),
        _v("VISIT", "Visit Name", origin="Assigned"),
        _v("EPOCH", "Epoch", origin="Derived", method="SCREENING before the infusion date, "
           "TREATMENT on it, FOLLOW-UP after it"),
    )  # fmt: skip


DM = Dataset("DM", "Demographics", "One record per subject", "SPECIAL PURPOSE",
             ("STUDYID", "USUBJID"), (
    _v("STUDYID", "Study Identifier", origin="Assigned", mandatory=True),
    _v("DOMAIN", "Domain Abbreviation", origin="Assigned", mandatory=True),
    _v("USUBJID", "Unique Subject Identifier", origin="Assigned", mandatory=True),
    _v("SUBJID", "Subject Identifier for the Study", mandatory=True),
    _v("RFSTDTC", "Subject Reference Start Date/Time", "datetime", "Derived",
       method="The CHT101 infusion, in the trial's local time"),
    _v("RFENDTC", "Subject Reference End Date/Time", "date", "Derived",
       method="The withdrawal date, else the M12 visit date"),
    _v("RFXSTDTC", "Date/Time of First Study Treatment", "datetime", "Derived",
       method="The CHT101 infusion (one dose)"),
    _v("RFXENDTC", "Date/Time of Last Study Treatment", "datetime", "Derived",
       method="The CHT101 infusion (one dose)"),
    _v("RFICDTC", "Date/Time of Informed Consent", "date"),
    _v("RFPENDTC", "Date/Time of End of Participation", "date", "Derived",
       method="The withdrawal date, else the M12 visit date"),
    _v("DTHDTC", "Date/Time of Death", "date", "Derived",
       method="The withdrawal date when withdrawn for death; otherwise not recorded here "
       "(an AE of grade 5 sets DTHFL without a date)"),
    _v("DTHFL", "Subject Death Flag", origin="Derived",
       method="Y: withdrawn for death, or an AE with CTCAE grade 5 or the death criterion"),
    _v("SITEID", "Study Site Identifier", mandatory=True),
    Variable("BRTHDTC", "Date/Time of Birth", "date",
             comment="Only in exports for roles with access to personal data", pii=True),
    _v("AGE", "Age", "integer", "Derived", method="Completed years at informed consent"),
    _v("AGEU", "Age Units", origin="Assigned"),
    _v("SEX", "Sex", mandatory=True),
    _v("RACE", "Race", comment="Not collected by this trial"),
    _v("ETHNIC", "Ethnicity", comment="Not collected by this trial"),
    _v("ARMCD", "Planned Arm Code", origin="Assigned"),
    _v("ARM", "Description of Planned Arm", origin="Assigned"),
    _v("ACTARMCD", "Actual Arm Code", origin="Derived", method="CHT101 once infused"),
    _v("ACTARM", "Description of Actual Arm", origin="Derived", method="CHT101 once infused"),
    _v("ARMNRS", "Reason Arm and/or Actual Arm is Null", origin="Derived",
       method="SCREEN FAILURE, NOT ASSIGNED (not screened) or ASSIGNED, NOT TREATED"),
    _v("COUNTRY", "Country", origin="Assigned", mandatory=True),
    _v("DMDTC", "Date/Time of Collection", "date", comment="The informed consent date"),
    _day("DMDY", "Study Day of Collection"),
))  # fmt: skip

DS = Dataset("DS", "Disposition", "One record per disposition status or protocol milestone "
             "per subject", "EVENTS", ("STUDYID", "USUBJID", "DSSTDTC", "DSDECOD"), (
    *_identifiers("DS"),
    _v("DSTERM", "Reported Term for the Disposition Event", mandatory=True),
    _v("DSDECOD", "Standardized Disposition Term", origin="Assigned", mandatory=True),
    _v("DSCAT", "Category for Disposition Event", origin="Assigned"),
    _v("EPOCH", "Epoch", origin="Derived", method="The epoch of the disposition date"),
    _v("DSSTDTC", "Start Date/Time of Disposition Event", "date"),
    _day("DSSTDY", "Study Day of Start of Disposition Event"),
))  # fmt: skip

EX = Dataset("EX", "Exposure", "One record per constant dosing interval per subject",
             "INTERVENTIONS", ("STUDYID", "USUBJID", "EXTRT", "EXSTDTC"), (
    *_identifiers("EX"),
    _v("EXTRT", "Name of Treatment", origin="Assigned", mandatory=True),
    _v("EXDOSE", "Dose", "float"),
    _v("EXDOSU", "Dose Units", origin="Assigned"),
    _v("EXDOSFRM", "Dose Form", origin="Assigned"),
    _v("EXROUTE", "Route of Administration", origin="Assigned"),
    _v("EXLOT", "Lot Number"),
    _v("EPOCH", "Epoch", origin="Assigned"),
    _v("EXSTDTC", "Start Date/Time of Treatment", "datetime"),
    _v("EXENDTC", "End Date/Time of Treatment", "datetime"),
    _day("EXSTDY", "Study Day of Start of Treatment"),
    _day("EXENDY", "Study Day of End of Treatment"),
))  # fmt: skip

_SERIOUS = "Y when the ICH E2A criterion was recorded"
AE = Dataset("AE", "Adverse Events", "One record per adverse event per subject", "EVENTS",
             ("STUDYID", "USUBJID", "AESTDTC", "AESPID"), (
    *_identifiers("AE"),
    _v("AESPID", "Sponsor-Defined Identifier", comment="The site's AE id"),
    _v("AETERM", "Reported Term for the Adverse Event", mandatory=True),
    _v("AEDECOD", "Dictionary-Derived Term", origin="Not Available", mandatory=True,
       comment="Not coded here: MedDRA coding is done by the sponsor"),
    _v("AECAT", "Category for Adverse Event"),
    _v("AESER", "Serious Event", origin="Derived", method="Y when any serious criterion is "
       "recorded (ICH E2A)"),
    _v("AEREL", "Causality"),
    _v("AESCONG", "Congenital Anomaly or Birth Defect", origin="Derived", method=_SERIOUS),
    _v("AESDISAB", "Persist or Signif Disability/Incapacity", origin="Derived",
       method=_SERIOUS),
    _v("AESDTH", "Results in Death", origin="Derived", method=_SERIOUS),
    _v("AESHOSP", "Requires or Prolongs Hospitalization", origin="Derived", method=_SERIOUS),
    _v("AESLIFE", "Is Life Threatening", origin="Derived", method=_SERIOUS),
    _v("AESMIE", "Other Medically Important Serious Event", origin="Derived",
       method=_SERIOUS),
    _v("AETOXGR", "Standard Toxicity Grade", comment="NCI CTCAE v5.0"),
    _v("EPOCH", "Epoch", origin="Derived", method="The epoch of the onset date"),
    _v("AESTDTC", "Start Date/Time of Adverse Event", "date"),
    _v("AEENDTC", "End Date/Time of Adverse Event", "date"),
    _day("AESTDY", "Study Day of Start of Adverse Event"),
    _day("AEENDY", "Study Day of End of Adverse Event"),
))  # fmt: skip

SUPPAE = Dataset("SUPPAE", "Supplemental Qualifiers for AE", "One record per supplemental "
                 "qualifier per related parent domain record", "RELATIONSHIP",
                 ("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM"), (
    _v("STUDYID", "Study Identifier", origin="Assigned", mandatory=True),
    _v("RDOMAIN", "Related Domain Abbreviation", origin="Assigned", mandatory=True),
    _v("USUBJID", "Unique Subject Identifier", origin="Assigned", mandatory=True),
    _v("IDVAR", "Identifying Variable", origin="Assigned"),
    _v("IDVARVAL", "Identifying Variable Value", origin="Assigned"),
    _v("QNAM", "Qualifier Variable Name", origin="Assigned", mandatory=True),
    _v("QLABEL", "Qualifier Variable Label", origin="Assigned", mandatory=True),
    _v("QVAL", "Data Value", mandatory=True),
    _v("QORIG", "Origin", origin="Assigned", mandatory=True),
    _v("QEVAL", "Evaluator", origin="Assigned"),
))  # fmt: skip

IE = Dataset("IE", "Inclusion/Exclusion Criteria Not Met", "One record per inclusion/"
             "exclusion criterion not met per subject", "FINDINGS",
             ("STUDYID", "USUBJID", "VISITNUM", "IETESTCD"), (
    *_identifiers("IE"),
    _v("IETESTCD", "Inclusion/Exclusion Criterion Short Name", origin="Assigned",
       mandatory=True),
    _v("IETEST", "Inclusion/Exclusion Criterion", origin="Protocol", mandatory=True),
    _v("IECAT", "Inclusion/Exclusion Category", origin="Assigned", mandatory=True),
    _v("IEORRES", "I/E Criterion Original Result", origin="Derived", mandatory=True,
       method="N for an inclusion not met or missing, Y for an exclusion that applies (§9)"),
    _v("IESTRESC", "I/E Criterion Result in Std Format", origin="Derived", mandatory=True,
       method="As IEORRES"),
    *_visit(),
    _v("IEDTC", "Date/Time of Collection", "date", comment="The screening date"),
    _day("IEDY", "Study Day of Collection"),
))  # fmt: skip

LB = Dataset("LB", "Laboratory Test Results", "One record per lab test per time point per "
             "visit per subject", "FINDINGS", ("STUDYID", "USUBJID", "VISITNUM", "LBTESTCD"), (
    *_identifiers("LB"),
    _v("LBTESTCD", "Lab Test or Examination Short Name.", origin="Assigned", mandatory=True),
    _v("LBTEST", "Lab Test or Examination Name", origin="Assigned", mandatory=True),
    _v("LBCAT", "Category for Lab Test", origin="Assigned"),
    _v("LBORRES", "Result or Finding in Original Units"),
    _v("LBORRESU", "Original Units", origin="Assigned"),
    _v("LBORNRHI", "Reference Range Upper Limit in Orig Unit"),
    _v("LBSTRESC", "Character Result/Finding in Std Format", origin="Derived",
       method="As LBORRES (results are recorded in standard units)"),
    _v("LBSTRESN", "Numeric Result/Finding in Standard Units", "float", "Derived",
       method="LBSTRESC as a number"),
    _v("LBSTRESU", "Standard Units", origin="Assigned"),
    _v("LBSTNRHI", "Reference Range Upper Limit-Std Units", "float", "Derived",
       method="LBORNRHI as a number"),
    *_visit(),
    _v("LBDTC", "Date/Time of Specimen Collection", "date",
       comment="The screening date; for hCG, the date of the negative test"),
    _day("LBDY", "Study Day of Specimen Collection"),
))  # fmt: skip

RS = Dataset("RS", "Disease Response and Clin Classification", "One record per response "
             "assessment or clinical classification assessment per time point per visit per "
             "subject", "FINDINGS", ("STUDYID", "USUBJID", "RSCAT", "VISITNUM", "RSTESTCD"), (
    *_identifiers("RS"),
    _v("RSTESTCD", "Assessment Short Name", origin="Assigned", mandatory=True),
    _v("RSTEST", "Assessment Name", origin="Assigned", mandatory=True),
    _v("RSCAT", "Category for Assessment", origin="Assigned"),
    _v("RSORRES", "Result or Finding in Original Units"),
    _v("RSSTRESC", "Character Result/Finding in Std Format", origin="Derived",
       method="The standardized numeric result as text: SLEDAI-2K, the descriptor's weight "
       "when present, else 0; BILAG-2004, A=12, B=8, C=1, D=E=0; PGA as recorded; totals "
       "as derived"),
    _v("RSSTRESN", "Numeric Result/Finding in Standard Units", "float", "Derived",
       method="RSSTRESC as a number"),
    _v("RSDRVFL", "Derived Flag", origin="Assigned",
       comment="Y for totals derived here from the recorded items"),
    _v("RSEVAL", "Evaluator", origin="Assigned"),
    *_visit(),
    _v("RSDTC", "Date/Time of Assessment", "date"),
    _day("RSDY", "Study Day of Assessment"),
))  # fmt: skip

DATASETS: dict[str, Dataset] = {d.name: d for d in (DM, DS, EX, AE, SUPPAE, IE, LB, RS)}


def datasets(*, pii: bool) -> dict[str, Dataset]:
    """Every dataset as a role with (or without) access to personal data receives it."""
    return DATASETS if pii else {name: d.without_pii() for name, d in DATASETS.items()}
