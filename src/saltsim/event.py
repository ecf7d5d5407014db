"""The frozen event value object, built in one place from a frame."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from saltsim.wire import unpack_frame

__all__ = ["Event"]


@dataclass(frozen=True, slots=True)
class Event:
    """One event as seen on the master bus.

    ``data`` is the payload without private ``_`` keys, for exact assertions;
    ``full`` is the payload as published, with ``_stamp`` and ``_seq``. For
    scripts written against Salt, ``event["tag"]`` and ``event["data"]`` give
    what ``get_event(full=True)`` gives in Salt (``data`` there is the full payload).
    """

    tag: str
    full: dict[Any, Any]
    data: dict[Any, Any] = field(repr=False)
    stamp: str | None = field(repr=False)
    seq: int | None

    @classmethod
    def from_data(cls, tag: str, full: dict[Any, Any]) -> Event:
        public = {k: v for k, v in full.items() if not (isinstance(k, str) and k.startswith("_"))}
        stamp = full.get("_stamp")
        seq = full.get("_seq")
        return cls(
            tag=tag,
            full=full,
            data=public,
            stamp=stamp if isinstance(stamp, str) else None,
            seq=seq if isinstance(seq, int) and not isinstance(seq, bool) else None,
        )

    @classmethod
    def from_frame(cls, frame: bytes) -> Event:
        """Decode a wire frame; ``FrameError`` when it is not a well-formed event."""
        tag, full = unpack_frame(frame)
        return cls.from_data(tag, full)

    def __getitem__(self, key: str) -> Any:
        if key == "tag":
            return self.tag
        if key == "data":
            return self.full
        raise KeyError(key)

    def as_dict(self) -> dict[str, Any]:
        """Salt's ``full=True`` shape: ``{"tag": ..., "data": ...}``."""
        return {"tag": self.tag, "data": self.full}
