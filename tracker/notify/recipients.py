"""What every job of a run shares: the day, the clocks, the settings, who receives what, and delivery."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import select

from tracker.accounts.models import User
from tracker.core.enums import AREA_ROLES, UNIT_ROLES
from tracker.core.extensions import DbSession
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
    path: str = ""  # the materialized path (see Unit.path)


class Directory:
    """Active users by unit and role, and the units, loaded once per run (a few queries)."""

    def __init__(self, session: DbSession):
        self.units: dict[int, UnitInfo] = {
            uid: UnitInfo(uid, code, name, email, path or "")
            for uid, code, name, email, path in session.execute(
                select(Unit.id, Unit.code, Unit.name, Unit.email, Unit.path))
        }
        self._by_unit: dict[tuple[int, str], list[Recipient]] = {}
        self._by_role: dict[str, list[Recipient]] = {}
        self._by_user: dict[int, Recipient] = {}
        # Office users' area node (their jurisdiction's root); None: the whole tree.
        self._area: dict[int, Optional[int]] = {}
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
                self._area[uid] = unit_id if role in AREA_ROLES else None

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

    def area_of(self, recipient: Recipient) -> Optional[int]:
        """The area node an office recipient serves (None: the whole tree)."""
        return self._area.get(recipient.user_id) if recipient.user_id is not None else None

    def by_area(self, roles: Iterable[str]) -> dict[Optional[int], list[Recipient]]:
        """Users of these office roles grouped by the area node they serve (None: the whole tree), for
        mails that list what lies in a jurisdiction (one mail per area)."""
        out: dict[Optional[int], list[Recipient]] = {}
        for who in self.with_role(roles):
            out.setdefault(self.area_of(who), []).append(who)
        return out

    def area_path(self, area: Optional[int]) -> Optional[str]:
        """The materialized path of an area node, None for the whole tree ("" for a node not loaded)."""
        if area is None:
            return None
        unit = self.units.get(area)
        return unit.path if unit is not None else ""

    def serving(self, unit_id: int, roles: Iterable[str]) -> list[Recipient]:
        """Users of these office roles whose jurisdiction holds the unit (the unit lies in the subtree of
        their area node; users without one hold every unit): `Unit.contains` on the loaded paths."""
        unit = self.units.get(unit_id)
        people = []
        for who in self.with_role(roles):
            path = self.area_path(self.area_of(who))
            if path is None or (path and unit is not None and unit.path.startswith(path)):
                people.append(who)
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
