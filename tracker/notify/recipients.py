"""What every job of a run shares: the day, the clocks, the settings, who receives what, and delivery."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.accounts.models import User
from tracker.core.enums import UNIT_ROLES
from tracker.notify.models import UserPref
from tracker.units.models import Unit


@dataclass(frozen=True)
class Recipient:
    """Someone a mail or notice goes to: a user (notice, and mail when they have an address) or a unit's address."""

    name: str
    email: Optional[str]
    user_id: Optional[int] = None
    unit_id: Optional[int] = None
    digest: str = "daily"


@dataclass(frozen=True)
class UnitInfo:
    """A unit as the mails need it."""

    id: int
    code: str
    name: str
    email: Optional[str]


class Directory:
    """Active users by unit and role, and the units, loaded once per run (a few queries)."""

    def __init__(self, session: Session):
        self.units: dict[int, UnitInfo] = {
            uid: UnitInfo(uid, code, name, email)
            for uid, code, name, email in session.execute(select(Unit.id, Unit.code, Unit.name, Unit.email))
        }
        self._by_unit: dict[tuple[int, str], list[Recipient]] = {}
        self._by_role: dict[str, list[Recipient]] = {}
        self._by_user: dict[int, Recipient] = {}
        rows = session.execute(
            select(User.id, User.username, User.display_name, User.email, User.role, User.unit_id, UserPref.digest)
            .outerjoin(UserPref, UserPref.user_id == User.id)
            .where(User.active.is_(True))
            .order_by(User.id)
        )
        for uid, username, display, email, role, unit_id, digest in rows:
            who = Recipient(display or username, email, uid, unit_id, digest or "daily")
            self._by_user[uid] = who
            if role in UNIT_ROLES:
                if unit_id is not None:
                    self._by_unit.setdefault((unit_id, role), []).append(who)
            else:
                self._by_role.setdefault(role, []).append(who)

    def user(self, user_id: int) -> Optional[Recipient]:
        """An active user, or None (gone or deactivated since)."""
        return self._by_user.get(user_id)

    def unit_address(self, unit_id: int) -> Optional[Recipient]:
        """The unit's own mailbox, when it has one."""
        unit = self.units.get(unit_id)
        if unit is None or not unit.email:
            return None
        return Recipient(unit.name, unit.email, None, unit.id)

    def for_unit(self, unit_id: int, roles: Iterable[str], with_address: bool = True) -> list[Recipient]:
        """The unit's users of these roles, plus the unit's own address."""
        people: list[Recipient] = []
        for role in roles:
            people.extend(self._by_unit.get((unit_id, role), ()))
        if with_address and any(r in UNIT_ROLES for r in roles):
            address = self.unit_address(unit_id)
            if address:
                people.append(address)
        return people

    def with_role(self, roles: Iterable[str]) -> list[Recipient]:
        """Users of roles not tied to a unit (supervisor, leader, approver, admin)."""
        people: list[Recipient] = []
        for role in roles:
            people.extend(self._by_role.get(role, ()))
        return people

    def unit_name(self, unit_id: Optional[int]) -> str:
        """The unit's name, or an empty string."""
        unit = self.units.get(unit_id) if unit_id is not None else None
        return unit.name if unit else ""


def unique(recipients: Iterable[Recipient]) -> list[Recipient]:
    """Recipients without repeats: one per user, one per address for unit mailboxes."""
    seen_users: set[int] = set()
    seen_addrs: set[str] = set()
    out = []
    for r in recipients:
        if r.user_id is not None:
            if r.user_id in seen_users:
                continue
            seen_users.add(r.user_id)
        else:
            addr = (r.email or "").lower()
            if not addr or addr in seen_addrs:
                continue
            seen_addrs.add(addr)
        out.append(r)
    return out
