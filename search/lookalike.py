"""Names that look like ASCII names they are not: ``Fаlse`` with a Cyrillic ``а`` reads as ``False``.

A header that declares such a name (``Definition Fаlse := True.``) lets a statement say ``Fаlse`` and be
read as the absurd proposition while it states something trivial, so the header checks of both assistants
refuse it. The skeleton maps the letters of other scripts that are drawn like Latin ones (Cyrillic, Greek
capitals and omicron, a few Latin variants) and the compatibility forms of Latin letters (fullwidth ``Ｆ``,
mathematical ``𝐅``) to ASCII; digits and subscripts (``h₀``) are left alone, since they impersonate no
letter.
"""

from __future__ import annotations

import unicodedata

_LOOKALIKES = str.maketrans({
    # Cyrillic
    "а": "a", "в": "B", "е": "e", "к": "k", "м": "M", "н": "H", "о": "o", "р": "p", "с": "c", "т": "T",
    "у": "y", "х": "x", "ѕ": "s", "і": "i", "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ү": "y", "һ": "h",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T",
    "У": "Y", "Х": "X", "Ѕ": "S", "І": "I", "Ј": "J", "Ԁ": "D", "Ԛ": "Q", "Ԝ": "W", "Ү": "Y", "Һ": "H",
    # Greek
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O",
    "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "ο": "o", "ϲ": "c", "ϳ": "j",
    # Latin variants
    "ı": "i", "ȷ": "j", "ɑ": "a", "ɡ": "g", "ʟ": "L", "ɪ": "I",
})


def _letter(char: str) -> str:
    mapped = char.translate(_LOOKALIKES)
    if mapped != char:
        return mapped
    compatible = unicodedata.normalize("NFKC", char)
    return compatible if compatible.isascii() and compatible.isalpha() else char


def ascii_lookalike(name: str) -> str | None:
    """The ASCII name ``name`` is drawn like, when it is not ASCII itself (``Fаlse`` -> ``False``);
    ``None`` for an ASCII name or one that looks like no ASCII name (``α``, ``h₀``, ``λx``)."""
    if name.isascii():
        return None
    skeleton = "".join(_letter(char) for char in name)
    return skeleton if skeleton.isascii() else None
