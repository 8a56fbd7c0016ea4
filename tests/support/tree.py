"""A three-level unit tree with an office and users at each level, and a central round whose approval
chain runs county → city → region: the world of the to-do tests and the chain's browser journey."""
from __future__ import annotations

from typing import Any

from tests.support.factories import make_round, make_unit, make_user

CENTRAL = [("county", "supervisor", "县级验收"), ("city", "supervisor", "市级验收"),
           ("province", "approver", "自治区审核销号")]


def make_tree() -> dict[str, Any]:
    """A city (C) with two counties (K1, K2), a town in each (T1 under K1, T2 under K2), a department
    of each town (T1-HB, T2-HB) with a clerk and a head, the offices (a supervisor per county, one for
    the city, one serving the whole tree), a region approver without a unit, a city leader, an admin,
    and the central round. Flushed, not committed."""
    city = make_unit("C", "霍林郭勒市人民政府", level="city")
    k1 = make_unit("K1", "一号旗人民政府", parent=city, level="county")
    k2 = make_unit("K2", "二号区人民政府", parent=city, level="county")
    t1 = make_unit("T1", "一号镇人民政府", parent=k1, level="town")
    t2 = make_unit("T2", "二号镇人民政府", parent=k2, level="town")
    dept1 = make_unit("T1-HB", "一号镇环保办", parent=t1)
    dept2 = make_unit("T2-HB", "二号镇环保办", parent=t2)
    return dict(
        city=city, k1=k1, k2=k2, t1=t1, t2=t2, dept1=dept1, dept2=dept2,
        clerk1=make_user("unit_staff", dept1, username="clerk1"),
        head1=make_user("unit_head", dept1, username="head1"),
        clerk2=make_user("unit_staff", dept2, username="clerk2"),
        head2=make_user("unit_head", dept2, username="head2"),
        sup_k1=make_user("supervisor", k1, username="sup_k1"),
        sup_k2=make_user("supervisor", k2, username="sup_k2"),
        sup_city=make_user("supervisor", city, username="sup_city"),
        sup_all=make_user("supervisor", username="sup_all"),
        approver=make_user("approver", username="region"),
        leader=make_user("leader", city, username="leader_city"),
        admin=make_user("admin", username="admin_all"),
        round=make_round("中央督察(三级审核)", chain=CENTRAL),
    )
