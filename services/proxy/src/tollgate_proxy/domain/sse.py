"""An incremental Server-Sent Events parser that keeps each event's exact bytes.

Bytes go in as the network delivers them, split anywhere (inside a line, a
`\\r\\n` pair, a multi-byte character); complete events come out with their
parsed `event` and `data` fields and the raw bytes they were made of, so the
relay can pass an event on unchanged or leave it out. Line endings are `\\r\\n`,
`\\n` or `\\r` (WHATWG HTML, "Parsing an event stream").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_LINE_END = re.compile(rb"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class SseEvent:
    """One block of lines ended by a blank line (or by the end of the stream)."""

    raw: bytes
    """The exact bytes of the block, blank line included."""
    event: str | None
    """The `event:` field, if any."""
    data: bytes | None
    """The `data:` lines joined with `\\n`; None when the block had none (comments, keep-alives)."""


class SseParser:
    """Feed bytes, get complete events; `close()` at the end of the stream yields what is left.

    Streams that use `\n` alone (what OpenAI and Anthropic send) take a fast path that
    splits on blank lines; the first `\r` switches the parser to the general line scanner
    for the rest of the stream.
    """

    __slots__ = ("_buf", "_data", "_event", "_general", "_pos")

    def __init__(self, *, lf_fast_path: bool = True) -> None:
        self._buf = bytearray()
        self._pos = 0
        """Where the next unparsed line starts in `_buf` (which starts at the current event)."""
        self._event: str | None = None
        self._data: list[bytes] = []
        self._general = not lf_fast_path

    def feed(self, chunk: bytes) -> list[SseEvent]:
        """Parse `chunk`; return the events it completed, in order."""
        if not self._general:
            if b"\r" not in chunk:
                return self._feed_lf(chunk)
            self._general = True  # `_pos` is 0 and no field is pending: the scanner starts at the buffer's start
        self._buf += chunk
        return self._parse(final=False)

    def close(self) -> list[SseEvent]:
        """End of stream: an unterminated last line or event still counts (and keeps its bytes)."""
        self._general = True
        events = self._parse(final=True)
        if self._pos < len(self._buf):
            self._line(bytes(self._buf[self._pos :]))
            self._pos = len(self._buf)
        if self._buf:
            events.append(self._dispatch(bytes(self._buf)))
            self._buf.clear()
            self._pos = 0
        return events

    def _feed_lf(self, chunk: bytes) -> list[SseEvent]:
        if self._buf:
            self._buf += chunk
            data = bytes(self._buf)
        else:
            data = chunk
        events: list[SseEvent] = []
        start = 0
        size = len(data)
        while start < size:
            if data[start] == 0x0A:  # a blank line right away: an empty block
                events.append(SseEvent(raw=b"\n", event=None, data=None))
                start += 1
                continue
            end = data.find(b"\n\n", start)
            if end < 0:
                break
            for line in data[start:end].split(b"\n"):
                self._line(line)
            events.append(self._dispatch(data[start : end + 2]))
            start = end + 2
        self._buf = bytearray(data[start:])
        return events

    def _parse(self, *, final: bool) -> list[SseEvent]:
        buf = self._buf
        pos = self._pos
        start = 0
        events: list[SseEvent] = []
        size = len(buf)
        while True:
            match = _LINE_END.search(buf, pos)
            if match is None:
                break
            end = match.end()
            if end == size and not final and buf[end - 1] == 0x0D:
                break  # a lone `\r` at the end may be the first half of `\r\n`
            line_start = pos
            pos = end
            if match.start() == line_start:
                events.append(self._dispatch(bytes(buf[start:pos])))
                start = pos
            else:
                self._line(bytes(buf[line_start : match.start()]))
        if start:
            del buf[:start]
        self._pos = pos - start
        return events

    def _line(self, line: bytes) -> None:
        if line[:1] == b":":
            return
        name, colon, value = line.partition(b":")
        if colon and value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            self._data.append(value)
        elif name == b"event":
            self._event = value.decode("utf-8", "replace")

    def _dispatch(self, raw: bytes) -> SseEvent:
        data = b"\n".join(self._data) if self._data else None
        event = SseEvent(raw=raw, event=self._event, data=data)
        self._event = None
        self._data = []
        return event
