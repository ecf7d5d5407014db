"""The wire form of one event: ``tag + b"\\n\\n" + msgpack(data)`` in a single frame.

The frame starts with the tag so that a SUB socket filters by tag prefix inside
libzmq. The payload is always a msgpack map, whose first byte is never ``\\n``;
that lets a tag end in a single ``\\n`` and still split unambiguously.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgpack

from saltsim.errors import FrameError

__all__ = [
    "SEPARATOR",
    "decode_data",
    "encode_data",
    "pack_frame",
    "split_frame",
    "tag_length",
    "unpack_frame",
]

SEPARATOR = b"\n\n"

# Salt's own extension type for naive datetimes (salt.payload), kept for compatibility.
_SALT_DATETIME_EXT = 78
_SALT_DATETIME_FORMAT = "%Y%m%dT%H:%M:%S.%f"


def _default(obj: object) -> object:
    if isinstance(obj, dt.datetime):
        if obj.tzinfo is None:
            # Salt's layout, with the year always 4 digits (strftime does not pad it here).
            text = f"{obj.year:04d}{obj:%m%dT%H:%M:%S.%f}".encode()
            return msgpack.ExtType(_SALT_DATETIME_EXT, text)
        return msgpack.Timestamp.from_datetime(obj)
    if isinstance(obj, set | frozenset):
        return list(obj)
    if isinstance(obj, bytearray | memoryview):
        return bytes(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__} in an event payload")


def _ext_hook(code: int, data: bytes) -> object:
    if code == _SALT_DATETIME_EXT:
        return dt.datetime.strptime(data.decode(), _SALT_DATETIME_FORMAT)
    return msgpack.ExtType(code, data)


_packer_options: dict[str, Any] = {"use_bin_type": True, "default": _default, "datetime": False}


def encode_data(data: dict[Any, Any]) -> bytes:
    """msgpack-encode a payload; the payload must be a dict."""
    if not isinstance(data, dict):
        raise FrameError(f"event data must be a dict, not {type(data).__name__}")
    try:
        return msgpack.packb(data, **_packer_options)  # type: ignore[no-any-return]
    except (TypeError, ValueError, OverflowError) as exc:
        raise FrameError(f"event data cannot be encoded: {exc}") from exc


class NotAMapError(FrameError):
    """A payload that decodes, but to something other than a map."""


def decode_data(body: bytes) -> dict[Any, Any]:
    """Decode a payload, refusing anything that is not exactly one msgpack map."""
    try:
        data = msgpack.unpackb(
            body, raw=False, strict_map_key=False, ext_hook=_ext_hook, timestamp=3
        )
    except (
        ValueError,
        TypeError,
        OverflowError,
        msgpack.ExtraData,
        msgpack.FormatError,
        msgpack.StackError,
    ) as exc:
        raise FrameError(f"payload is not valid msgpack: {exc}") from exc
    if not isinstance(data, dict):
        raise NotAMapError(f"payload must be a msgpack map, not {type(data).__name__}")
    return data


def _check_tag(tag: str) -> bytes:
    if not isinstance(tag, str):
        raise FrameError(f"event tag must be a str, not {type(tag).__name__}")
    if not tag:
        raise FrameError("event tag must not be empty")
    if "\n\n" in tag:
        raise FrameError(f"event tag must not contain a blank line: {tag!r}")
    try:
        return tag.encode()
    except UnicodeEncodeError as exc:
        raise FrameError(f"event tag is not encodable as UTF-8: {exc}") from exc


def pack_frame(tag: str, data: dict[Any, Any]) -> bytes:
    """Build one event frame; ``FrameError`` (a ``ValueError``) for a bad tag or payload."""
    return _check_tag(tag) + SEPARATOR + encode_data(data)


def tag_length(frame: bytes) -> int:
    """Length of the raw tag at the start of a frame; the body starts 2 bytes later."""
    cut = frame.find(SEPARATOR)
    if cut < 0:
        raise FrameError("frame has no tag separator")
    # A tag may end in one "\n"; a map body never starts with one.
    if frame[cut + 2 : cut + 3] == b"\n":
        cut += 1
    if cut == 0:
        raise FrameError("frame has an empty tag")
    return cut


def split_frame(frame: bytes) -> tuple[bytes, bytes]:
    """Split a frame into raw tag and raw body without decoding either."""
    cut = tag_length(frame)
    return frame[:cut], frame[cut + 2 :]


def unpack_frame(frame: bytes) -> tuple[str, dict[Any, Any]]:
    """Decode a whole frame into ``(tag, data)``; ``FrameError`` for anything malformed."""
    raw_tag, body = split_frame(frame)
    try:
        tag = raw_tag.decode()
    except UnicodeDecodeError as exc:
        raise FrameError(f"tag is not UTF-8: {exc}") from exc
    return tag, decode_data(body)
