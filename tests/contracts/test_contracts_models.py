"""Behaviour of the shared models: subjects, envelopes, tolerant readers, money and ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from tollgate_contracts import (
    ALL_STREAMS,
    POLICY_STREAMS,
    AuditEvent,
    BreakerState,
    Capability,
    GrantState,
    GrantStatus,
    PriceState,
    StreamKind,
    TenantState,
    TenantStatus,
    UsageRecorded,
    is_subject_token,
    micro_to_usd,
    new_id,
    usd_to_micro,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def grant(**changes: object) -> GrantState:
    fields: dict[str, object] = {
        "producer": "auth",
        "state_version": 1,
        "grant_id": "grt_1",
        "tenant_id": "tnt_1",
        "status": GrantStatus.ACTIVE,
        "provider": "openai",
        "models": ("gpt-4o-mini",),
        "capabilities": (Capability.CHAT,),
        "created_at": NOW,
    }
    fields.update(changes)
    return GrantState.model_validate(fields)


def tenant(**changes: object) -> TenantState:
    fields: dict[str, object] = {
        "producer": "auth",
        "state_version": 1,
        "tenant_id": "tnt_1",
        "name": "default",
        "status": TenantStatus.ACTIVE,
        "created_at": NOW,
    }
    fields.update(changes)
    return TenantState.model_validate(fields)


def test_state_event_subject_ends_with_its_entity_key() -> None:
    assert grant().subject == "grant.state.v1.grt_1"
    price = PriceState(
        producer="metering",
        state_version=1,
        provider="openai",
        model="gpt-4.1-mini",
        input_micro_usd_per_mtok=1,
        output_micro_usd_per_mtok=2,
    )
    assert price.subject == "price.state.v1.openai.gpt-4_1-mini"


def test_audit_events_go_to_their_services_subject() -> None:
    event = AuditEvent(producer="auth", service="auth", action="grant.created", actor="admin")
    assert event.subject == "audit.auth.v1"


def test_every_subject_is_captured_by_exactly_one_stream() -> None:
    samples = [
        grant().subject,
        AuditEvent(producer="auth", service="keyvault", action="x", actor="admin").subject,
        BreakerState(producer="metering", state_version=1, scope="grant-1", status="open").subject,
        UsageRecorded.subject_prefix,
        tenant().subject,
    ]
    for subject in samples:
        owners = [s.name for s in ALL_STREAMS if any(_matches(p, subject) for p in s.subjects)]
        assert len(owners) == 1, (subject, owners)


def _matches(pattern: str, subject: str) -> bool:
    p, s = pattern.split("."), subject.split(".")
    for i, token in enumerate(p):
        if token == ">":
            return len(s) > i
        if i >= len(s) or (token != "*" and token != s[i]):
            return False
    return len(p) == len(s)


def test_state_streams_keep_one_message_per_subject() -> None:
    for spec in ALL_STREAMS:
        if spec.kind is StreamKind.STATE:
            assert spec.max_msgs_per_subject == 1, spec.name


def test_readers_ignore_unknown_fields_and_models_are_frozen() -> None:
    data = grant().model_dump(mode="json") | {"added_in_a_later_minor": True}
    parsed = GrantState.model_validate(data)
    assert parsed == grant().model_copy(update={"event_id": parsed.event_id, "occurred_at": parsed.occurred_at})
    with pytest.raises(ValidationError):
        parsed.status = GrantStatus.REVOKED  # type: ignore[misc]


def test_naive_timestamps_are_refused_and_aware_ones_normalised_to_utc() -> None:
    with pytest.raises(ValidationError):
        grant(occurred_at=datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test
    plus_two = timezone(timedelta(hours=2))
    assert grant(occurred_at=datetime(2026, 1, 1, 14, tzinfo=plus_two)).occurred_at == datetime(
        2026, 1, 1, 12, tzinfo=UTC
    )


@pytest.mark.parametrize(("usd", "micro"), [("5", 5_000_000), ("0.25", 250_000), (3, 3_000_000), ("0.000001", 1)])
def test_dollars_parse_to_integer_micro_dollars(usd: str | int, micro: int) -> None:
    assert usd_to_micro(usd) == micro


@pytest.mark.parametrize("bad", ["-1", "abc", "0.0000001", "NaN", "inf"])
def test_bad_dollar_amounts_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="dollar amount"):
        usd_to_micro(bad)


def test_micro_dollars_format_with_six_decimals() -> None:
    assert micro_to_usd(150) == "0.000150"
    assert micro_to_usd(5_000_000) == "5.000000"


def test_ids_are_prefixed_unique_and_sort_by_time() -> None:
    earlier = new_id("grt", now_ms=1_700_000_000_000)
    later = new_id("grt", now_ms=1_700_000_000_001)
    assert earlier.startswith("grt_") and len(earlier) == 30
    assert earlier < later
    assert len({new_id("req") for _ in range(1000)}) == 1000


def test_tenant_state_lives_on_its_own_state_stream_which_proxies_do_not_follow() -> None:
    state = tenant()
    assert state.subject == "tenant.state.v1.tnt_1"
    tenants = next(spec for spec in ALL_STREAMS if spec.name == "TG_TENANTS")
    assert tenants.kind is StreamKind.STATE and tenants.subjects == ("tenant.state.v1.>",)
    assert tenants not in POLICY_STREAMS
    assert TenantState.model_validate(state.model_dump(mode="json")).status is TenantStatus.ACTIVE
    assert tenant(status="disabled").status is TenantStatus.DISABLED


@pytest.mark.parametrize("bad", ["", "tnt.1", "tnt_*", ">", "tnt 1", "tnt\t1", "tnt\n", "tnt\x00"])
def test_a_tenant_id_that_is_not_one_plain_subject_token_is_refused(bad: str) -> None:
    assert not is_subject_token(bad)
    with pytest.raises(ValidationError, match="plain subject token"):
        tenant(tenant_id=bad)


@pytest.mark.parametrize("good", ["tnt_01JD3ABCDEFGHJKMNPQRSTVWXY", "tnt_00000000000000000000000001", "acme-corp"])
def test_generated_and_simple_tenant_ids_are_plain_subject_tokens(good: str) -> None:
    assert is_subject_token(good)
    assert tenant(tenant_id=good).key == good
