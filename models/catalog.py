"""The default training catalog and the jurisdiction facts Smart Assign uses.

Data only, from docs/smart-assign.md (facts as of late 2025; not legal
advice). A company's rule set starts from these defaults; an edited catalog
is passed to ``workers.smart_assign.plan`` in their place.

Families: every version of harassment prevention (``HP-{REGION}-SUP``,
``HP-{REGION}-EMP``, ``HP-ALL-SUP``) belongs to one family, ``HP``. A
family is "one course" for the learner: an assignment points at the family,
and the version inside it follows the learner's region and role until the
learner starts. Every other training is its own family (family == code).
"""

from __future__ import annotations

from dataclasses import dataclass

SUPERVISOR = "supervisor"
EMPLOYEE = "employee"
ALL = "all"

HP_FAMILY = "HP"

# Harassment prevention regions with their own versions. US states are keyed
# by their ISO 3166-2 suffix; countries by a name, because a bare ISO code
# would collide with a state ("CA" California vs Canada, "DE" Delaware vs
# Germany).
HP_STATES = ("CA", "CO", "CT", "DE", "IL", "ME", "NY", "WA")
HP_COUNTRIES = {"CA": "CANADA", "GB": "UK"}  # ISO 3166-1 alpha-2 -> region key
US_GENERIC = "US"

# Outside the US, Canada and the UK, the doc calls for "a global fallback".
# The generic US version teaches US federal law (Title VII, EEOC), which is
# wrong for an employee in Germany or Australia, so the fallback is a
# jurisdiction-neutral version: HP-GLOBAL-SUP / HP-GLOBAL-EMP. The platform
# must carry that course (it is not in the doc's table); a company that
# prefers another fallback sets it in its rules.
GLOBAL_FALLBACK = "GLOBAL"

# US territories share federal law and take the generic US version, whether
# they arrive as a US subdivision (US-PR) or as their own ISO country (PR).
US_TERRITORIES = frozenset({"AS", "GU", "MP", "PR", "UM", "VI"})

# Region key -> (months, days) after hire or promotion by which a learner
# new to that version must complete it. The table's other deadlines have no
# version of their own here (DC) or need data Herd does not have (seasonal
# workers in CA: 30 days).
LEGAL_DEADLINES: dict[str, tuple[int, int]] = {
    "CA": (6, 0),  # California: 6 months after hire or promotion
    "CT": (6, 0),  # Connecticut: 6 months after hire or becoming a supervisor
    "DE": (12, 0),  # Delaware: 1 year after hire; supervisors 1 year after promotion
    "ME": (12, 0),  # Maine: 1 year after hire or promotion
    "CANADA": (3, 0),  # Canada (federal): 3 months after hire
}
# The longest recertification interval the law allows, in months (docs/smart-assign.md's
# jurisdictions): harassment prevention per region key, plus the overlays by code. A
# company may go longer only after confirming it (the dashboard asks).
LEGAL_CADENCE: dict[str, int] = {"CA": 24, "NY": 12, "IL": 12, "DE": 24, "CT": 120, "CANADA": 36}
LEGAL_CADENCE_BY_CODE: dict[str, int] = {"HP-IL-HOSP": 12, "BYST-CHI": 12}


def legal_cadence(training) -> int | None:
    """The legal maximum months between two trainings of this version, or None when no law sets one."""
    if training.code in LEGAL_CADENCE_BY_CODE:
        return LEGAL_CADENCE_BY_CODE[training.code]
    if training.family == HP_FAMILY and training.region:
        return LEGAL_CADENCE.get(training.region)
    return None


# New York City learners take the NY version, due within 90 days of hire.
NYC_DEADLINE = (0, 90)

HOSPITALITY = "hospitality"


@dataclass(frozen=True)
class Training:
    """One assignable training (a version, for families with several).

    ``region`` is the harassment-prevention region key ("CA", "US", "UK",
    "ALL") or None; ``audience`` is "supervisor", "employee" or "all";
    ``cadence_months`` is the recertification period, None when taken once;
    ``due_days`` the due period of a new assignment, None for the company's.
    """

    code: str
    title: str
    family: str
    region: str | None = None
    audience: str = ALL
    cadence_months: int | None = 12
    due_days: int | None = None


_REGION_TITLES = {
    "US": "United States",
    "CA": "California",
    "CO": "Colorado",
    "CT": "Connecticut",
    "DE": "Delaware",
    "IL": "Illinois",
    "ME": "Maine",
    "NY": "New York",
    "WA": "Washington",
    "CANADA": "Canada",
    "UK": "United Kingdom",
    GLOBAL_FALLBACK: "Global",
}
_HP_CADENCE = {"CA": 24, "DE": 24, "NY": 12, "IL": 12, "CANADA": 36}


def _harassment_prevention() -> tuple[Training, ...]:
    """Build the supervisor and employee versions for every region."""
    versions = []
    for region, name in _REGION_TITLES.items():
        cadence = _HP_CADENCE.get(region, 12)
        versions.append(
            Training(
                f"HP-{region}-SUP", f"Harassment Prevention: {name} Supervisor", HP_FAMILY, region, SUPERVISOR, cadence
            )
        )
        versions.append(
            Training(
                f"HP-{region}-EMP",
                f"Harassment Prevention: {name} Non-Supervisor",
                HP_FAMILY,
                region,
                EMPLOYEE,
                cadence,
            )
        )
    return tuple(versions)


def _own_family(code: str, title: str, cadence_months: int | None = 12) -> Training:
    """A training that is its own family (no regional versions)."""
    return Training(code, title, code, None, ALL, cadence_months)


DEFAULT_CATALOG: tuple[Training, ...] = (
    *_harassment_prevention(),
    Training("HP-ALL-SUP", "Harassment Prevention: All States Supervisor", HP_FAMILY, "ALL", SUPERVISOR, 12),
    _own_family("HP-IL-HOSP", "Illinois Restaurants and Bars Supplement"),
    _own_family("BYST-CHI", "Chicago Bystander Intervention"),
    _own_family("WVP-CA", "California Workplace Violence Prevention (SB 553)"),
    _own_family("CYBER", "Cybersecurity Awareness"),
    _own_family("HIPAA", "HIPAA Essentials"),
    _own_family("ABAC", "Anti-Bribery and Anti-Corruption"),
    _own_family("PRIVACY", "Data Privacy"),
    _own_family("COC", "Code of Conduct and Ethics"),
    _own_family("DEI", "Diversity, Equity and Belonging", None),
    _own_family("BIAS", "Unconscious Bias", None),
    _own_family("BYSTANDER", "Bystander Intervention", None),
)


def by_code(catalog=DEFAULT_CATALOG) -> dict[str, Training]:
    """Index a catalog by training code."""
    return {training.code: training for training in catalog}
