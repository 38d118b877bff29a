"""How results are shown: `--json` prints the service's JSON as is; otherwise rich tables for people."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False) + "\n")


PIPE_WIDTH = 160


def micro_to_usd(micro: int) -> str:
    """Micro-dollars as dollars with six decimals (`"5.000000"`), without floats."""
    return str((Decimal(micro) / 1_000_000).quantize(Decimal("0.000001")))


def console() -> Console:
    # Built per call, so it writes to whatever sys.stdout is now (the test runner swaps it). Piped output
    # has no width to fit: rich would assume 80 columns and fold every cell, so give it room instead.
    out = Console(highlight=False, soft_wrap=False)
    if not out.is_terminal:
        out = Console(highlight=False, soft_wrap=False, width=PIPE_WIDTH)
    return out


def text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value) or "-"
    return str(value)


def record_table(title: str, record: dict[str, Any], fields: Sequence[str]) -> None:
    """One record as a two-column table, the fields in the given order (then any others)."""
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    ordered = [*fields, *(key for key in record if key not in fields)]
    for key in ordered:
        if key in record:
            table.add_row(key, text(record[key]))
    console().print(table)


def short_time(value: Any) -> str:
    """`2026-12-25T11:45:03.218934Z` as `2026-12-25 11:45` (UTC), for tables; JSON keeps the full value."""
    if isinstance(value, str) and len(value) >= 16 and value[10] == "T":
        return f"{value[:10]} {value[11:16]}"
    return text(value)


def list_table(title: str, rows: Iterable[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> None:
    """Rows as a table; `columns` are (header, key) pairs, `*_at` keys shown as short times."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for i, (header, _) in enumerate(columns):
        # Ids (the first column) are what people copy: never cut; other cells fold in a narrow terminal.
        table.add_column(header, no_wrap=i == 0, overflow="fold")
    count = 0
    for row in rows:
        table.add_row(*(short_time(row.get(key)) if key.endswith("_at") else text(row.get(key)) for _, key in columns))
        count += 1
    if count == 0:
        console().print(f"{title}: none")
        return
    console().print(table)
