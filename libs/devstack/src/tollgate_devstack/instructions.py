"""What `tollgate-dev` prints once the stack is up: where everything is and a first call to paste.

Each section is a shell script to paste as a whole (the Python runs from a
here-document), so the text is both the documentation and, in the end-to-end
test, the thing that is run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

READY_LINE = "Tollgate is running."
END_LINE = "Ctrl-C stops everything."
OPENAI_MODEL = "gpt-4o-mini"
ANTHROPIC_MODEL = "claude-haiku-4-5"
_ID = """.venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["{field}"])'"""


@dataclass(frozen=True)
class Where:
    """Paths as the operator should type them (relative to the current directory when inside it)."""

    home: str
    cli: str
    python: str
    home_is_default: bool


def display_path(path: Path, cwd: Path) -> str:
    """`path` relative to `cwd` when it is inside it, else absolute."""
    try:
        return str(path.absolute().relative_to(cwd.absolute()))
    except ValueError:
        return str(path.absolute())


def _field(where: Where, field: str) -> str:
    return _ID.replace(".venv/bin/python", where.python).replace("{field}", field)


def _grant_and_token(where: Where, provider: str, model: str, grant_var: str, token_var: str) -> str:
    return (
        f"{grant_var}=$({where.cli} grant create --provider {provider} --model {model} --budget-usd 5"
        f" --expires-in 30d --json | {_field(where, 'id')})\n"
        f'export {token_var}=$({where.cli} token mint "${grant_var}" --ttl 15m --json'
        f" | {_field(where, 'access_token')})\n"
    )


def first_call(where: Where, urls: dict[str, str], nats_url: str) -> str:
    """The whole text printed after start."""
    proxy = urls["proxy"]
    env_line = "" if where.home_is_default else f"export TOLLGATE_HOME={where.home}\n"
    return f"""{READY_LINE} Stack dir: {where.home}/ (logs in {where.home}/logs/)
  proxy     {proxy}   <- point the SDKs here
  auth      {urls["auth"]}
  metering  {urls["metering"]}
  keyvault  {urls["keyvault"]}
  mock      {urls["mock"]}   registered on keyvault as providers "openai" and "anthropic"
  nats      {nats_url}
The admin key is in {where.home}/admin-key (mode 0600); the tollgate CLI reads it from there.
The mock provider's key is in {where.home}/mock-provider-key.

# --- OpenAI: paste into a shell in this directory ---
# 1. a grant for {OPENAI_MODEL} (5 USD, 30 days) and a 15-minute token for it
{env_line}{_grant_and_token(where, "openai", OPENAI_MODEL, "GRANT", "TOKEN")}# 2. a call with the official openai SDK
{where.python} - <<'PY'
import os
from openai import OpenAI
client = OpenAI(base_url="{proxy}/v1", api_key=os.environ["TOKEN"])
reply = client.chat.completions.create(model="{OPENAI_MODEL}", messages=[{{"role": "user", "content": "Say hello"}}])
print(reply.choices[0].message.content)
print(reply.usage)
PY
# 3. what the grant has used so far
{where.cli} usage "$GRANT"

# --- Anthropic: the same with a grant for provider anthropic (base_url without /v1) ---
{env_line}{_grant_and_token(where, "anthropic", ANTHROPIC_MODEL, "GRANT_A", "TOKEN_A")}{where.python} - <<'PY'
import os
from anthropic import Anthropic
client = Anthropic(base_url="{proxy}", api_key=os.environ["TOKEN_A"])
reply = client.messages.create(
    model="{ANTHROPIC_MODEL}", max_tokens=256, messages=[{{"role": "user", "content": "Say hello"}}]
)
print(reply.content[0].text)
print(reply.usage)
PY
{where.cli} usage "$GRANT_A"

# --- more: {where.cli} --help (grant list/show/revoke, credential add/list, usage, status)
{END_LINE}
"""


def sections(text: str) -> dict[str, str]:
    """The pasteable shell sections of `first_call` output, by provider (`openai`, `anthropic`)."""
    lines = text.splitlines()
    starts = {
        "openai": next(i for i, line in enumerate(lines) if line.startswith("# --- OpenAI")),
        "anthropic": next(i for i, line in enumerate(lines) if line.startswith("# --- Anthropic")),
    }
    end = next(i for i, line in enumerate(lines) if line.startswith("# --- more"))
    return {
        "openai": "\n".join(lines[starts["openai"] : starts["anthropic"]]) + "\n",
        "anthropic": "\n".join(lines[starts["anthropic"] : end]) + "\n",
    }
