"""Queries for the learner and team progress views that :meth:`Store.records` does not answer.

``Records`` keeps only each question's latest attempt (all that progress needs); the progress views also say
on which attempt a learner first got a question right, and when the team finished each capstone stage.
"""

from __future__ import annotations

from .db import Store


def first_right(store: Store, enrolment_id: int) -> dict[str, int]:
    """Question IRI -> the number of the learner's first correct attempt (questions never answered right are absent)."""
    return {iri: int(number) for iri, number in store.conn.execute(
        "SELECT block_iri, MIN(attempt_no) FROM attempts WHERE enrolment_id = ? AND success = 1 GROUP BY block_iri",
        (enrolment_id,))}


def stage_completed_at(store: Store, team_id: int) -> dict[str, str]:
    """Stage id -> when the team completed it."""
    return {stage_id: at for stage_id, at in store.conn.execute(
        "SELECT stage_id, completed_at FROM capstone_stage_completions WHERE team_id = ?", (team_id,))}
