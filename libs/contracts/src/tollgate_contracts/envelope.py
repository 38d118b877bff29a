"""The envelope every bus message carries, and the base classes events derive from.

Each concrete event declares its subject and version as class variables, so a
publisher cannot pair a model with the wrong subject. Readers are tolerant:
unknown fields are ignored, so additive changes within a version never break a
consumer.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tollgate_contracts.ids import new_id


def is_subject_token(value: str) -> bool:
    """Whether `value` can stand as one plain NATS subject token: not empty, no `.`, no wildcard (`*`, `>`),
    no whitespace or control character. An entity key that is not one would change which subjects a message
    reaches (or fail to publish at all)."""
    return bool(value) and value.isprintable() and not any(ch in ".*>" or ch.isspace() for ch in value)


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


class Message(BaseModel):
    """A frozen, tolerant wire model (ignores unknown fields, refuses mutation)."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class Event(Message):
    """Base of every event published on the bus."""

    subject_prefix: ClassVar[str]
    """Subject (or subject prefix, for state events) without the entity key."""
    version: ClassVar[int] = 1

    event_id: str = Field(default_factory=lambda: new_id("evt"), description="Unique id of this event.")
    occurred_at: datetime = Field(default_factory=utcnow, description="When the event happened (aware UTC).")
    producer: str = Field(description="The service (and replica) that published the event, e.g. `auth`.")
    correlation_id: str | None = Field(default=None, description="Id of the request or event that caused this.")

    @field_validator("occurred_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("occurred_at must be timezone-aware")
        return value.astimezone(UTC)

    @property
    def subject(self) -> str:
        """The subject this event is published on."""
        return self.subject_prefix


class StateEvent(Event):
    """The full current state of one entity, kept as the last message on its own subject.

    `state_version` increases monotonically per entity; a consumer ignores a
    message whose version is not newer than what it holds.
    """

    state_version: int = Field(ge=1, description="Monotonic version of the entity's state.")

    @property
    def key(self) -> str:
        """The entity key: the last token of the subject."""
        raise NotImplementedError

    @property
    def subject(self) -> str:
        return f"{self.subject_prefix}.{self.key}"
