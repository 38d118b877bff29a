"""A fast mock of the OpenAI and Anthropic HTTP APIs, for the embedded stack, the tests and the benchmarks.

Routes: `POST /v1/chat/completions` (JSON or SSE; `stream_options.include_usage` as OpenAI does it),
`POST /v1/messages` (JSON or the Anthropic SSE event sequence), `POST /v1/embeddings`, `GET /v1/models`
(Anthropic's list shape when the request carries `anthropic-version`), `GET /healthz`, `GET /readyz`.
Any model name is accepted. The key comes from `Authorization: Bearer …` or `x-api-key`; errors use each
provider's own JSON shape. Token counts follow the rule in `tollgate_mockprovider.tokens`; per-request
behaviour the headers in `tollgate_mockprovider.options`.
"""

from tollgate_mockprovider.app import MockProvider, create_app
from tollgate_mockprovider.settings import Settings

__all__ = ["MockProvider", "Settings", "create_app"]
