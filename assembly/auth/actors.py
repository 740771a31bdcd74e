"""Who acts: a signed-in ``User``, or the system itself (a CLI command, a timer)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    from assembly.auth.models import User


@dataclass(frozen=True)
class SystemActor:
    """The application acting on its own behalf; ``label`` says which part (``cli``, ``tick``)."""

    label: str = "system"
    id: None = None
    is_platform_admin: bool = True

    @property
    def email(self) -> str:
        return self.label


Actor = Union["User", SystemActor]

CLI = SystemActor("cli")
SYSTEM = SystemActor("system")


def actor_label(actor: Actor) -> str:
    """Return how ``actor`` is named in the audit log."""
    if isinstance(actor, SystemActor):
        return actor.label
    return actor.email


def current_actor() -> Actor:
    """Return the signed-in user as an actor (views only: operations take the actor given)."""
    from flask_login import current_user

    return current_user._get_current_object()  # type: ignore[no-any-return]
