"""`docs/asyncapi.json`: the bus as the services really run it (`make asyncapi` writes it; a test checks it).

This package may import every service, the contracts may not: so here the services' FastStream handlers are
collected and handed to `tollgate_contracts.asyncapi`, which documents them and describes every other subject
from the contracts' models. Today one handler runs on FastStream, keyvault's seal responder. Metering's usage
consumer (batched pull with manual ack) and the proxy's policy followers (ordered consumers) stay on nats-py (their
docstrings say why), so the contracts describe those subjects; a handler that moves to FastStream joins
`handlers()` and its entry then comes from its code.
"""

from __future__ import annotations

import sys

from faststream.nats import NatsBroker

from tollgate_contracts import asyncapi
from tollgate_keyvault.consumers import asyncapi_broker as keyvault_handlers


def handlers() -> tuple[NatsBroker, ...]:
    """A never-started broker per service holding its real FastStream subscribers."""
    return (keyvault_handlers(),)


def render() -> str:
    """The checked-in document's text."""
    return asyncapi.render(*handlers())


if __name__ == "__main__":
    sys.stdout.write(render())
