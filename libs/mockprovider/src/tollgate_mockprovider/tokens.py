"""The deterministic token rule, so tests can assert exact counts.

- Input tokens: for every message (and Anthropic's `system` prompt, when present) the number of
  whitespace-separated words of its text, plus 3. Text is a string content or the `text` of text parts;
  other parts (images, tool calls) count 0 words but the message still counts its 3.
- Output tokens: the number of words generated. A reply is `chunks` words (setting `CHUNKS` or header
  `x-mock-chunks`), cut to `max_tokens` / `max_completion_tokens` when that is smaller; a stream sends one word
  per content chunk.
- Embeddings: each string input counts its words; a token-id array counts its length.
"""

from __future__ import annotations

from functools import lru_cache

PER_MESSAGE_TOKENS = 3

_VOCABULARY = (
    "Hello", "from", "the", "Tollgate", "mock", "provider.", "This", "reply", "is", "deterministic,",
    "one", "word", "per", "token,", "so", "every", "count", "can", "be", "checked.",
)  # fmt: skip


def count_words(text: str) -> int:
    return len(text.split())


def content_words(content: object) -> int:
    """Words of a message content: a string, or a list of parts whose text parts count."""
    if isinstance(content, str):
        return count_words(content)
    if isinstance(content, list):
        total = 0
        for part in content:
            if isinstance(part, dict):
                text = part.get("text")
                if isinstance(text, str):
                    total += count_words(text)
        return total
    return 0


def input_tokens(messages: list[dict[str, object]], system: object = None) -> int:
    total = sum(content_words(message.get("content")) + PER_MESSAGE_TOKENS for message in messages)
    if system is not None:
        total += content_words(system) + PER_MESSAGE_TOKENS
    return total


def embedding_input_tokens(item: object) -> int:
    if isinstance(item, str):
        return count_words(item)
    if isinstance(item, list):
        return len(item)
    return 0


def output_words(chunks: int, max_tokens: int | None) -> tuple[int, bool]:
    """How many words to generate, and whether the limit cut the reply short."""
    if max_tokens is not None and max_tokens < chunks:
        return max_tokens, True
    return chunks, False


@lru_cache(maxsize=64)
def reply_pieces(words: int) -> tuple[str, ...]:
    """The reply, one piece per word; joined they give the text (a space before every word but the first)."""
    return tuple((" " if i else "") + _VOCABULARY[i % len(_VOCABULARY)] for i in range(words))


@lru_cache(maxsize=64)
def reply_text(words: int) -> str:
    return "".join(reply_pieces(words))
