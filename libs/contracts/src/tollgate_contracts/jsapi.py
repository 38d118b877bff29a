"""The JetStream API subjects each way of using a stream needs, for the NATS permission set
(`tollgate_contracts.permissions`). Each function names the nats-py call it serves.
"""

from __future__ import annotations

from tollgate_contracts.envelope import StateEvent
from tollgate_contracts.streams import StreamSpec

Row = tuple[str, ...]
"""Subjects that belong together (e.g. one stream's), rendered on one line."""


def _js_api(*parts: str) -> str:
    return ".".join(("$JS.API", *parts))


def managed_streams(specs: tuple[StreamSpec, ...]) -> tuple[Row, ...]:
    """`tollgate_contracts.bus.ensure_streams`: look each stream up, then create or update it."""
    return tuple(tuple(_js_api("STREAM", verb, spec.name) for verb in ("INFO", "CREATE", "UPDATE")) for spec in specs)


def looked_up_streams(specs: tuple[StreamSpec, ...]) -> tuple[Row, ...]:
    """`js.stream_info`: wait for a stream (auth creates them) or read its last sequence."""
    return (tuple(_js_api("STREAM", "INFO", spec.name) for spec in specs),)


def ordered_consumers(specs: tuple[StreamSpec, ...]) -> tuple[Row, ...]:
    """nats-py `ordered_consumer=True`: an ephemeral push consumer per subscription, re-created (and the old one
    deleted) after a gap; flow-control replies; deliveries arrive on the user's own inbox."""
    return tuple(
        (
            _js_api("CONSUMER", "CREATE", spec.name),
            _js_api("CONSUMER", "CREATE", spec.name, ">"),
            _js_api("CONSUMER", "INFO", spec.name, ">"),
            _js_api("CONSUMER", "DELETE", spec.name, ">"),
            f"$JS.FC.{spec.name}.>",
        )
        for spec in specs
    )


def durable_pull_consumer(spec: StreamSpec, durable: str) -> tuple[Row, ...]:
    """nats-py `pull_subscribe(durable=…)`: create or bind the consumer, fetch, ack/nak/term each message."""
    return (
        (
            _js_api("CONSUMER", "CREATE", spec.name, durable),
            _js_api("CONSUMER", "CREATE", spec.name, durable, ">"),
            _js_api("CONSUMER", "DURABLE", "CREATE", spec.name, durable),
        ),
        (_js_api("CONSUMER", "INFO", spec.name, durable), _js_api("CONSUMER", "MSG", "NEXT", spec.name, durable)),
        (f"$JS.ACK.{spec.name}.{durable}.>",),
    )


def last_state_by_subject(spec: StreamSpec, event: type[StateEvent]) -> tuple[Row, ...]:
    """nats-py `get_last_msg(stream, subject, direct=True)`: one entity's last state, asked of the stream itself
    (`allow_direct`). The entity's subject is part of the API subject, so this grant reads that state and nothing
    else (`STREAM.MSG.GET` would take any sequence or subject in its body)."""
    return ((_js_api("DIRECT", "GET", spec.name, f"{event.subject_prefix}.>"),),)
