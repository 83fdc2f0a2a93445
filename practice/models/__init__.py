"""Who bills what to whom, and the payers' rules: one module per concern, every model importable from here.

practices.py: Practice, Location, Provider, PracticeMembership (which users work for which practice); payers.py:
Payer, PracticePayer; profiles.py: ProcedureProfile with its ProfileCodes; rules.py: PayerRule, effective-dated,
audited versions of a payer's rule for a set of procedure codes; access.py: AccessStamp. The claim checker never
reads these models: ``practice.selectors`` turns them into the plain objects of ``practice.policy``.
"""

from practice.models.access import AccessStamp
from practice.models.payers import Payer, PracticePayer
from practice.models.practices import (
    CERTAINTY_CHOICES,
    SEVERITY_CHOICES,
    SEVERITY_ERROR,
    SEVERITY_WARNING,
    Location,
    Practice,
    PracticeMembership,
    Provider,
    default_time_zone,
    validate_time_zone,
)
from practice.models.profiles import ProcedureProfile, ProfileCode
from practice.models.rules import PayerRule, PayerRuleQuerySet

__all__ = [
    "CERTAINTY_CHOICES",
    "SEVERITY_CHOICES",
    "SEVERITY_ERROR",
    "SEVERITY_WARNING",
    "AccessStamp",
    "Location",
    "Payer",
    "PayerRule",
    "PayerRuleQuerySet",
    "Practice",
    "PracticeMembership",
    "PracticePayer",
    "ProcedureProfile",
    "ProfileCode",
    "Provider",
    "default_time_zone",
    "validate_time_zone",
]
