"""The nats-server configuration rendered from `tollgate_contracts.permissions` (text only, no I/O).

`python -m tollgate_contracts.natsconf > deploy/nats/nats.conf` (`make nats-conf`) writes the deployed file, whose
passwords are `$TOLLGATE_NATS_<SERVICE>_PASSWORD` environment references. The embedded stack and the test servers
render the same users with literal generated passwords (so their file is kept 0600) and, in test servers only,
the test harness user.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping, Sequence

from tollgate_contracts.permissions import SERVICE_USERS, Allow, BusUser, password_variable

WIDTH = 120

_SAFE_PASSWORD = re.compile(r"[A-Za-z0-9_-]{16,}")
"""What a literal password may hold: it is written between double quotes and sent in URLs, unescaped."""

DEPLOYED_HEADER = """\
# GENERATED from libs/contracts/src/tollgate_contracts/permissions.py by `make nats-conf`; edit that, not this.
# tests/contracts/test_contracts_natsconf.py fails while this file differs from what it renders.
#
# Tollgate's NATS server: JetStream that fsyncs every write, and one user with least privilege per service.
# The embedded stack (`make run`) and the test servers start nats-server from the same users and permissions.
#
# Passwords are never written here: each `$TOLLGATE_NATS_<SERVICE>_PASSWORD` is read from the server's
# environment (compose passes them from deploy/.env); a missing one stops the server at start.
# There is no anonymous user (no `no_auth_user`): a client without a service's credentials is refused.
#
# Each user subscribes to its own inbox `_INBOX.<user>.>` only, so no service reads another's replies; every
# service's client sets `inbox_prefix="_INBOX.<user>"` (tollgate_servicekit.nats.Bus does so from its user).
# State subjects are published by their owner only; only the proxy may request sealed keys and budget leases.
# When a service needs a new subject, add it in permissions.py and run `make nats-conf`;
# tests/integration/test_compose.py fails (permission violations in the server log) until it is there.
"""


def _quoted(row: Sequence[str], indent: str) -> list[str]:
    joined = ", ".join(f'"{subject}"' for subject in row) + ","
    return textwrap.wrap(
        joined, WIDTH, initial_indent=indent, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False
    )


def _allow_block(kind: str, groups: Sequence[Allow], indent: str) -> list[str]:
    inner = indent + "    "
    lines = [f"{indent}{kind}: {{", f"{indent}  allow: ["]
    for group in groups:
        lines.extend(textwrap.wrap(group.why, WIDTH, initial_indent=inner + "# ", subsequent_indent=inner + "# "))
        for row in group.rows:
            lines.extend(_quoted(row, inner))
    lines += [f"{indent}  ]", f"{indent}}}"]
    return lines


def _password(user: BusUser, passwords: Mapping[str, str] | None) -> str:
    if passwords is None:
        return "$" + password_variable(user.name)
    value = passwords[user.name]
    if not _SAFE_PASSWORD.fullmatch(value):
        # Never echo the value: it is a secret.
        raise ValueError(f"the password of NATS user {user.name!r} must be 16+ characters of [A-Za-z0-9_-]")
    return f'"{value}"'


def render_user(user: BusUser, passwords: Mapping[str, str] | None = None) -> list[str]:
    """One entry of `authorization.users`, with its role and every reason as comments."""
    indent = "    "
    lines = textwrap.wrap(
        f"{user.name}: {user.role}", WIDTH, initial_indent=indent + "# ", subsequent_indent=indent + "# "
    )
    lines += [f"{indent}{{", f"{indent}  user: {user.name}", f"{indent}  password: {_password(user, passwords)}"]
    if not user.unrestricted:
        lines.append(f"{indent}  permissions: {{")
        lines += _allow_block("publish", user.publish, indent + "    ")
        lines += _allow_block("subscribe", user.subscribe, indent + "    ")
        if user.allow_responses:
            lines.append(
                f"{indent}    # Replies only to the reply subject of a request it received, one reply per request."
            )
            lines.append(f"{indent}    allow_responses: true")
        lines.append(f"{indent}  }}")
    lines.append(f"{indent}}}")
    return lines


def render_authorization(users: Sequence[BusUser] = SERVICE_USERS, passwords: Mapping[str, str] | None = None) -> str:
    """The `authorization { users = [...] }` block. Without `passwords`, each password is the environment
    reference `$TOLLGATE_NATS_<USER>_PASSWORD`; with them, the literal value (keep such a file 0600)."""
    lines = ["authorization {", "  users = ["]
    for user in users:
        lines += render_user(user, passwords)
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"


def render_config(
    *,
    listen: str,
    monitor: str,
    store_dir: str,
    users: Sequence[BusUser] = SERVICE_USERS,
    passwords: Mapping[str, str] | None = None,
    server_name: str | None = None,
    header: str = "",
) -> str:
    """A whole nats-server configuration: listen and monitoring addresses, JetStream syncing every write, users."""
    lines = [header.rstrip("\n"), ""] if header else []
    if server_name is not None:
        lines.append(f"server_name: {server_name}")
    lines += [
        f"listen: {listen}",
        "# Monitoring (/healthz, /varz); never published beyond the host or the compose network.",
        f"http: {monitor}",
        "",
        "jetstream {",
        f'  store_dir: "{store_dir}"',
        "  # Usage records are money: acknowledge a publish only once it is on disk (the default fsyncs every 2 min).",
        "  sync_interval: always",
        "}",
        "",
    ]
    return "\n".join(lines) + "\n" + render_authorization(users, passwords)


def deployed_config() -> str:
    """The text of deploy/nats/nats.conf."""
    return render_config(
        listen="0.0.0.0:4222",
        monitor="0.0.0.0:8222",
        store_dir="/data/jetstream",
        server_name="tollgate",
        header=DEPLOYED_HEADER,
    )


__all__ = ["DEPLOYED_HEADER", "deployed_config", "render_authorization", "render_config", "render_user"]


if __name__ == "__main__":
    import sys

    sys.stdout.write(deployed_config())
