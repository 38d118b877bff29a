"""Model allowlist patterns: does one pattern allow only what another already allows?

The proxy matches a model against a grant's allowlist with `fnmatchcase` (`*`, `?` and `[...]`, case-sensitive;
`tollgate_proxy.domain.policy`). Narrowing (the owner's choice, a sub-grant) may keep a pattern only if every
model it lets through is let through by a pattern of the wider list. For `*`/`?` patterns that is decided
exactly, by walking the chosen pattern against the set of positions the wider one can be in (an NFA inclusion
check, with bounded work). Patterns with `[...]` classes are compared by equality only, which can refuse a narrower
pattern but never accepts a wider one.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase

__all__ = ["covered", "is_literal", "uncovered"]

_SPECIAL = frozenset("*?[")
_OTHER = "\x00"
"""Stands for every character neither pattern names; model names are printable, so it is never one of them."""
_WORK = 500_000
"""Steps one `covered`/`uncovered` call may take (about a tenth of a second); past it, "not covered": a
refusal is safe, and an app's adversarial patterns cannot make auth spin."""


class _Budget:
    def __init__(self) -> None:
        self.left = _WORK

    def spend(self, steps: int) -> bool:
        self.left -= steps
        return self.left >= 0


def is_literal(pattern: str) -> bool:
    """True for a plain model name (nothing `fnmatchcase` treats specially)."""
    return not _SPECIAL.intersection(pattern)


def covered(pattern: str, by: Iterable[str]) -> bool:
    """True when every model `pattern` matches is matched by one of the patterns `by`."""
    return _covered(pattern, tuple(by), _Budget())


def uncovered(patterns: Iterable[str], by: Iterable[str]) -> tuple[str, ...]:
    """The patterns of `patterns` that `by` does not cover (empty when all are); one work budget for all."""
    wider, budget = tuple(by), _Budget()
    return tuple(p for p in patterns if not _covered(p, wider, budget))


def _covered(pattern: str, wider: tuple[str, ...], budget: _Budget) -> bool:
    if pattern in wider:
        return True
    if is_literal(pattern):
        return any(fnmatchcase(pattern, w) for w in wider)
    if "[" in pattern:
        return any(_matches_everything(w) for w in wider)
    return any("[" not in w and _included(pattern, w, budget) for w in wider)


def _matches_everything(pattern: str) -> bool:
    return bool(pattern) and set(pattern) == {"*"}


def _closure(pattern: str, positions: Iterable[int]) -> frozenset[int]:
    """Positions reachable without reading a character: a `*` may match nothing."""
    out: set[int] = set()
    for start in positions:
        j = start
        out.add(j)
        while j < len(pattern) and pattern[j] == "*":
            j += 1
            out.add(j)
    return frozenset(out)


def _step(pattern: str, positions: frozenset[int], char: str) -> frozenset[int]:
    after: set[int] = set()
    for j in positions:
        if j == len(pattern):
            continue
        token = pattern[j]
        if token == "*":
            after.add(j)
        elif token in ("?", char):
            after.add(j + 1)
    return _closure(pattern, after)


def _included(narrow: str, wide: str, budget: _Budget) -> bool:
    """Every string `narrow` matches, `wide` matches (`*` and `?` only, no `[`)."""
    alphabet = (set(narrow) | set(wide) | {_OTHER}) - {"*", "?"}
    start = _closure(wide, (0,))
    todo = [(i, start) for i in _closure(narrow, (0,))]
    seen = set(todo)
    while todo:
        i, positions = todo.pop()
        if i == len(narrow) and len(wide) not in positions:
            return False  # a string `narrow` matches and `wide` does not
        if not positions:
            return False  # `narrow` can still complete a string from here (every state can), `wide` cannot
        if i == len(narrow):
            continue
        token = narrow[i]
        for char in alphabet:
            if token not in ("*", "?", char):
                continue
            if not budget.spend(len(positions) + 1):
                return False
            following = _closure(narrow, (i if token == "*" else i + 1,))
            positions_after = _step(wide, positions, char)
            for k in following:
                pair = (k, positions_after)
                if pair not in seen:
                    seen.add(pair)
                    todo.append(pair)
    return True
