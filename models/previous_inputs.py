"""The learner's Smart Assign inputs before a change, recorded on the change's provisioning event.

The SCIM store reads the learner (a record of its columns) before it writes it, and
puts these inputs of the row it read on the change's event. The worker reads them as
``previous`` and words the reasons ("promoted to supervisor", "moved from US-CA to
US-IL"); decisions never depend on them.

A creation carries no previous inputs (the learner is new).
"""


def inputs_of(learner):
    """A learner row's Smart Assign inputs: any object with the learner's column attributes."""
    return {
        "active": bool(learner.active) and learner.deleted_at is None,
        "region": learner.region,
        "country": learner.country,
        "location": learner.location,
        "role": learner.role,
        "training_tags": list(learner.training_tags or []),
    }
