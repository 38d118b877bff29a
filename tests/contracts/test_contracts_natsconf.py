"""The NATS permission set (tollgate_contracts.permissions) and the configuration rendered from it.

deploy/nats/nats.conf is generated from the permission set; these tests fail when the checked-in file is stale
and pin the guarantees the set makes (who owns which state, who may ask for a sealed key, whose inbox is whose).
What nats-server really does with the rendered file is shown with real processes in
tests/integration/test_bus_identity.py and tests/integration/test_compose.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tollgate_contracts import (
    ApiKeyState,
    BreakerState,
    BudgetState,
    CredentialState,
    GrantState,
    LeaseRequest,
    PriceState,
    SealRequest,
    SigningKeyState,
    TenantState,
    TokenRevoked,
    UsageRecorded,
    owners,
)
from tollgate_contracts.natsconf import deployed_config, render_authorization, render_config
from tollgate_contracts.permissions import (
    HARNESS,
    HARNESS_USER,
    SERVICE_USERS,
    SERVICES,
    covers,
    inbox_prefix,
    service_user,
)
from tollgate_contracts.streams import ALL_STREAMS, BREAKERS, BUDGETS, TENANTS
from tollgate_servicekit.nats import Bus

DEPLOYED = Path(__file__).resolve().parents[2] / "deploy" / "nats" / "nats.conf"

# The permission set is built from the contracts' owner table; this pins the table itself, so an owner cannot
# change by accident in one edit (the proxy's ownership check reads the same table).
STATE_OWNERS = {
    GrantState: "auth",
    ApiKeyState: "auth",
    TokenRevoked: "auth",
    SigningKeyState: "auth",
    CredentialState: "keyvault",
    BudgetState: "metering",
    BreakerState: "metering",
    PriceState: "metering",
    TenantState: "auth",
}


def test_the_contracts_owner_table_is_the_one_pinned_here() -> None:
    assert dict(owners.STATE_OWNERS) == STATE_OWNERS


def test_checked_in_nats_conf_is_up_to_date() -> None:
    assert DEPLOYED.read_text() == deployed_config(), (
        "deploy/nats/nats.conf is out of date: run `make nats-conf` and commit it"
    )


def test_deployed_config_reads_every_password_from_the_environment_and_has_no_anonymous_user() -> None:
    text = deployed_config()
    assert re.findall(r"password:\s*(\S+)", text) == [f"$TOLLGATE_NATS_{name.upper()}_PASSWORD" for name in SERVICES]
    assert not re.search(r"^\s*no_auth_user\s*[:=]", text, re.MULTILINE)
    assert f"user: {HARNESS}" not in text
    assert re.search(r"^\s*sync_interval:\s*always\s*$", text, re.MULTILINE)


@pytest.mark.parametrize(("event", "owner"), STATE_OWNERS.items(), ids=lambda v: getattr(v, "__name__", v))
def test_only_the_owner_may_publish_a_state_subject(event: type[GrantState], owner: str) -> None:
    subject = f"{event.subject_prefix}.some-entity"
    allowed = [user.name for user in SERVICE_USERS if user.may_publish(subject)]
    assert allowed == [owner]


def test_only_the_proxy_may_ask_for_a_sealed_key_or_a_lease_and_only_the_responder_hears_it() -> None:
    for subject, responder in ((SealRequest.subject, "keyvault"), (LeaseRequest.subject, "metering")):
        assert [user.name for user in SERVICE_USERS if user.may_publish(subject)] == ["proxy"]
        assert [user.name for user in SERVICE_USERS if user.may_subscribe(subject)] == [responder]
        assert service_user(responder).allow_responses


def test_usage_is_published_by_the_proxy_only() -> None:
    assert [user.name for user in SERVICE_USERS if user.may_publish(UsageRecorded.subject_prefix)] == ["proxy"]


def test_each_user_hears_its_own_inbox_and_no_other() -> None:
    for user in SERVICE_USERS:
        assert user.may_subscribe(f"{inbox_prefix(user.name)}.nuid.token")
        assert not user.may_subscribe("_INBOX.>")
        assert not user.may_subscribe(">")
        for other in SERVICES:
            if other != user.name:
                assert not user.may_subscribe(f"{inbox_prefix(other)}.>")
                assert not user.may_subscribe(f"{inbox_prefix(other)}.nuid.token")


def test_nobody_subscribes_to_state_or_usage_subjects_directly() -> None:
    # State and usage are read through JetStream consumers delivering to the reader's own inbox, never by a
    # core subscription that would also see what a forger publishes before the server refuses to store it.
    for user in SERVICE_USERS:
        for event in (*STATE_OWNERS, UsageRecorded):
            assert not user.may_subscribe(f"{event.subject_prefix}.>")


def test_keyvault_alone_reads_a_tenants_last_state_by_direct_get_and_nothing_else_of_the_stream() -> None:
    one_tenant = f"$JS.API.DIRECT.GET.{TENANTS.name}.{TenantState.subject_prefix}.tnt_1"
    assert [user.name for user in SERVICE_USERS if user.may_publish(one_tenant)] == ["keyvault"]
    keyvault = service_user("keyvault")
    assert keyvault.may_publish(f"$JS.API.STREAM.INFO.{TENANTS.name}")
    for other in (
        f"$JS.API.DIRECT.GET.{TENANTS.name}",  # by sequence, in the body: any message
        f"$JS.API.STREAM.MSG.GET.{TENANTS.name}",
        f"$JS.API.DIRECT.GET.TG_GRANTS.{GrantState.subject_prefix}.grt_1",
        f"$JS.API.CONSUMER.CREATE.{TENANTS.name}",
    ):
        assert not keyvault.may_publish(other), other


def test_auth_alone_reads_a_grants_last_budget_by_direct_get_and_nothing_else_of_the_stream() -> None:
    # Introspection's "last known remaining budget" (RFC 7662): metering's state, read, never published, by auth.
    one_budget = f"$JS.API.DIRECT.GET.{BUDGETS.name}.{BudgetState.subject_prefix}.grt_1"
    assert [user.name for user in SERVICE_USERS if user.may_publish(one_budget)] == ["auth"]
    auth = service_user("auth")
    assert not auth.may_publish(f"{BudgetState.subject_prefix}.grt_1")
    for other in (
        f"$JS.API.DIRECT.GET.{BUDGETS.name}",  # by sequence, in the body: any message
        f"$JS.API.STREAM.MSG.GET.{BUDGETS.name}",
        f"$JS.API.DIRECT.GET.{BREAKERS.name}.{BreakerState.subject_prefix}.grant-grt_1",
        f"$JS.API.DIRECT.GET.{TENANTS.name}.{TenantState.subject_prefix}.tnt_1",
        f"$JS.API.CONSUMER.CREATE.{BUDGETS.name}",
    ):
        assert not auth.may_publish(other), other


def test_only_auth_creates_or_reconfigures_streams() -> None:
    for spec in ALL_STREAMS:
        for verb in ("CREATE", "UPDATE", "DELETE", "PURGE"):
            subject = f"$JS.API.STREAM.{verb}.{spec.name}"
            expected = ["auth"] if verb in ("CREATE", "UPDATE") else []
            assert [user.name for user in SERVICE_USERS if user.may_publish(subject)] == expected, subject


def test_the_harness_is_unrestricted_and_never_a_service() -> None:
    assert HARNESS_USER.unrestricted and HARNESS not in SERVICES
    assert HARNESS_USER.may_publish(f"{GrantState.subject_prefix}.x") and HARNESS_USER.may_subscribe(">")
    with pytest.raises(KeyError):
        service_user(HARNESS)


def test_services_connect_with_the_inbox_prefix_the_permissions_allow() -> None:
    for name in SERVICES:
        assert Bus("nats://127.0.0.1:1", name=f"tollgate-{name}", user=name).inbox_prefix == inbox_prefix(name)


@pytest.mark.parametrize(
    ("pattern", "subject", "expected"),
    [
        ("a.>", "a.b", True),
        ("a.>", "a.b.c", True),
        ("a.>", "a", False),
        ("a.>", "a.>", True),
        ("a.*", "a.b", True),
        ("a.*", "a.*", True),
        ("a.*", "a.>", False),
        ("a.*", "a.b.c", False),
        ("a.b", "a.b", True),
        ("a.b", "a.*", False),
        ("_INBOX.proxy.>", "_INBOX.>", False),
        ("_INBOX.proxy.>", "_INBOX.*.x", False),
    ],
)
def test_covers_follows_nats_wildcards(pattern: str, subject: str, expected: bool) -> None:
    assert covers(pattern, subject) is expected


def test_literal_passwords_are_quoted_and_refused_when_unsafe() -> None:
    passwords = {name: f"{name}-password-0123456789" for name in SERVICES}
    text = render_authorization(SERVICE_USERS, passwords)
    assert re.findall(r"password:\s*(\S+)", text) == [f'"{name}-password-0123456789"' for name in SERVICES]
    for bad in ('with"quote-0123456789', "short", "space in it 0123456789", "new\nline-0123456789"):
        with pytest.raises(ValueError) as refused:
            render_authorization(SERVICE_USERS, {**passwords, "proxy": bad})
        assert bad not in str(refused.value), "the refusal must not echo the password"


def test_a_test_servers_config_adds_the_harness_without_permissions() -> None:
    users = (*SERVICE_USERS, HARNESS_USER)
    passwords = {user.name: f"{user.name}-password-0123456789" for user in users}
    text = render_config(listen="127.0.0.1:1", monitor="127.0.0.1:2", store_dir="/x", users=users, passwords=passwords)
    harness = text[text.index(f"user: {HARNESS}") :]
    assert "permissions" not in harness
    assert text.count("permissions: {") == len(SERVICE_USERS)
