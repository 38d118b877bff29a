"""One entity's last state, read by a direct get and believed only from its owner (`Bus.last_state`).

A direct get (`$JS.API.DIRECT.GET.<stream>.<subject>`; every Tollgate state stream allows it) names the entity's
subject in the API subject itself, so a service's NATS user can be granted exactly "read this kind's last state"
and nothing else of the stream (`tollgate_contracts.permissions`). No cache: each call asks the stream.

The state is believed only when its `producer` is the kind's owner (`tollgate_contracts.owners`) and its key is the
one asked for: the bus lets no one else publish it, and a forged one is still refused here (defence in depth).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, TypeVar

from nats.js.errors import NotFoundError
from pydantic import ValidationError

from tollgate_contracts import StateEvent, is_subject_token
from tollgate_contracts.owners import published_by_owner
from tollgate_contracts.streams import ALL_STREAMS, StreamSpec
from tollgate_servicekit.errors import BusUnavailable

if TYPE_CHECKING:
    from tollgate_servicekit.nats import Bus

__all__ = ["last_state", "stream_of"]

logger = logging.getLogger(__name__)

S = TypeVar("S", bound=StateEvent)


def stream_of(state: type[StateEvent]) -> StreamSpec:
    """The stream that keeps `state`'s subjects (`<subject_prefix>.>`)."""
    wanted = f"{state.subject_prefix}.>"
    for spec in ALL_STREAMS:
        if wanted in spec.subjects:
            return spec
    raise LookupError(f"no stream keeps {wanted}")


async def last_state(bus: Bus, state: type[S], key: str, *, what: str, strict: bool = False) -> S | None:
    """The last `state` published for `key`, or None when there is none.

    `BusUnavailable` when the bus cannot answer (at once while it is disconnected: a get while nats-py reconnects
    would only wait out its timeout); `what` ("the tenant") names it in that message. An unreadable state, or one
    not from its owner or for another key, is logged and None — or, `strict`, `BusUnavailable` (a fault to see,
    not a state to trust)."""
    from tollgate_servicekit.nats import BUS_ERRORS

    if not is_subject_token(key):
        # A wildcard here would read the last state of whichever entity changed last.
        raise ValueError("the key must be one plain subject token")
    if not bus.is_connected:
        raise BusUnavailable(f"the event bus is unreachable, so {what} cannot be checked; try again shortly")
    subject = f"{state.subject_prefix}.{key}"
    try:
        msg = await bus.js.get_last_msg(stream_of(state).name, subject, direct=True)
    except NotFoundError:
        return None
    except BUS_ERRORS as exc:
        raise BusUnavailable(f"cannot read {what} on the bus: {type(exc).__name__}") from exc
    try:
        found = state.model_validate_json(msg.data or b"")
    except ValidationError:
        logger.error("the last message on %s is not a readable %s", subject, state.__name__)
        if strict:
            raise BusUnavailable(f"{what}'s state on the bus is unreadable") from None
        return None
    if not published_by_owner(found) or found.key != key:
        logger.warning("ignoring %s on %s from producer %r", state.__name__, subject, found.producer[:32])
        if strict:
            raise BusUnavailable(f"{what}'s state on the bus is not its owner's")
        return None
    return found
