"""Create or update the streams on a NATS server (needs the `nats` extra)."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from tollgate_contracts.streams import ALL_STREAMS, StreamSpec


def stream_config(spec: StreamSpec, replicas: int | None = None) -> StreamConfig:
    """The nats-py configuration for a stream spec."""
    return StreamConfig(
        name=spec.name,
        subjects=list(spec.subjects),
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        max_msgs_per_subject=spec.max_msgs_per_subject,
        max_age=float(spec.max_age_seconds),
        duplicate_window=float(spec.duplicate_window_seconds),
        num_replicas=replicas if replicas is not None else spec.replicas,
        allow_direct=True,
    )


async def ensure_streams(
    js: JetStreamContext, specs: tuple[StreamSpec, ...] = ALL_STREAMS, replicas: int | None = None
) -> None:
    """Create each stream, or bring an existing one to its spec. Safe to call from every replica on start."""
    for spec in specs:
        config = stream_config(spec, replicas)
        try:
            await js.stream_info(spec.name)
        except NotFoundError:
            await js.add_stream(config)
        else:
            await js.update_stream(config)
