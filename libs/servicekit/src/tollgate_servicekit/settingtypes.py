"""Field types for services' `BaseSettings` (the `http` extra brings pydantic-settings).

`CommaSeparated`: a list the environment gives as `a, b,c` (pydantic-settings would otherwise want JSON); empty
entries and surrounding spaces are dropped, and a list passed in code is taken as it is.

```python
egress_allow: CommaSeparated = []    # TOLLGATE_KEYVAULT_EGRESS_ALLOW="127.0.0.1:8090, [::1]:9"
```
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator
from pydantic_settings import NoDecode

__all__ = ["CommaSeparated"]


def _split(value: object) -> object:
    if isinstance(value, str):
        return [entry.strip() for entry in value.split(",") if entry.strip()]
    return value


CommaSeparated = Annotated[list[str], NoDecode, BeforeValidator(_split)]
"""`list[str]` read from a comma-separated environment variable."""
