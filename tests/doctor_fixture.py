"""A seeded company of 2,000 learners with the usual first-sync mistakes, half in Entra's
shape (the learner extension under a custom URN) and half in Okta's (top-level custom
attributes), for the Smart Assign doctor's tests.

The mistakes fall on disjoint learners, in exact numbers (``MISTAKES``), so the doctor's
figures can be checked exactly; which learners carry them is drawn from a fixed seed.
"""

import random

CUSTOM = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
SIZE = 2000
SEED = 24

# (shape, mistake) -> learners. Every learner with a mistake is a non-supervisor, so each
# mistake has one "got instead" (the employee version).
MISTAKES = {
    ("entra", "no_state"): 150,
    ("entra", "calif"): 41,
    ("entra", "untied_states"): 30,
    ("entra", "mgr"): 60,
    ("entra", "cybr"): 25,
    ("okta", "no_state"): 162,
    ("okta", "amercia"): 20,
    ("okta", "team_lead"): 45,
    ("okta", "safety"): 15,
}
STATES = ["California", "New York", "Texas", "Illinois", "WA", "Colorado"]


def _values(rng, mistake):
    values = {
        "state": rng.choice(STATES),
        "country": rng.choice(["US", "United States", "USA"]),
        "role": "non-supervisor" if mistake else rng.choice(["supervisor", "non-supervisor"]),
        "training_tags": rng.choice(["", "CYBER", "CYBER,HIPAA"]),
    }
    if mistake == "no_state":
        values["state"] = None
    elif mistake == "calif":
        values["state"] = "Calif."
    elif mistake == "untied_states":
        values["state"], values["country"] = "Texas", "Untied States"
    elif mistake == "amercia":
        values["state"], values["country"] = "NY", "Amercia"
    elif mistake == "mgr":
        values["role"] = "Mgr"
    elif mistake == "team_lead":
        values["role"] = "Team Lead"
    elif mistake == "cybr":
        values["training_tags"] = "CYBR"
    elif mistake == "safety":
        values["training_tags"] = "CYBER,SAFETY"
    return values


def _entra(i, values):
    ext = {"state": values["state"], "country": values["country"], "learnerRole": values["role"]}
    if values["training_tags"]:
        ext["training_tags"] = values["training_tags"]
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE, CUSTOM],
        "userName": f"entra{i:04d}@acme.example",
        "externalId": f"entra{i:04d}",
        "active": True,
        "displayName": f"Entra Learner {i:04d}",
        "name": {"givenName": "Entra", "familyName": f"Learner {i:04d}"},
        "emails": [{"primary": True, "type": "work", "value": f"entra{i:04d}@acme.example"}],
        ENTERPRISE: {"department": "Ops"},
        # Entra sends nothing for an empty attribute: the key is left out.
        CUSTOM: {k: v for k, v in ext.items() if v is not None},
    }


def _okta(i, values):
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": f"okta{i:04d}@acme.example",
        "active": True,
        "password": "placeholder-Pa55",
        "name": {"givenName": "Okta", "familyName": f"Learner {i:04d}"},
        "emails": [{"primary": True, "type": "work", "value": f"okta{i:04d}@acme.example"}],
        "state": values["state"],
        "country": values["country"],
        "easyllamaRole": values["role"],
        "training_tags": values["training_tags"],
    }
    # Okta omits empty values rather than sending null.
    return {k: v for k, v in body.items() if v not in (None, "")}


def learners():
    """The 2,000 SCIM POST bodies, in the order they are sent (Entra's and Okta's interleaved)."""
    rng = random.Random(SEED)
    half = SIZE // 2
    plan = {}
    for shape in ("entra", "okta"):
        wanted = [(m, n) for (s, m), n in MISTAKES.items() if s == shape]
        chosen = rng.sample(range(half), sum(n for _, n in wanted))
        for mistake, n in wanted:
            for i in chosen[:n]:
                plan[(shape, i)] = mistake
            chosen = chosen[n:]
    bodies = []
    for i in range(half):
        for shape, build in (("entra", _entra), ("okta", _okta)):
            bodies.append(build(i, _values(rng, plan.get((shape, i)))))
    return bodies
