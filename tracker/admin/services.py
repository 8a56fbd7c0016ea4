"""What the admin pages read across domains: the rounds with their issue counts."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tracker.accounts.models import User
from tracker.issues.models import Issue
from tracker.issues.scoping import visible_issues
from tracker.rounds.models import Round
from tracker.rounds.services import rounds_newest_first


def rounds_with_counts(session: Session, actor: User) -> list[tuple[Round, int]]:
    """Every round (newest feedback first) with the number of issues the actor sees in it.

    Two queries: the rounds, and one grouped count.
    """
    rounds = rounds_newest_first(session)
    counts = dict(session.execute(
        select(Issue.round_id, func.count()).where(visible_issues(actor)).group_by(Issue.round_id)
    ).all())
    return [(round_, int(counts.get(round_.id, 0))) for round_ in rounds]
