"""What `tollgate-dev` prints: where everything is, and pasteable first calls."""

from __future__ import annotations

from pathlib import Path

from tollgate_devstack.instructions import END_LINE, READY_LINE, Where, display_path, first_call, sections

URLS = {
    "proxy": "http://127.0.0.1:8080",
    "auth": "http://127.0.0.1:8081",
    "metering": "http://127.0.0.1:8082",
    "keyvault": "http://127.0.0.1:8083",
    "mock": "http://127.0.0.1:8090",
}
DEFAULT = Where(home=".tollgate", cli=".venv/bin/tollgate", python=".venv/bin/python", home_is_default=True)


def test_the_openai_snippet_uses_the_cli_and_the_proxy_with_v1() -> None:
    text = first_call(DEFAULT, URLS, "nats://127.0.0.1:4333")
    assert text.startswith(READY_LINE)
    assert text.rstrip().endswith(END_LINE)
    openai = sections(text)["openai"]
    assert ".venv/bin/tollgate grant create --provider openai --model gpt-4o-mini" in openai
    assert '.venv/bin/tollgate token mint "$GRANT"' in openai
    assert 'OpenAI(base_url="http://127.0.0.1:8080/v1", api_key=os.environ["TOKEN"])' in openai
    assert "TOLLGATE_HOME" not in openai


def test_the_anthropic_snippet_uses_the_proxy_without_v1() -> None:
    anthropic = sections(first_call(DEFAULT, URLS, "nats://127.0.0.1:4333"))["anthropic"]
    assert "--provider anthropic" in anthropic
    assert 'Anthropic(base_url="http://127.0.0.1:8080", api_key=os.environ["TOKEN_A"])' in anthropic


def test_a_stack_dir_elsewhere_is_exported_for_the_cli() -> None:
    where = Where(home="/srv/stack", cli="/v/bin/tollgate", python="/v/bin/python", home_is_default=False)
    for section in sections(first_call(where, URLS, "nats://127.0.0.1:4333")).values():
        assert "export TOLLGATE_HOME=/srv/stack\n" in section
        assert "/v/bin/tollgate grant create" in section


def test_the_admin_key_is_pointed_at_never_shown() -> None:
    text = first_call(DEFAULT, URLS, "nats://127.0.0.1:4333")
    assert ".tollgate/admin-key" in text


def test_paths_inside_the_current_directory_are_shown_relative(tmp_path: Path) -> None:
    assert display_path(tmp_path / ".venv" / "bin" / "tollgate", tmp_path) == ".venv/bin/tollgate"
    assert display_path(Path("/elsewhere/bin/tollgate"), tmp_path) == "/elsewhere/bin/tollgate"
