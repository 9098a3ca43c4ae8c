"""The rules for a course player's progress report. Pure: no Flask, no database.

An assignment moves assigned -> in_progress -> completed. Completion is final
(it drives recertification dates); archived belongs to Smart Assign, which
archives open work when a learner is deactivated and resumes it on return.
"""

from service.api.errors import BadRequest, Conflict

ASSIGNED = "assigned"
IN_PROGRESS = "in_progress"
COMPLETED = "completed"
ARCHIVED = "archived"
STATUSES = (ASSIGNED, IN_PROGRESS, COMPLETED, ARCHIVED)
# Set by Smart Assign on open, unstarted work the learner's inputs no longer require.
WITHDRAWN = "withdrawn"
# Set by the daily recertification run when the due date passed; only completion clears it.
OVERDUE = "overdue"


def apply_progress(row, status, progress, now):
    """Apply ``status`` and/or ``progress`` (either may be None) to an assignment row, or raise.

    - completed sets progress 100 and completed_at ``now``; reporting it again changes nothing;
    - progress above 0 on an assigned training makes it in_progress;
    - a completed training cannot go back (Conflict), an archived or withdrawn one cannot change (Conflict);
    - archived cannot be set by a caller (Conflict): Smart Assign owns it;
    - overdue work takes progress and stays overdue until completed.
    """
    if row.status == ARCHIVED:
        raise Conflict(
            f"Learner training {row.id} is archived because its learner was deactivated; "
            "its status and progress cannot change until the learner is active again."
        )
    if row.status == WITHDRAWN:
        raise Conflict(
            f"Learner training {row.id} was withdrawn: the learner's attributes no longer require it, "
            "so its status and progress cannot change."
        )
    if status == ARCHIVED:
        raise Conflict(
            "A learner training cannot be archived through the API: Herd archives open trainings "
            "when the learner is deactivated. Send assigned, in_progress or completed."
        )
    if row.status == COMPLETED:
        if status in (None, COMPLETED) and progress in (None, 100):
            return  # the player reported the completion again: keep the first completed_at
        raise Conflict(
            f"Learner training {row.id} was completed on {row.completed_at:%Y-%m-%d}; "
            "a completion cannot be undone or its progress lowered."
        )
    if status == COMPLETED:
        if progress not in (None, 100):
            raise BadRequest("A completed training has progress 100: send progress 100 or leave it out.")
        row.status, row.progress, row.completed_at = COMPLETED, 100, now
    else:
        new_progress = row.progress if progress is None else progress
        if row.status == OVERDUE:
            status = OVERDUE  # progress on overdue work: still overdue until completed
        if status is None:
            status = IN_PROGRESS if row.status == ASSIGNED and new_progress > 0 else row.status
        if status == ASSIGNED and new_progress > 0:
            detail = (
                f"An assigned training has not been started, so its progress is 0 (it is {new_progress}); "
                "send status in_progress, or progress 0 to reset it."
            )
            # Contradictory input is a 400; a clash with the stored progress is a 409.
            raise BadRequest(detail) if progress is not None else Conflict(detail)
        row.status, row.progress = status, new_progress
    row.updated_at = now
