"""Which text encoding a file uses, when the user did not say.

One rule, in this order:

1. a byte-order mark: UTF-8 (``utf-8-sig``) or UTF-16;
2. UTF-16 without a mark, recognised by NUL bytes at every other position of ASCII text;
3. valid UTF-8 (the whole file decodes strictly) -> ``utf-8``;
4. otherwise the lines holding non-ASCII bytes are sampled and
   `charset-normalizer <https://github.com/jawah/charset_normalizer>`_ ranks candidate codecs;
   GB18030 (a superset of GBK and GB2312) and Big5 are always tried as well, and a Chinese codec
   wins when most of the characters it decodes to are *frequent* characters of its script
   (GB2312 level 1 for simplified, Big5 level 1 for traditional Chinese): short Chinese samples
   otherwise look like Korean or Japanese to a generic detector. Windows-1252 is preferred to
   any other single-byte code page the detector proposes whenever it decodes the sample
   (Niño would otherwise come out as Nińo in Central-European cp1250), and a Windows code page
   to its old Mac sibling (``mac_cyrillic`` -> ``cp1251``).
5. The chosen codec must decode the whole file strictly; otherwise the next candidate is tried,
   and when none works a :class:`DataError` names the line of the first bad byte.

The result records the codec and how it was chosen (``"given"``, ``"byte-order mark"``,
``"detected"``, ``"default"`` for valid UTF-8); :class:`~crmresearch.data.TransactionLog` reports it.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from crmresearch.errors import DataError

_CHUNK = 8 * 1024 * 1024
_SAMPLE_BYTES = 256 * 1024
_CJK = ("gb18030", "big5")
# Codec names charset-normalizer uses for the GB family -> the superset we decode with.
_GB_FAMILY = {"gb2312", "gbk", "gb18030", "hz", "cp936", "euc_cn"}
# Single-byte codecs a generic detector proposes for Latin text; Windows-1252 is preferred to any
# of them when it decodes the sample (Central-European or DOS code pages are rarer in CRM exports).
_SINGLE_BYTE = {
    "cp1250", "cp1257", "latin_1", "iso8859_1",
    "iso8859_2", "iso8859_15", "cp775", "cp850", "cp852", "cp1125", "cp1006", "mac_roman",
    "mac_latin2", "cp437", "cp858", "iso8859_9", "iso8859_13", "iso8859_16",
}  # fmt: skip
_MAC_TO_WINDOWS = {
    "mac_cyrillic": "cp1251", "mac_greek": "cp1253", "mac_roman": "cp1252",
    "mac_latin2": "cp1250", "mac_turkish": "cp1254", "mac_iceland": "cp1252",
}  # fmt: skip


def bom_encoding(head: bytes) -> str | None:
    """Codec implied by a byte-order mark or by UTF-16's NUL pattern; None if neither."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = head[:4096]
    if len(sample) >= 8:
        even, odd = sample[0::2], sample[1::2]
        if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
            return "utf-16-le"
        if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
            return "utf-16-be"
    return None


def first_undecodable(path: Path, encoding: str, opener=None) -> tuple[int, bytes] | None:
    """(1-based line, byte) of the first byte that does not decode, streaming; None if all do."""
    decoder = codecs.getincrementaldecoder(encoding)()
    lines_before = 0
    with (opener or open)(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                buffered = exc.object  # exc.start is relative to pending + chunk
                line = lines_before + buffered[: exc.start].count(b"\n") + 1
                return line, buffered[exc.start : exc.start + 1]
            lines_before += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return lines_before + 1, b""
    return None


def _non_ascii_sample(path: Path, opener=None) -> bytes:
    """Up to 256 KB of the file's lines that hold non-ASCII bytes (what detection needs)."""
    parts: list[bytes] = []
    size = 0
    with (opener or open)(path, "rb") as fh:
        tail = b""
        while chunk := fh.read(_CHUNK):
            chunk = tail + chunk
            cut = chunk.rfind(b"\n") + 1
            body, tail = (chunk[:cut], chunk[cut:]) if cut else (b"", chunk)
            if not body.isascii():
                for line in body.splitlines(keepends=True):
                    if not line.isascii():
                        parts.append(line)
                        size += len(line)
                        if size >= _SAMPLE_BYTES:
                            return b"".join(parts)
            if len(tail) > _CHUNK:  # no line break for 8 MB: sample the bytes as they are
                parts.append(tail[:_SAMPLE_BYTES])
                return b"".join(parts)
        if tail and not tail.isascii():
            parts.append(tail)
    return b"".join(parts)


def _frequent_share(text: str, codec: str) -> float:
    """Share of the CJK ideographs in ``text`` that are level-1 (frequent) characters of the
    codec's script: GB2312 lead bytes 0xB0-0xD7, Big5 lead bytes 0xA4-0xC6."""
    lo, hi, enc = (0xB0, 0xD7, "gb2312") if codec == "gb18030" else (0xA4, 0xC6, "big5")
    total = frequent = 0
    for ch in text:
        if "\u4e00" <= ch <= "\u9fff":
            total += 1
            try:
                lead = ch.encode(enc)[0]
            except UnicodeEncodeError:
                continue
            frequent += lo <= lead <= hi
    return frequent / total if total else 0.0


def _decodes(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        # the sample may end inside a multi-byte character: allow an incomplete tail
        try:
            return codecs.getincrementaldecoder(codec)().decode(data, final=False)
        except (UnicodeDecodeError, LookupError):
            return None


def _ranked_candidates(sample: bytes) -> list[str]:
    """Codecs to try, best first (see the module docstring, step 4)."""
    from charset_normalizer import from_bytes

    detected: list[str] = []
    for match in from_bytes(sample):
        name = match.encoding.lower().replace("-", "_")
        name = "gb18030" if name in _GB_FAMILY else name
        if name not in detected:
            detected.append(name)
    chinese = []
    for codec in _CJK:
        text = _decodes(sample, codec)
        if text is not None:
            chinese.append((_frequent_share(text, codec), codec))
    chinese.sort(key=lambda t: (-t[0], _CJK.index(t[1])))
    ranked = [codec for share, codec in chinese if share >= 0.5]
    western = _decodes(sample, "cp1252") is not None
    for name in detected:
        windows = _MAC_TO_WINDOWS.get(name)
        if windows and _decodes(sample, windows) is not None:
            name = windows  # old Mac code pages are rarer than their Windows siblings
        if western and name in _SINGLE_BYTE:
            name = "cp1252"  # the common Western codec whenever it decodes the sample
        if name not in ranked:
            ranked.append(name)
    for codec in ("gb18030", "cp1252"):
        if codec not in ranked:
            ranked.append(codec)
    return ranked


def detect_encoding(path: Path, name: str, head: bytes, opener=None) -> tuple[str, str]:
    """``(codec, how)`` for a text file without a given encoding (rule in the module docstring)."""
    bom = bom_encoding(head)
    if bom is not None:
        return bom, "byte-order mark"
    if first_undecodable(path, "utf-8", opener) is None:
        return "utf-8", "default"
    sample = _non_ascii_sample(path, opener)
    for codec in _ranked_candidates(sample):
        if first_undecodable(path, codec, opener) is None:
            return codec, "detected"
    line, byte = first_undecodable(path, "gb18030", opener) or (1, b"")
    raise DataError(
        f"{name}: the text encoding could not be detected (not UTF-8, GB18030, Big5 or "
        f"Windows-1252; first byte that GB18030 cannot decode: {byte!r} on line {line:,}). "
        "Fix: pass the file's encoding (encoding=..., CLI --encoding) or re-save it as UTF-8."
    )
