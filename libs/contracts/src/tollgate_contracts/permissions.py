"""Who may do what on the bus: one NATS user per service with least privilege, as data.

The one source of Tollgate's NATS permissions, rendered by `tollgate_contracts.natsconf`: into
`deploy/nats/nats.conf` (`make nats-conf`; a test fails when that file is stale) and, with generated passwords,
for the embedded and test servers (`tollgate_servicekit.natsserver`). Subjects come from the contracts' classes.

What the set guarantees, subject by subject:
- state is published by its owner only: grant, API-key, revoked-token, signing-key and tenant state by `auth`;
  credential state by `keyvault`; budget, breaker and price state by `metering`;
- only `proxy` may ask for a sealed provider key (`keyvault.seal.v1`) or a budget lease (`metering.lease.v1`),
  and only the service that answers a request subject may subscribe to it;
- replies reach their asker only: each user subscribes to `_INBOX.<user>.>` (its own inbox prefix, see
  `inbox_prefix`), never to `_INBOX.>`; responders answer through `allow_responses` (one reply per request);
- only `auth` creates or reconfigures streams; the others may look a stream up, and read what they follow
  through consumers of their own (keyvault reads one tenant's last state by a direct get instead, and auth one
  grant's last budget state, for introspection).

The unrestricted test harness user (`HARNESS`) exists in test servers only, never embedded or deployed.
"""

from __future__ import annotations

from pydantic import Field

from tollgate_contracts.envelope import Message, StateEvent
from tollgate_contracts.jsapi import (
    Row,
    durable_pull_consumer,
    last_state_by_subject,
    looked_up_streams,
    managed_streams,
    ordered_consumers,
)
from tollgate_contracts.metering import BudgetState, UsageRecorded
from tollgate_contracts.owners import owned_by
from tollgate_contracts.rpc import LeaseRequest, SealRequest
from tollgate_contracts.streams import (
    ALL_STREAMS,
    AUDIT,
    BREAKERS,
    BUDGETS,
    CREDENTIALS,
    GRANTS,
    POLICY_STREAMS,
    PRICES,
    TENANTS,
    USAGE,
)
from tollgate_contracts.tenants import TenantState

SERVICES: tuple[str, ...] = ("auth", "keyvault", "metering", "proxy")
"""The service users, in the order the configuration lists them."""

HARNESS = "harness"
"""The test harness's user: unrestricted, in test servers only."""

USAGE_DURABLE = "metering"
"""The durable pull consumer on TG_USAGE that every metering replica shares."""

SEAL_QUEUE = "keyvault"
"""The queue group keyvault replicas answer `keyvault.seal.v1` in."""


def inbox_prefix(user: str) -> str:
    """The reply-subject prefix a user's client must use (nats-py `inbox_prefix=`): `_INBOX.<user>`."""
    return f"_INBOX.{user}"


def password_variable(user: str) -> str:
    """The environment variable the deployed configuration reads the user's password from."""
    return f"TOLLGATE_NATS_{user.upper()}_PASSWORD"


class Allow(Message):
    """Subjects allowed together, and why (the reason becomes a comment in the rendered configuration)."""

    why: str = Field(description="Why the user needs these subjects.")
    rows: tuple[Row, ...] = Field(description="Subjects or subject patterns (`*`, `>`), in rows that belong together.")

    @property
    def subjects(self) -> tuple[str, ...]:
        return tuple(subject for row in self.rows for subject in row)


def allow(why: str, *subjects: str) -> Allow:
    """An `Allow` of one row."""
    return Allow(why=why, rows=(subjects,))


class BusUser(Message):
    """One NATS user: what it may publish, what it may subscribe to, whether it may answer requests."""

    name: str = Field(description="The NATS user name (a service name, or the test harness).")
    role: str = Field(description="What the user does on the bus, in one line.")
    publish: tuple[Allow, ...] = Field(default=(), description="Publish allow list, in groups.")
    subscribe: tuple[Allow, ...] = Field(default=(), description="Subscribe allow list, in groups.")
    allow_responses: bool = Field(default=False, description="May publish one reply to each request it receives.")
    unrestricted: bool = Field(default=False, description="No permissions at all (the test harness only).")

    def publish_subjects(self) -> tuple[str, ...]:
        return tuple(subject for group in self.publish for subject in group.subjects)

    def subscribe_subjects(self) -> tuple[str, ...]:
        return tuple(subject for group in self.subscribe for subject in group.subjects)

    def may_publish(self, subject: str) -> bool:
        """Whether nats-server lets this user publish to `subject` (replies under `allow_responses` aside)."""
        return self.unrestricted or any(covers(allowed, subject) for allowed in self.publish_subjects())

    def may_subscribe(self, subject: str) -> bool:
        """Whether nats-server lets this user subscribe to `subject` (which may itself hold wildcards)."""
        return self.unrestricted or any(covers(allowed, subject) for allowed in self.subscribe_subjects())


def covers(pattern: str, subject: str) -> bool:
    """Whether every subject matched by `subject` is matched by `pattern` (NATS `*` and `>` wildcards)."""
    wanted, given = pattern.split("."), subject.split(".")
    for index, token in enumerate(wanted):
        if token == ">":
            return len(given) > index
        if index >= len(given) or given[index] == ">":
            return False
        if token != "*" and (given[index] == "*" or given[index] != token):
            return False
    return len(given) == len(wanted)


def _state(*events: type[StateEvent]) -> tuple[str, ...]:
    """Every entity's subject of each state event class."""
    return tuple(f"{event.subject_prefix}.>" for event in events)


def _own_inbox(user: str) -> Allow:
    return allow(
        "Replies to this user only: PubAcks, JetStream API answers, request replies, consumer deliveries.",
        f"{inbox_prefix(user)}.>",
    )


def _audit(user: str) -> str:
    return f"audit.{user}.v1"


AUTH = BusUser(
    name="auth",
    role="writes tenants, grants, API keys, revoked tokens and signing keys; creates and updates every stream.",
    publish=(
        allow(
            "The state it owns (nobody else may publish it), and its audit trail.",
            *_state(*owned_by("auth")),
            _audit("auth"),
        ),
        Allow(
            why="ensure_streams: STREAM.INFO, then CREATE or UPDATE, for every stream. Only auth manages streams.",
            rows=managed_streams(ALL_STREAMS),
        ),
        Allow(
            why="Introspection (RFC 7662) answers a grant's last known remaining budget: one direct get of that "
            "grant's last budget state (metering's), nothing else of the stream.",
            rows=last_state_by_subject(BUDGETS, BudgetState),
        ),
    ),
    subscribe=(_own_inbox("auth"),),
)

KEYVAULT = BusUser(
    name="keyvault",
    role="writes credential state; answers sealed-key requests (from the proxy only) in queue group `keyvault`.",
    publish=(
        allow("The state it owns, and its audit trail.", *_state(*owned_by("keyvault")), _audit("keyvault")),
        Allow(
            why="Waits at start for the streams it publishes to and the tenants it checks (auth creates them).",
            rows=looked_up_streams((CREDENTIALS, AUDIT, TENANTS)),
        ),
        Allow(
            why="Before storing a credential: the tenant's last state (exists, active), one direct get.",
            rows=last_state_by_subject(TENANTS, TenantState),
        ),
    ),
    subscribe=(
        allow("Sealed-key requests; only the proxy may publish them.", SealRequest.subject),
        _own_inbox("keyvault"),
    ),
    allow_responses=True,
)

METERING = BusUser(
    name="metering",
    role="counts usage (durable consumer `metering` on TG_USAGE), follows grants, writes budgets, breakers and "
    "prices; answers budget-lease requests (from the proxy only).",
    publish=(
        allow(
            "The state it owns, and its audit trail.",
            *_state(*owned_by("metering")),
            _audit("metering"),
        ),
        Allow(
            why="Waits at start for the streams it reads and writes (auth creates them).",
            rows=looked_up_streams((USAGE, GRANTS, BUDGETS, BREAKERS, PRICES, AUDIT)),
        ),
        Allow(
            why="The shared durable usage consumer: create or bind, fetch, then ack, nak or term each record "
            "(allow_responses covers one reply per delivery; an in-progress ack then an ack needs more).",
            rows=durable_pull_consumer(USAGE, USAGE_DURABLE),
        ),
        Allow(
            why="Grant state: an ordered consumer, last message per subject, then live.",
            rows=ordered_consumers((GRANTS,)),
        ),
    ),
    subscribe=(
        allow("Budget-lease requests; only the proxy may publish them.", LeaseRequest.subject),
        _own_inbox("metering"),
    ),
    allow_responses=True,
)

PROXY = BusUser(
    name="proxy",
    role="the data plane. Follows the policy streams, publishes usage, asks keyvault and metering. It manages no "
    "stream and publishes no state: a compromised proxy can neither reconfigure what it reads nor forge policy.",
    publish=(
        allow(
            "Usage records (PubAck to its inbox), its audit trail, the sealed-key and budget-lease requests.",
            UsageRecorded.subject_prefix,
            _audit("proxy"),
            SealRequest.subject,
            LeaseRequest.subject,
        ),
        Allow(why="Looks up each policy stream before following it.", rows=looked_up_streams(POLICY_STREAMS)),
        Allow(why="One ordered consumer per policy stream per replica.", rows=ordered_consumers(POLICY_STREAMS)),
    ),
    subscribe=(_own_inbox("proxy"),),
)

SERVICE_USERS: tuple[BusUser, ...] = (AUTH, KEYVAULT, METERING, PROXY)
"""The deployed and embedded users, one per service."""

HARNESS_USER = BusUser(
    name=HARNESS,
    role="TEST SERVERS ONLY: a test playing several roles with one raw client. Unrestricted.",
    unrestricted=True,
)


def service_user(name: str) -> BusUser:
    """The user of service `name`; KeyError for anything else (the harness is not a service)."""
    for user in SERVICE_USERS:
        if user.name == name:
            return user
    raise KeyError(f"no bus user for service {name!r}")


__all__ = [
    "HARNESS",
    "HARNESS_USER",
    "SEAL_QUEUE",
    "SERVICES",
    "SERVICE_USERS",
    "USAGE_DURABLE",
    "Allow",
    "BusUser",
    "covers",
    "inbox_prefix",
    "password_variable",
    "service_user",
]
