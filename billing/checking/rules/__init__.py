"""Every claim rule, one small module per concern, in the order the engine runs them."""

from billing.checking.rules.addons import AddonWithoutPrimary
from billing.checking.rules.base import Rule
from billing.checking.rules.claim import (
    ClaimNoDiagnosis,
    DateOfServiceAfterSubmission,
    DuplicateLine,
    NpiInvalid,
    PlaceOfServiceUnknown,
    TimelyFiling,
)
from billing.checking.rules.codes import ProcedureCodeNotInEffect, ProcedureCodeUnknown
from billing.checking.rules.coverage import CodingNotLoaded
from billing.checking.rules.diagnoses import (
    DiagnosisCodeUnknown,
    DiagnosisDuplicate,
    DiagnosisNotBillable,
    DiagnosisNotInEffect,
    DiagnosisPointerDuplicate,
    DiagnosisPointerInvalid,
)
from billing.checking.rules.fees import FeeScheduleStatus
from billing.checking.rules.frequency import FrequencyLimit, FrequencyNotChecked
from billing.checking.rules.modifiers import ModifierNotApplicable, ModifierNotInEffect, ModifierUnknown
from billing.checking.rules.mue import UnitsExceedMue
from billing.checking.rules.ncci import NcciPtpConflict
from billing.checking.rules.payer import (
    PayerNotCovered,
    PayerPlaceOfService,
    PayerRequiresConditionCode,
    PayerRequiresDiagnosis,
    PayerRequiresModifier,
    PayerRequiresPriorAuth,
    PayerRequiresTrialNumber,
    PayerTrialNotApproved,
    PayerUnknown,
)

ALL_RULES: tuple[type[Rule], ...] = (
    CodingNotLoaded,
    PayerUnknown,
    PlaceOfServiceUnknown,
    NpiInvalid,
    ClaimNoDiagnosis,
    DateOfServiceAfterSubmission,
    TimelyFiling,
    ProcedureCodeUnknown,
    ProcedureCodeNotInEffect,
    DiagnosisCodeUnknown,
    DiagnosisNotBillable,
    DiagnosisNotInEffect,
    DiagnosisPointerInvalid,
    DiagnosisDuplicate,
    DiagnosisPointerDuplicate,
    ModifierUnknown,
    ModifierNotInEffect,
    ModifierNotApplicable,
    DuplicateLine,
    NcciPtpConflict,
    UnitsExceedMue,
    FeeScheduleStatus,
    PayerNotCovered,
    PayerRequiresModifier,
    PayerRequiresDiagnosis,
    PayerRequiresTrialNumber,
    PayerTrialNotApproved,
    PayerRequiresPriorAuth,
    PayerPlaceOfService,
    PayerRequiresConditionCode,
    AddonWithoutPrimary,
    FrequencyLimit,
    FrequencyNotChecked,
)

__all__ = ["ALL_RULES", "Rule"]
