"""Domain events: something that happened, told to whoever cares, in the transaction that made it happen.

A service that changes something publishes an event (`publish(session, event)`) after it has
written its own rows; every subscriber registered for the event's class (or a base class) runs at
once, in the same session, before the caller commits. A notice, a mail in the outbox or a kept
figure is therefore written together with what caused it, or — when the caller rolls back a
refusal — not at all. Subscribers flush, never commit, and must not fail for reasons of their own
making (a subscriber's exception aborts the whole action, as it should: nothing half-written).

Subscribers live in the domain that reacts (`tracker.notify.subscribers`,
`tracker.escalation.subscribers`) and register when that module is imported (by its domain's
`init_app`), so a lower domain publishes without knowing who listens.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional, TypeVar

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class DomainEvent:
    """Something that happened: when (naive UTC) and by whom (None: the system)."""

    at: datetime
    actor_id: Optional[int]


E = TypeVar("E", bound=DomainEvent)
Handler = Callable[[Session, Any], None]

_subscribers: defaultdict[type, list[Handler]] = defaultdict(list)


Subscriber = Callable[[Session, E], None]


def subscribe(*event_types: type[DomainEvent]) -> Callable[[Subscriber[E]], Subscriber[E]]:
    """Register the decorated function for these event classes (and their subclasses); idempotent."""
    def register(handler: Subscriber[E]) -> Subscriber[E]:
        for event_type in event_types:
            known = _subscribers[event_type]
            # Re-importing a module (tests, reloads) must not subscribe a handler twice.
            if not any(h.__module__ == handler.__module__ and h.__qualname__ == handler.__qualname__
                       for h in known):
                known.append(handler)
        return handler
    return register


def publish(session: Session, event: DomainEvent) -> None:
    """Run every subscriber of the event's class and its base classes, in registration order."""
    for event_type in type(event).__mro__:
        for handler in tuple(_subscribers.get(event_type, ())):
            handler(session, event)


def subscribers(event_type: type[DomainEvent]) -> list[Handler]:
    """The handlers registered for exactly this class (for tests and diagnostics)."""
    return list(_subscribers.get(event_type, ()))
