"""Names that look like ASCII names they are not: ``Fаlse`` with a Cyrillic ``а`` reads as ``False``.

A header that declares such a name (``Definition Fаlse := True.``) lets a statement say ``Fаlse`` and be
read as the absurd proposition while it states something trivial, so the header checks of both assistants
refuse it. No table of lookalikes is complete (Unicode has hundreds: a Cyrillic palochka ``ӏ`` is an
``l``, an Armenian ``ս`` a ``u``), so a declared name may hold, besides ASCII, only characters nobody
reads as Latin letters: Greek lower-case letters but omicron, sub- and superscripts (``h₀``, ``aₙ``),
primes and the double-struck ``ℕ ℤ ℚ ℝ ℂ`` (``name_problem``). Among Latin letters, though, the Greek ones
drawn like Latin ones (``υ ν ι κ ρ χ ω`` ...) read as Latin too: ``Trυe`` reads as ``True``, so a name may
mix them with ASCII letters no more than a Cyrillic ``а`` (``ασ₁`` stays Greek, a name of its own). And
ASCII has its own lookalikes, ``FaIse`` with a capital ``I``: ``ascii_variants`` gives the names a name
reads as, for a header check: one that is a well-known name (``WELL_KNOWN_NAMES``) is refused (by Coq only
where ``Locate`` finds it).
``ascii_lookalike`` names the ASCII word a refused name is drawn like, for the message; no benchmark header
declares a non-ASCII name at all.
"""

from __future__ import annotations

import itertools
import re
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
# Greek lower-case letters drawn like Latin ones: honest in a Greek name, impostors among Latin letters
_GREEK_LATIN = str.maketrans({
    "α": "a", "γ": "y", "ε": "e", "η": "n", "ι": "i", "κ": "k", "μ": "u", "ν": "v", "ρ": "p", "σ": "o",
    "τ": "t", "υ": "u", "χ": "x", "ω": "w",
})
# ASCII characters drawn alike in common fonts: each stands for its whole class
_ASCII_CLASSES = ("Il1", "O0")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_']*")
# Names statements lean on, which a header name drawn alike in ASCII (``FaIse``, ``Rea1``, ``1e``) would
# pass for. Only these count: ``x0`` beside Coq's ``xO`` or ``P1`` beside ``PI`` are ordinary names.
WELL_KNOWN_NAMES = frozenset({
    # both assistants' logic and numbers
    "True", "False", "Not", "And", "Or", "Iff", "Eq", "Ne", "Exists", "Prop", "Type", "Set", "id",
    # Lean and Mathlib
    "HEq", "Sort", "Nat", "Int", "Rat", "Real", "Complex", "NNReal", "ENNReal", "Fin", "ZMod", "Finset",
    "List", "Nat.Prime", "Prime", "Even", "Odd", "abs", "min", "max", "sqrt", "exp", "log", "sin", "cos",
    "tan", "pi", "floor", "ceil", "gcd", "lcm", "choose", "factorial", "deriv", "Icc", "Ico", "Ioc", "Ioo",
    "IsLeast", "IsGreatest", "Function", "Injective", "Surjective", "Bijective", "Polynomial",
    # Coq's standard library
    "nat", "bool", "not", "and", "or", "iff", "eq", "le", "lt", "ge", "gt", "ex", "list", "In", "length",
    "Rle", "Rlt", "Rge", "Rgt", "Rabs", "Rmin", "Rmax", "ln", "Rpower", "Rsqr", "INR", "IZR", "Zabs",
    "Nat.le", "Nat.lt", "Z.le", "Z.lt", "Z.abs", "Nat.gcd", "Z.gcd", "Nat.modulo", "Z.modulo", "Nat.div",
    "Z.div", "Zeven", "Zodd", "Nat.Even", "Nat.Odd", "prime", "fact", "sum", "Nat.log2", "Z.log2",
})


def _letter(char: str, among_latin: bool) -> str:
    mapped = char.translate(_LOOKALIKES)
    if among_latin:
        mapped = mapped.translate(_GREEK_LATIN)
    if mapped != char:
        return mapped
    compatible = unicodedata.normalize("NFKC", char)
    return compatible if compatible.isascii() and compatible.isalpha() else char


_HONEST = frozenset(
    [chr(c) for c in range(0x03B1, 0x03CA) if c != 0x03BF]  # Greek α-ω but omicron
    + [chr(c) for c in range(0x2080, 0x209D)]  # subscript digits and letters: h₀, aₙ, xₘₐₓ
    + list("⁰¹²³⁴⁵⁶⁷⁸⁹ⁱⁿ′″✝ℕℤℚℝℂ"))  # superscripts, primes, the double-struck number sets


def name_problem(name: str) -> str | None:
    """Why a header may not declare ``name`` (a character that can be drawn like a Latin letter), or
    ``None``."""
    odd = sorted({char for char in name if not char.isascii() and char not in _HONEST})
    if not odd and any(char.isascii() and char.isalpha() for char in name):
        odd = sorted({char for char in name if char.translate(_GREEK_LATIN) != char})
    if not odd:
        return None
    lookalike = ascii_lookalike(name)
    shown = ", ".join(f"{char!r} (U+{ord(char):04X})" for char in odd)
    drawn = f"it reads as {lookalike!r} but is another name" if lookalike else "it may read as another name"
    return f"{name!r} holds {shown}: {drawn}; header names keep to ASCII letters"


def ascii_lookalike(name: str) -> str | None:
    """The ASCII name ``name`` is drawn like, when it is not ASCII itself (``Fаlse`` -> ``False``);
    ``None`` for an ASCII name or one that looks like no ASCII name (``α``, ``h₀``, ``λx``)."""
    if name.isascii():
        return None
    among_latin = any(char.isascii() and char.isalpha() for char in name)
    skeleton = "".join(_letter(char, among_latin) for char in name)
    return skeleton if skeleton.isascii() else None


def ascii_variants(name: str, limit: int = 64) -> list[str]:
    """The other ASCII identifiers ``name`` is drawn like (``FaIse`` -> ``False``, ``Fa1se`` ...): each of
    its ``I l 1`` and ``O 0`` replaced by another of its class; at most ``limit`` of them, none starting
    with a digit."""
    if not name.isascii():
        return []
    choices = [next((c for c in _ASCII_CLASSES if char in c), char) for char in name]
    variants = []
    for spelling in itertools.islice(itertools.product(*choices), limit + 1):
        text = "".join(spelling)
        if text != name and _IDENTIFIER.fullmatch(text):
            variants.append(text)
    return variants[:limit]
