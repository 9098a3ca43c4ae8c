"""Smart Assign decisions on learner profiles (workers.smart_assign), no app, no database."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from models.catalog import DEFAULT_CATALOG
from workers.smart_assign import (
    ARCHIVED,
    ASSIGNED,
    COMPLETED,
    IN_PROGRESS,
    Assignment,
    CompanySettings,
    Profile,
    add_months,
    apply_plan,
    city_of,
    plan,
    required_trainings,
)

NOW = datetime(2025, 11, 3, 9, 30, tzinfo=UTC)
DEFAULT = CompanySettings()

CA_EMPLOYEE = Profile(region="US-CA", country="US", role="non-supervisor")
CA_SUPERVISOR = Profile(region="US-CA", country="US", role="supervisor")
NY_EMPLOYEE = Profile(region="US-NY", country="US", role="non-supervisor")
TX_EMPLOYEE = Profile(region="US-TX", country="US", role="non-supervisor")


def done(code, completed_at, family=None, cycle=1):
    """A completed assignment."""
    family = family or ("HP" if code.startswith("HP-") and code != "HP-IL-HOSP" else code)
    return Assignment(
        code,
        family,
        cycle,
        COMPLETED,
        100,
        completed_at - timedelta(days=10),
        completed_at - timedelta(days=1),
        completed_at,
    )


def open_(code, progress=0, status=None, family=None, cycle=1, due_at=None):
    """An open (assigned or in-progress) assignment made 5 days ago."""
    family = family or ("HP" if code.startswith("HP-") and code != "HP-IL-HOSP" else code)
    status = status or (IN_PROGRESS if progress else ASSIGNED)
    return Assignment(
        code, family, cycle, status, progress, NOW - timedelta(days=5), due_at or NOW + timedelta(days=25), None
    )


def added(result):
    """{code: due_at} of the assignments a plan adds."""
    return {a.code: a.due_at for a in result.add}


def converge(profile, existing=(), settings=DEFAULT, previous=None, now=NOW):
    """Plan and apply once; return the assignments afterwards."""
    result = plan(profile, previous, list(existing), settings, now)
    return apply_plan(list(existing), result, now)


# --- who gets what -----------------------------------------------------------


def test_new_california_supervisor_gets_ca_supervisor_version_and_violence_prevention():
    result = plan(CA_SUPERVISOR, None, [], DEFAULT, NOW)

    assert added(result) == {"HP-CA-SUP": NOW + timedelta(days=30), "WVP-CA": NOW + timedelta(days=30)}
    assert result.region == "CA"
    assert not result.role_flagged


def test_new_texas_employee_gets_generic_us_employee_version():
    result = plan(TX_EMPLOYEE, None, [], DEFAULT, NOW)

    assert added(result) == {"HP-US-EMP": NOW + timedelta(days=30)}


@pytest.mark.parametrize(
    "profile, expected",
    [
        (Profile(region="US-CO", country="US"), "HP-CO-EMP"),
        (Profile(region="US-WA", country="US", role="supervisor"), "HP-WA-SUP"),
        (Profile(region="US-DE", country="US", role="supervisor"), "HP-DE-SUP"),
        (Profile(region="US-FL", country="US"), "HP-US-EMP"),
        (Profile(country="US"), "HP-US-EMP"),  # a US learner without a state
        (Profile(region="US-PR", country="US"), "HP-US-EMP"),  # territories take the US version
        (Profile(country="PR"), "HP-US-EMP"),
        (Profile(country="CA", region="CA-ON", role="supervisor"), "HP-CANADA-SUP"),
        (Profile(country="CA"), "HP-CANADA-EMP"),
        (Profile(country="GB", region="GB-SCT"), "HP-UK-EMP"),
        (Profile(country="DE", region="DE-BY"), "HP-GLOBAL-EMP"),  # Germany, not Delaware
        (Profile(country="AU", role="supervisor"), "HP-GLOBAL-SUP"),
    ],
)
def test_region_picks_the_harassment_prevention_version(profile, expected):
    assert required_trainings(profile)[0] == expected


def test_canadian_learner_gets_canada_version_due_within_three_months_at_the_latest():
    result = plan(Profile(country="CA", region="CA-QC"), None, [], CompanySettings(due_days=400), NOW)

    assert added(result) == {"HP-CANADA-EMP": add_months(NOW, 3)}


def test_uk_learner_gets_uk_version_only():
    result = plan(Profile(country="GB", region="GB-ENG", role="supervisor"), None, [], DEFAULT, NOW)

    assert list(added(result)) == ["HP-UK-SUP"]


def test_learner_without_any_location_gets_global_version_and_is_flagged():
    result = plan(Profile(role="supervisor"), None, [], DEFAULT, NOW)

    assert list(added(result)) == ["HP-GLOBAL-SUP"]
    assert result.location_unknown


@pytest.mark.parametrize("role", ["manager", "", None, "Team Lead"])
def test_unknown_role_is_treated_as_non_supervisor_and_flagged(role):
    result = plan(Profile(region="US-NY", country="US", role=role), None, [], DEFAULT, NOW)

    assert list(added(result)) == ["HP-NY-EMP"]
    assert result.role_flagged


@pytest.mark.parametrize("location", ["Chicago", "Chicago, IL", "chicago il 60601, USA"])
def test_chicago_learner_gets_illinois_version_and_chicago_bystander(location):
    result = plan(Profile(location=location, role="supervisor"), None, [], DEFAULT, NOW)

    assert list(added(result)) == ["HP-IL-SUP", "BYST-CHI"]


def test_chicago_overlay_ignored_when_the_state_says_elsewhere():
    assert required_trainings(Profile(region="US-CA", country="US", location="Chicago")) == ["HP-CA-EMP", "WVP-CA"]


def test_new_york_city_learner_gets_ny_version_due_within_90_days_at_the_latest():
    result = plan(Profile(location="New York City"), None, [], CompanySettings(due_days=400), NOW)

    # NYC content is inside the NY course: no extra training, only its deadline.
    assert added(result) == {"HP-NY-EMP": NOW + timedelta(days=90)}


@pytest.mark.parametrize(
    "industry, expected",
    [
        ("hospitality", ["HP-IL-EMP", "HP-IL-HOSP"]),
        ("Hospitality", ["HP-IL-EMP", "HP-IL-HOSP"]),
        ("retail", ["HP-IL-EMP"]),
        (None, ["HP-IL-EMP"]),
    ],
)
def test_illinois_hospitality_supplement(industry, expected):
    profile = Profile(region="US-IL", country="US")
    assert required_trainings(profile, CompanySettings(industry=industry)) == expected


def test_hospitality_supplement_only_for_illinois():
    profile = Profile(region="US-NY", country="US")
    assert required_trainings(profile, CompanySettings(industry="hospitality")) == ["HP-NY-EMP"]


def test_tags_assign_their_trainings_and_unknown_tags_are_reported_only():
    profile = Profile(region="US-TX", country="US", tags=("CYBER", "hipaa", "NOPE", "ZZZ-9"))
    result = plan(profile, None, [], DEFAULT, NOW)

    assert list(added(result)) == ["HP-US-EMP", "CYBER", "HIPAA"]
    assert result.unknown_tags == ("NOPE", "ZZZ-9")


def test_tagged_employee_version_is_covered_by_the_supervisor_version():
    profile = Profile(region="US-CA", country="US", role="supervisor", tags=("HP-CA-EMP",))

    assert "HP-CA-EMP" not in added(plan(profile, None, [], DEFAULT, NOW))


# --- changes -------------------------------------------------------------------


@pytest.mark.parametrize(
    "profile, due_days, expected_due",
    [
        (CA_SUPERVISOR, 30, NOW + timedelta(days=30)),  # the company's period is earlier
        (CA_SUPERVISOR, 400, add_months(NOW, 6)),  # the CA legal deadline is earlier
        (Profile(region="US-CT", country="US", role="supervisor"), 400, add_months(NOW, 6)),
        (Profile(region="US-ME", country="US", role="supervisor"), 400, add_months(NOW, 12)),
        (Profile(region="US-NY", country="US", role="supervisor"), 400, NOW + timedelta(days=400)),
    ],
)
def test_promotion_assigns_supervisor_version_due_at_earlier_of_due_period_and_legal_deadline(
    profile, due_days, expected_due
):
    employee = Profile(region=profile.region, country="US", role="non-supervisor")
    code = f"HP-{profile.region[3:]}-EMP"
    existing = [done(code, NOW - timedelta(days=60))]

    result = plan(profile, employee, existing, CompanySettings(due_days=due_days), NOW)

    sup = code.replace("EMP", "SUP")
    assert added(result)[sup] == expected_due
    assert "promoted to supervisor" in next(a.reason for a in result.add if a.code == sup)


def test_promotion_before_starting_switches_the_open_employee_version():
    existing = [open_("HP-CA-EMP", progress=5, due_at=NOW + timedelta(days=395)), open_("WVP-CA")]

    result = plan(CA_SUPERVISOR, CA_EMPLOYEE, existing, CompanySettings(due_days=400), NOW)

    assert result.add == ()
    [change] = result.retarget
    assert (change.family, change.cycle, change.code) == ("HP", 1, "HP-CA-SUP")
    assert change.due_at == add_months(NOW, 6)  # legal deadline beats the old due date


def test_demotion_assigns_nothing_new_and_keeps_everything():
    existing = [done("HP-CA-SUP", NOW - timedelta(days=100)), open_("WVP-CA", progress=40)]

    result = plan(CA_EMPLOYEE, CA_SUPERVISOR, existing, DEFAULT, NOW)

    assert not result.changes


def test_demotion_keeps_a_started_supervisor_course_and_switches_an_unstarted_one_back():
    # Started (> 10 %): pinned, and it covers the employee version.
    started = [open_("HP-CA-SUP", progress=40), open_("WVP-CA")]
    assert not plan(CA_EMPLOYEE, CA_SUPERVISOR, started, DEFAULT, NOW).changes
    # Unstarted: the version follows the learner, so a promotion that is undone leaves nothing behind.
    unstarted = [open_("HP-CA-SUP"), open_("WVP-CA")]
    result = plan(CA_EMPLOYEE, CA_SUPERVISOR, unstarted, DEFAULT, NOW)
    assert [(r.code, r.cycle, r.due_at) for r in result.retarget] == [("HP-CA-EMP", 1, unstarted[0].due_at)]
    assert result.add == () and result.withdraw == ()


def test_a_switch_never_makes_an_on_time_learner_late_and_its_reversal_gives_the_date_back():
    # The company gives its employee course 90 days; the supervisor course has the company's 30.
    catalog = [replace(t, due_days=90) if t.code == "HP-CA-EMP" else t for t in DEFAULT_CATALOG]
    settings = CompanySettings(due_days=30)
    emp = Assignment("HP-CA-EMP", "HP", 1, ASSIGNED, 0, NOW - timedelta(days=50), NOW + timedelta(days=40), None)
    wvp = open_("WVP-CA")

    promoted = plan(CA_SUPERVISOR, CA_EMPLOYEE, [emp, wvp], settings, NOW, catalog)

    # 30 days from the assignment date passed 20 days ago: due 30 days from now instead, not overdue at once.
    [switch] = promoted.retarget
    assert (switch.code, switch.due_at, promoted.overdue) == ("HP-CA-SUP", NOW + timedelta(days=30), ())
    # The promotion undone: the employee course is due when it was before.
    undone = plan(CA_EMPLOYEE, CA_SUPERVISOR, apply_plan([emp, wvp], promoted, NOW), settings, NOW, catalog)
    assert [(r.code, r.due_at) for r in undone.retarget] == [("HP-CA-EMP", emp.due_at)]
    # Late already before the switch: still late after it (a switch buys no time).
    late = replace(emp, assigned_at=NOW - timedelta(days=100), due_at=NOW - timedelta(days=10))
    assert plan(CA_SUPERVISOR, CA_EMPLOYEE, [late, wvp], settings, NOW, catalog).retarget[0].due_at < NOW


def test_move_ca_to_ny_keeps_ca_work_and_counts_ny_recertification_from_ca_completion():
    completed_on = NOW - timedelta(days=90)
    existing = [done("HP-CA-EMP", completed_on), done("WVP-CA", completed_on)]

    result = plan(NY_EMPLOYEE, CA_EMPLOYEE, existing, DEFAULT, NOW)
    after = apply_plan(existing, result, NOW)

    [new] = result.add
    assert (new.code, new.family, new.cycle) == ("HP-NY-EMP", "HP", 2)
    assert new.due_at == add_months(completed_on, 12)  # NY is annual, from the CA completion
    assert new.reason.startswith("moved from US-CA to US-NY:")
    assert set(existing) <= set(after)  # the completed CA work is still there, unchanged


def test_move_after_the_recertification_date_is_due_within_the_company_period():
    existing = [done("HP-CA-EMP", NOW - timedelta(days=500))]  # still valid in CA (2 years)

    result = plan(NY_EMPLOYEE, CA_EMPLOYEE, existing, DEFAULT, NOW)

    assert added(result) == {"HP-NY-EMP": NOW + timedelta(days=30)}


def test_move_into_california_respects_the_legal_deadline():
    existing = [done("HP-US-EMP", NOW - timedelta(days=30))]

    result = plan(CA_EMPLOYEE, TX_EMPLOYEE, existing, DEFAULT, NOW)

    # From the US completion CA would be due in ~23 months; CA law says 6.
    assert added(result)["HP-CA-EMP"] == add_months(NOW, 6)


@pytest.mark.parametrize("progress, kept", [(0, False), (10, False), (11, True), (90, True)])
def test_move_keeps_started_work_and_switches_unstarted_work(progress, kept):
    existing = [open_("HP-CA-EMP", progress=progress)]

    result = plan(NY_EMPLOYEE, CA_EMPLOYEE, existing, DEFAULT, NOW)
    after = apply_plan(existing, result, NOW)

    codes = sorted(a.code for a in after)
    if kept:
        assert codes == ["HP-CA-EMP", "HP-NY-EMP"]
        assert existing[0] in after  # untouched: same version, progress, due date
    else:
        assert codes == ["HP-NY-EMP"]
        assert result.add == () and len(result.retarget) == 1
        assert after[0].due_at == existing[0].due_at  # a switch never extends the deadline


def test_completed_work_survives_any_number_of_moves():
    history = [done("HP-CA-SUP", NOW - timedelta(days=200)), done("WVP-CA", NOW - timedelta(days=200))]
    assignments = history
    for region in ("US-NY", "US-TX", "US-IL", "US-CA"):
        assignments = converge(Profile(region=region, country="US", role="supervisor"), assignments)

    assert set(history) <= set(assignments)


def test_deactivation_archives_open_work_assigns_nothing_and_reactivation_resumes():
    existing = [
        done("HP-CA-SUP", NOW - timedelta(days=900)),  # expired, but not while inactive
        open_("WVP-CA", progress=40),
        open_("CYBER", progress=0),
    ]
    inactive = Profile(active=False, region="US-CA", country="US", role="supervisor", tags=("CYBER",))

    off = plan(inactive, CA_SUPERVISOR, existing, DEFAULT, NOW)
    archived = apply_plan(existing, off, NOW)

    assert off.archive and off.add == () and off.retarget == ()
    assert {a.code: a.status for a in archived} == {"HP-CA-SUP": COMPLETED, "WVP-CA": ARCHIVED, "CYBER": ARCHIVED}
    assert not plan(inactive, inactive, archived, DEFAULT, NOW).changes

    later = NOW + timedelta(days=30)
    back = plan(
        Profile(region="US-CA", country="US", role="supervisor", tags=("CYBER",)), inactive, archived, DEFAULT, later
    )
    resumed = apply_plan(archived, back, later)

    assert back.resume
    assert {(a.code, a.cycle): (a.status, a.progress) for a in resumed} == {
        ("HP-CA-SUP", 1): (COMPLETED, 100),
        ("HP-CA-SUP", 2): (ASSIGNED, 0),  # the expired completion recertifies once active
        ("WVP-CA", 1): (IN_PROGRESS, 40),  # resumed where it stopped
        ("CYBER", 1): (ASSIGNED, 0),
    }


# --- recertification -------------------------------------------------------------


def test_valid_completion_assigns_nothing():
    assert not plan(NY_EMPLOYEE, None, [done("HP-NY-EMP", NOW - timedelta(days=300))], DEFAULT, NOW).changes


def test_expired_completion_assigns_the_next_cycle():
    existing = [done("HP-NY-EMP", NOW - timedelta(days=400))]

    result = plan(NY_EMPLOYEE, None, existing, DEFAULT, NOW)

    [new] = result.add
    assert (new.code, new.cycle, new.due_at) == ("HP-NY-EMP", 2, NOW + timedelta(days=30))


def test_training_without_cadence_is_never_reassigned():
    profile = Profile(region="US-TX", country="US", tags=("DEI",))
    existing = [done("HP-US-EMP", NOW - timedelta(days=30)), done("DEI", NOW - timedelta(days=3000))]

    assert not plan(profile, None, existing, DEFAULT, NOW).changes


# --- idempotence ------------------------------------------------------------------

PROFILES = [
    CA_SUPERVISOR,
    TX_EMPLOYEE,
    Profile(location="Chicago, IL", role="manager", tags=("CYBER", "BOGUS")),
    Profile(country="CA", region="CA-ON"),
    Profile(country="GB"),
    Profile(),
    Profile(active=False, region="US-NY", country="US"),
]


@pytest.mark.parametrize("profile", PROFILES)
def test_planning_again_after_applying_gives_nothing_new(profile):
    once = converge(profile)

    assert not plan(profile, profile, once, DEFAULT, NOW).changes


@pytest.mark.parametrize("profile", PROFILES)
def test_running_twice_gives_the_same_assignments_as_once(profile):
    once = converge(profile)
    twice = converge(profile, once)

    assert twice == once


def test_stale_previous_profile_does_not_change_the_decision():
    existing = [done("HP-CA-EMP", NOW - timedelta(days=90)), done("WVP-CA", NOW - timedelta(days=90))]
    latest = Profile(region="US-NY", country="US", role="supervisor")

    fresh = plan(latest, None, existing, DEFAULT, NOW)
    stale = plan(latest, TX_EMPLOYEE, existing, DEFAULT, NOW)  # an older event's state

    assert [(a.code, a.cycle, a.due_at) for a in stale.add] == [(a.code, a.cycle, a.due_at) for a in fresh.add]


def test_out_of_order_changes_end_where_the_latest_state_says():
    # Events CA employee -> CA supervisor -> NY supervisor, processed with the
    # latest state each time (tasks load fresh rows), in any order.
    latest = Profile(region="US-NY", country="US", role="supervisor")
    first = converge(latest, previous=CA_SUPERVISOR)
    again = converge(latest, first, previous=CA_EMPLOYEE)

    assert again == first
    assert sorted(a.code for a in first) == ["HP-NY-SUP"]


def test_settings_refuse_a_negative_due_period():
    with pytest.raises(ValueError):
        CompanySettings(due_days=-1)


def test_apply_refuses_a_duplicate_cycle():
    result = plan(NY_EMPLOYEE, None, [], DEFAULT, NOW)
    existing = apply_plan([], result, NOW)

    with pytest.raises(ValueError):
        apply_plan(existing, result, NOW)


# --- helpers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "location, expected",
    [
        ("Chicago", "CHICAGO"),
        ("Chicago, IL", "CHICAGO"),
        ("Chicago, Illinois", "CHICAGO"),
        ("CHICAGO IL", "CHICAGO"),
        ("Chicago, IL 60601, USA", "CHICAGO"),
        ("New York City", "NYC"),
        ("NYC", "NYC"),
        ("New York, NY", "NYC"),
        ("Brooklyn, NY", "NYC"),
        ("Brooklyn, Michigan", None),
        ("Chicago Heights", None),
        ("Springfield", None),
        ("", None),
        (None, None),
    ],
)
def test_city_of(location, expected):
    assert city_of(location) == expected


@pytest.mark.parametrize(
    "moment, months, expected",
    [
        (datetime(2025, 8, 31), 6, datetime(2026, 2, 28)),
        (datetime(2023, 8, 31), 6, datetime(2024, 2, 29)),
        (datetime(2025, 1, 15), 12, datetime(2026, 1, 15)),
        (datetime(2025, 11, 30), 3, datetime(2026, 2, 28)),
    ],
)
def test_add_months_clamps_the_day(moment, months, expected):
    assert add_months(moment, months) == expected


def test_hp_region_uses_the_catalog_to_decide_which_states_have_versions():
    trimmed = [t for t in DEFAULT_CATALOG if not t.code.startswith("HP-CO-")]

    colorado = Profile(region="US-CO", country="US")
    assert "HP-US-EMP" in added(plan(colorado, None, [], DEFAULT, NOW, catalog=trimmed))
    assert "HP-CO-EMP" in added(plan(colorado, None, [], DEFAULT, NOW))


# --- where the learner works: the rules each part of the location decides ----------------


def test_a_state_without_a_country_still_places_the_learner_in_that_state():
    assert required_trainings(Profile(region="US-CA")) == ["HP-CA-EMP", "WVP-CA"]


@pytest.mark.parametrize("country", ["US", None])
def test_chicago_without_a_state_is_illinois_plus_the_chicago_overlay(country):
    result = plan(Profile(country=country, location="Chicago"), None, [], DEFAULT, NOW)

    assert list(added(result)) == ["HP-IL-EMP", "BYST-CHI"]
    assert result.region == "IL"


def test_a_chicago_learner_outside_the_us_gets_no_chicago_overlay():
    assert required_trainings(Profile(country="GB", location="Chicago")) == ["HP-UK-EMP"]


@pytest.mark.parametrize(
    "location",
    [
        "New York",
        "new york city",
        "NYC",
        "City of New York",
        "Manhattan",
        "Brooklyn, N.Y.",
        "Queens, New York",
        "The Bronx",
        "Bronx, NY 10451",
        "Staten Island, NY, USA",
        "New York NY",
    ],
)
def test_new_york_city_boroughs_and_spellings_get_the_ny_version_within_90_days(location):
    result = plan(Profile(country="US", location=location), None, [], CompanySettings(due_days=400), NOW)

    assert added(result) == {"HP-NY-EMP": NOW + timedelta(days=90)}


@pytest.mark.parametrize("location", ["Chicago (IL)", "Chicago - Illinois", "City of Chicago"])
def test_chicago_written_with_punctuation_is_still_chicago(location):
    assert city_of(location) == "CHICAGO"


def test_new_york_state_outside_the_city_has_no_90_day_deadline():
    result = plan(
        Profile(region="US-NY", country="US", location="Albany"), None, [], CompanySettings(due_days=400), NOW
    )

    assert added(result) == {"HP-NY-EMP": NOW + timedelta(days=400)}


# --- an edited catalog ---------------------------------------------------------------------


def without(*codes):
    return [t for t in DEFAULT_CATALOG if t.code not in codes]


@pytest.mark.parametrize(
    "role, missing, expected",
    [
        ("supervisor", "HP-CO-SUP", "HP-US-SUP"),  # no Colorado supervisor version: the generic one
        ("non-supervisor", "HP-CO-EMP", "HP-US-EMP"),
        ("supervisor", "HP-CO-EMP", "HP-CO-SUP"),  # the other audience's version does not matter
    ],
)
def test_a_state_version_missing_from_the_catalog_falls_back_to_the_us_version(role, missing, expected):
    profile = Profile(region="US-CO", country="US", role=role)

    result = plan(profile, None, [], DEFAULT, NOW, catalog=without(missing))

    assert list(added(result)) == [expected]


def test_a_country_version_missing_from_the_catalog_falls_back_to_the_global_version():
    catalog = without("HP-UK-SUP", "HP-UK-EMP")

    result = plan(Profile(country="GB"), None, [], DEFAULT, NOW, catalog=catalog)

    assert list(added(result)) == ["HP-GLOBAL-EMP"]
    assert result.region == "GLOBAL"


def test_an_overlay_training_removed_from_the_catalog_is_not_assigned():
    assert required_trainings(CA_EMPLOYEE, catalog=without("WVP-CA")) == ["HP-CA-EMP"]


# --- tags --------------------------------------------------------------------------------------


def test_a_training_assigned_by_tag_keeps_its_legal_deadline():
    # A Texas learner who also manages California staff: CA law's 6 months still apply.
    profile = Profile(region="US-TX", country="US", role="supervisor", tags=("HP-CA-SUP",))

    result = plan(profile, None, [], CompanySettings(due_days=400), NOW)

    assert added(result) == {"HP-US-SUP": NOW + timedelta(days=400), "HP-CA-SUP": add_months(NOW, 6)}


def test_a_tag_naming_a_covered_regional_version_does_not_stop_the_tags_after_it():
    profile = Profile(region="US-CA", country="US", role="supervisor", tags=("HP-CA-EMP", "CYBER", "HIPAA"))

    assert list(added(plan(profile, None, [], DEFAULT, NOW))) == ["HP-CA-SUP", "WVP-CA", "CYBER", "HIPAA"]


def test_blank_and_repeated_unknown_tags_are_reported_once():
    profile = Profile(region="US-TX", country="US", tags=("", "  ", "nope", "NOPE", "CYBER"))

    result = plan(profile, None, [], DEFAULT, NOW)

    assert result.unknown_tags == ("NOPE",)
    assert list(added(result)) == ["HP-US-EMP", "CYBER"]


def test_two_versions_of_one_family_added_at_once_get_their_own_cycles():
    profile = Profile(region="US-TX", country="US", tags=("HP-CA-EMP", "CYBER"))

    result = plan(profile, None, [], DEFAULT, NOW)

    assert [(a.code, a.family, a.cycle) for a in result.add] == [
        ("HP-US-EMP", "HP", 1),
        ("HP-CA-EMP", "HP", 2),
        ("CYBER", "CYBER", 1),
    ]
    assert apply_plan([], result, NOW)  # no duplicate (family, cycle)


# --- reasons in the audit trail ---------------------------------------------------------------


def test_a_new_learner_s_reasons_say_which_rule_assigned_each_training():
    chicago = Profile(location="Chicago", role="supervisor", tags=("CYBER",))
    california = Profile(region="US-CA", country="US")

    reasons = {a.code: a.reason for a in plan(chicago, None, [], CompanySettings(industry="hospitality"), NOW).add}
    reasons |= {a.code: a.reason for a in plan(california, None, [], DEFAULT, NOW).add}

    assert reasons == {
        "HP-IL-SUP": "required: harassment prevention, region IL, supervisor",
        "HP-IL-HOSP": "required: Illinois learner in hospitality",
        "BYST-CHI": "required: works in Chicago",
        "CYBER": "required: tag CYBER in training_tags",
        "HP-CA-EMP": "required: harassment prevention, region CA, non-supervisor",
        "WVP-CA": "required: California learner",
    }


def test_a_legal_deadline_is_named_in_the_reason():
    [new, _] = plan(CA_SUPERVISOR, None, [], CompanySettings(due_days=400), NOW).add

    assert new.reason.endswith("; legal deadline")


def test_a_promotion_explains_harassment_prevention_only():
    existing = [done("HP-CA-EMP", NOW - timedelta(days=60))]
    profile = Profile(region="US-CA", country="US", role="supervisor", tags=("CYBER",))

    reasons = {a.code: a.reason for a in plan(profile, CA_EMPLOYEE, existing, DEFAULT, NOW).add}

    assert reasons["HP-CA-SUP"].startswith("promoted to supervisor: harassment prevention, region CA, supervisor")
    assert reasons["CYBER"] == "tag CYBER added: tag CYBER in training_tags"  # the promotion explains HP only


def test_a_deactivated_learner_s_plan_still_reports_region_and_unknown_tags():
    profile = Profile(active=False, region="US-NY", country="US", role="boss", tags=("NOPE",))

    result = plan(profile, None, [open_("HP-NY-EMP")], DEFAULT, NOW)

    assert result.archive
    assert (result.region, result.unknown_tags, result.role_flagged) == ("NY", ("NOPE",), True)


# --- recertification: which completion anchors the next cycle ------------------------------------


def test_recertification_counts_only_from_a_completion_of_the_same_family():
    existing = [done("CYBER", NOW - timedelta(days=60))]

    result = plan(Profile(region="US-NY", country="US", tags=("CYBER",)), None, existing, DEFAULT, NOW)

    # CYBER is still valid; the new NY course is due in the company's period, not a year after CYBER.
    assert added(result) == {"HP-NY-EMP": NOW + timedelta(days=30)}


def test_of_two_completions_in_one_family_the_latest_anchors_the_next_cycle():
    older = done("HP-CA-EMP", NOW - timedelta(days=600), cycle=1)
    latest = done("HP-NY-EMP", NOW - timedelta(days=60), cycle=2)

    result = plan(Profile(region="US-IL", country="US"), NY_EMPLOYEE, [older, latest], DEFAULT, NOW)

    [new] = result.add
    assert (new.code, new.cycle) == ("HP-IL-EMP", 3)
    assert new.due_at == add_months(latest.completed_at, 12)
    assert f"recertification counted from HP-NY-EMP completed {latest.completed_at.date().isoformat()}" in new.reason


def test_the_next_cycle_follows_the_highest_cycle_whatever_the_order():
    existing = [done("HP-NY-EMP", NOW - timedelta(days=400), cycle=2), done("HP-NY-EMP", NOW - timedelta(days=800))]

    [new] = plan(NY_EMPLOYEE, None, existing, DEFAULT, NOW).add

    assert (new.code, new.cycle) == ("HP-NY-EMP", 3)


def test_a_completion_expires_on_its_recertification_date():
    completed = add_months(NOW, -12)  # NY is annual: due again today
    no_lead = CompanySettings(lead_days=0)

    result = plan(NY_EMPLOYEE, None, [done("HP-NY-EMP", completed)], no_lead, NOW)

    [new] = result.add
    assert (new.cycle, new.due_at) == (2, NOW + timedelta(days=30))
    assert "renews HP-NY-EMP" in new.reason
    assert not plan(NY_EMPLOYEE, None, [done("HP-NY-EMP", completed + timedelta(seconds=1))], no_lead, NOW).changes


def test_a_completion_without_a_date_does_not_count_as_valid():
    undated = Assignment("HP-NY-EMP", "HP", 1, COMPLETED, 100, NOW - timedelta(days=90), None, None)

    [new] = plan(NY_EMPLOYEE, None, [undated], DEFAULT, NOW).add

    assert (new.code, new.cycle, new.due_at) == ("HP-NY-EMP", 2, NOW + timedelta(days=30))


def test_renewing_an_expired_version_is_not_a_first_time_so_no_legal_deadline():
    # An expired CA course (2-year cadence) renews within the company's period, not CA's 6 months.
    existing = [done("HP-CA-EMP", NOW - timedelta(days=800)), done("WVP-CA", NOW - timedelta(days=100))]

    assert added(plan(CA_EMPLOYEE, None, existing, CompanySettings(due_days=400), NOW)) == {
        "HP-CA-EMP": NOW + timedelta(days=400)
    }


def test_an_expired_supervisor_completion_makes_the_employee_version_a_renewal_too():
    existing = [done("HP-CA-SUP", NOW - timedelta(days=800)), done("WVP-CA", NOW - timedelta(days=100))]

    assert added(plan(CA_EMPLOYEE, CA_SUPERVISOR, existing, CompanySettings(due_days=400), NOW)) == {
        "HP-CA-EMP": NOW + timedelta(days=400)
    }


def test_a_due_period_of_zero_days_makes_new_trainings_due_now():
    assert added(plan(TX_EMPLOYEE, None, [], CompanySettings(due_days=0), NOW)) == {"HP-US-EMP": NOW}


def test_settings_say_what_is_wrong_with_a_negative_due_period():
    with pytest.raises(ValueError, match="due_days must be >= 0, not -1"):
        CompanySettings(due_days=-1)


# --- retargeting unstarted work -------------------------------------------------------------------


def test_of_two_unstarted_versions_the_oldest_cycle_follows_a_move():
    existing = [open_("HP-NY-EMP", cycle=2), open_("HP-CA-EMP", cycle=1)]

    result = plan(Profile(region="US-IL", country="US"), NY_EMPLOYEE, existing, DEFAULT, NOW)

    assert result.add == ()
    assert [(r.family, r.cycle, r.code) for r in result.retarget] == [("HP", 1, "HP-IL-EMP")]
    assert result.retarget[0].reason.endswith("; replaces unstarted HP-CA-EMP")


def test_an_unstarted_version_without_due_date_takes_the_new_due_date_when_retargeted():
    undated = Assignment("HP-CA-EMP", "HP", 1, ASSIGNED, 0, NOW - timedelta(days=5), None, None)

    [change] = plan(NY_EMPLOYEE, CA_EMPLOYEE, [undated], DEFAULT, NOW).retarget

    # The due period counts from when the assignment was made: a switch never restarts the clock.
    assert (change.code, change.due_at) == ("HP-NY-EMP", NOW - timedelta(days=5) + timedelta(days=30))


def test_what_meets_one_requirement_is_not_switched_to_meet_another():
    # The started CA supervisor course still covers the CA employee version after a demotion;
    # a new tag in the same family gets its own assignment instead of taking that one.
    profile = Profile(region="US-CA", country="US", tags=("HP-NY-EMP",))
    existing = [open_("HP-CA-SUP", progress=40), open_("WVP-CA")]

    result = plan(profile, CA_SUPERVISOR, existing, DEFAULT, NOW)

    assert result.retarget == ()
    assert [(a.code, a.cycle) for a in result.add] == [("HP-NY-EMP", 2)]


def test_applying_a_plan_stores_what_it_decided():
    existing = [open_("HP-CA-EMP", due_at=NOW + timedelta(days=300))]
    result = plan(CA_SUPERVISOR, CA_EMPLOYEE, existing, CompanySettings(due_days=400), NOW)

    after = {a.code: a for a in apply_plan(existing, result, NOW)}

    assert after["HP-CA-SUP"].due_at == add_months(NOW, 6)  # the retarget's due date, not the old one
    assert after["WVP-CA"] == Assignment("WVP-CA", "WVP-CA", 1, ASSIGNED, 0, NOW, NOW + timedelta(days=400), None, NOW)


def test_apply_names_the_duplicate_cycle():
    result = plan(NY_EMPLOYEE, None, [], DEFAULT, NOW)

    with pytest.raises(ValueError, match="duplicate assignment HP cycle 1"):
        apply_plan(apply_plan([], result, NOW), result, NOW)


@pytest.mark.parametrize("progress, status", [(0, ASSIGNED), (1, IN_PROGRESS)])
def test_reactivation_resumes_started_work_as_in_progress(progress, status):
    archived = Assignment("CYBER", "CYBER", 1, ARCHIVED, progress, NOW - timedelta(days=5), None, None)
    profile = Profile(region="US-TX", country="US", tags=("CYBER",))
    existing = [archived, done("HP-US-EMP", NOW - timedelta(days=5))]

    resumed = apply_plan(existing, plan(profile, None, existing, DEFAULT, NOW), NOW)

    assert resumed[0].status == status


def test_a_move_with_a_demotion_is_worded_as_the_move():
    existing = [done("HP-CA-SUP", NOW - timedelta(days=60)), done("WVP-CA", NOW - timedelta(days=60))]

    [new] = plan(NY_EMPLOYEE, CA_SUPERVISOR, existing, DEFAULT, NOW).add

    assert new.code == "HP-NY-EMP"
    assert new.reason.startswith("moved from US-CA to US-NY: harassment prevention, region NY, non-supervisor")


def test_a_move_into_chicago_is_worded_as_the_city_move():
    springfield = Profile(region="US-IL", country="US", location="Springfield")
    chicago = Profile(region="US-IL", country="US", location="Chicago")

    reasons = {a.code: a.reason for a in plan(chicago, springfield, [], DEFAULT, NOW).add}

    assert reasons["BYST-CHI"] == "moved from Springfield to Chicago: works in Chicago"
