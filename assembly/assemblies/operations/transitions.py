"""An assembly's transition, checked against its state table (``assemblies.states``)."""

from __future__ import annotations

from assembly.assemblies.models import Assembly
from assembly.assemblies.states import AssemblyState, TransitionError, check_transition
from assembly.errors import InvalidTransition

__all__ = ["transition"]


def transition(assembly: Assembly, to: AssemblyState) -> None:
    """Move the assembly to ``to`` if the state table allows it from where it is.

    :raises InvalidTransition: it does not, with the table's message.
    """
    try:
        check_transition(assembly.state, to)
    except TransitionError as error:
        raise InvalidTransition(str(error)) from None
    assembly.state = to
