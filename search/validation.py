"""Declarative validation of the frozen config dataclasses: each field states its rules in its metadata
(``setting(default, help=..., min=..., choices=...)``) and one validator checks every field of every
config class, reporting all the problems at once.

A config class derives from ``Validated`` (its ``__post_init__`` runs ``validate``) and names itself with
``config_name`` (``"search configuration"``), the word used in its error message; a class of data whose
instances are better named by their content (a theorem, a traced step) overrides ``described``. Rules that
tie fields together live in the class's ``cross_checks`` method. Fields the class sets itself
(``init=False``) are derived values, not settings: the validator leaves them alone. The validator also
checks each value's type against the field's annotation (``int``, ``float``, ``str``, ``bool``,
``tuple[str, ...]``, optional ones, nested configs, enums), so a config built from a file gets the same
checks as one built in code; lists become tuples and integers become floats where the annotation says so
(the items of a ``tuple[float, ...]`` too).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import math
import re
import types
import typing
from collections.abc import Callable, Iterable, Sequence
from dataclasses import MISSING, dataclass
from typing import Any, ClassVar

from search.errors import ProverError

Check = Callable[[Any], "str | None"]  # a field's own rule: the problem with a value, or None


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one setting: ``key`` names it (``alpha``, or ``search.alpha`` in a file)."""

    key: str
    message: str  # a whole sentence naming the key, e.g. "alpha must be >= 0, got -1"


class ConfigError(ProverError, ValueError):
    """Invalid settings; ``problems`` lists every one found, ``what`` names the configuration."""

    def __init__(self, what: str, problems: tuple[Problem, ...]) -> None:
        super().__init__(f"invalid {what}: " + "; ".join(p.message for p in problems))
        self.what = what
        self.problems = problems

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(p.key for p in self.problems)


MAX_SECONDS = 1_000_000.0  # the longest time limit a setting takes (11.6 days): larger ones overflow timers


def setting(
    default: Any = MISSING,
    *,
    help: str,
    default_factory: Callable[[], Any] | Any = MISSING,
    min: float | None = None,
    max: float | None = None,
    above: float | None = None,
    below: float | None = None,
    finite: bool = True,
    choices: Sequence[Any] | None = None,
    pattern: tuple[str, str] | None = None,
    nonblank: bool = False,
    nonempty: bool = False,
    min_items: int | None = None,
    check: Check | None = None,
    convert: Callable[[Any], Any] | None = None,
    repr: bool = True,
) -> Any:
    """A dataclass field with its help text and rules. ``min``/``max`` are inclusive bounds, ``above``/
    ``below`` exclusive ones, ``finite`` (the default; NaN is always refused) refuses infinities;
    ``choices`` lists the allowed values; ``pattern`` is (regex every string must fully match, how to
    describe it); ``nonblank`` refuses empty or blank strings, ``nonempty`` empty ones; for a tuple,
    these and ``pattern`` apply to each item and ``min_items`` bounds its length. ``check`` is the
    field's own rule. ``None`` passes every rule of an optional field. ``convert`` normalises a value
    before the rules see it (it must return any value it does not understand unchanged): a relative path
    made absolute, say. Time limits take ``max=MAX_SECONDS``.
    """
    rules = {"min": min, "max": max, "above": above, "below": below, "finite": finite or None,
             "choices": None if choices is None else tuple(choices), "pattern": pattern,
             "nonblank": nonblank or None, "nonempty": nonempty or None, "min_items": min_items,
             "check": check, "convert": convert}
    metadata = {"help": help} | {name: rule for name, rule in rules.items() if rule is not None}
    return dataclasses.field(default=default, default_factory=default_factory, metadata=metadata,
                             repr=repr)


class Validated:
    """Base of the validated config dataclasses: construction runs ``validate``."""

    config_name: ClassVar[str] = "configuration"

    def __post_init__(self) -> None:
        validate(self)

    def cross_checks(self) -> Iterable[str]:
        """Problems that involve several fields (override); each a sentence naming the fields."""
        return ()

    def described(self) -> str:
        """What the error message calls this instance: ``config_name``, unless overridden to name the
        instance itself (it may read fields that are invalid: only to show them)."""
        return self.config_name


def validate(config: Any) -> None:
    """Check every field of the dataclass ``config`` against its annotation and its metadata rules, then
    the class's ``cross_checks``; raises ``ConfigError`` listing every problem. Normalises lists given for
    tuple fields to tuples and integers given for float fields to floats (in place, frozen or not)."""
    problems: list[Problem] = []
    hints = _hints(type(config))
    for field in dataclasses.fields(config):
        if not field.init:
            continue
        value = _normalised(config, field, hints[field.name])
        problems += [Problem(field.name, message) for message in field_problems(field, value,
                                                                                hints[field.name])]
    if isinstance(config, Validated):
        try:
            problems += [Problem(_first_word(message), message) for message in config.cross_checks()]
        except (TypeError, ValueError, AttributeError, ArithmeticError):
            if not problems:  # a cross check may assume each field is sane: only then is its failure a bug
                raise
    if problems:
        what = (config.described() if isinstance(config, Validated)
                else getattr(config, "config_name", type(config).__name__))
        raise ConfigError(what, tuple(problems))


def field_problems(field: dataclasses.Field[Any], value: Any, annotation: Any) -> list[str]:
    """What is wrong with ``value`` for ``field`` (empty when nothing is)."""
    name = field.name
    kind, optional = scalar_type(annotation)
    if value is None:
        return [] if optional else [f"{name} must be set, got None"]
    wrong = _type_problem(name, kind, value)
    if wrong is not None:
        return [wrong]
    rules = field.metadata
    items = value if isinstance(value, tuple) else (value,)
    problems: list[str] = []
    if isinstance(value, int | float) and not isinstance(value, bool):
        problems += _bound_problems(name, value, rules)
    if rules.get("min_items") is not None and len(value) < rules["min_items"]:
        problems.append(f"{name} needs at least {rules['min_items']} item(s), got {value!r}")
    if rules.get("choices") is not None and value not in rules["choices"]:
        shown = ", ".join(map(str, rules["choices"]))
        problems.append(f"{name} must be one of {shown}, got {value!r}")
    blank = (lambda item: not item.strip()) if rules.get("nonblank") else (lambda item: not item)
    if (rules.get("nonblank") or rules.get("nonempty")) and any(
            not isinstance(item, str) or blank(item) for item in items):
        problems.append(f"{name} must be non-empty strings, got {value!r}" if isinstance(value, tuple)
                        else f"{name} must not be empty")
    if rules.get("pattern") is not None:
        regex, description = rules["pattern"]
        if any(isinstance(item, str) and re.fullmatch(regex, item) is None for item in items):
            problems.append(f"{name} must be {description}, got {value!r}")
    if rules.get("check") is not None and not problems:
        found = rules["check"](value)
        if found is not None:
            problems.append(found if found.startswith(name) else f"{name}: {found}")
    return problems


def _bound_problems(name: str, value: float, rules: typing.Mapping[str, Any]) -> list[str]:
    low, high = rules.get("min"), rules.get("max")
    above, below = rules.get("above"), rules.get("below")
    if math.isnan(value) or (rules.get("finite") and math.isinf(value)):
        return [f"{name} must be a finite number, got {value}"]
    ok = ((low is None or value >= low) and (high is None or value <= high)
          and (above is None or value > above) and (below is None or value < below))
    if ok:
        return []
    lower = ("[", low) if low is not None else ("(", above) if above is not None else None
    upper = ("]", high) if high is not None else (")", below) if below is not None else None
    if lower is not None and upper is not None:
        return [f"{name} must be in {lower[0]}{lower[1]}, {upper[1]}{upper[0]}, got {value}"]
    if lower is not None:
        return [f"{name} must be {'>=' if lower[0] == '[' else '>'} {lower[1]}, got {value}"]
    assert upper is not None
    return [f"{name} must be {'<=' if upper[0] == ']' else '<'} {upper[1]}, got {value}"]


@functools.cache  # annotations are hashable, and a config is validated each time one is built
def scalar_type(annotation: Any) -> tuple[Any, bool]:
    """The annotation without ``| None``, and whether ``None`` is allowed."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], len(args) < len(typing.get_args(annotation))
    return annotation, False


TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


def _type_problem(name: str, kind: Any, value: Any) -> str | None:
    if kind in TYPE_NAMES:
        fits = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if kind is float:
            fits = isinstance(value, int | float) and not isinstance(value, bool)
        return None if fits else f"{name} must be {TYPE_NAMES[kind]}, got {value!r}"
    if typing.get_origin(kind) is tuple:
        item = _tuple_item(kind)
        if not isinstance(value, tuple):
            return f"{name} must be a list, got {value!r}"
        if item in TYPE_NAMES and any(_type_problem(name, item, v) is not None for v in value):
            return f"{name} must be a list of {TYPE_NAMES[item].split(' ', 1)[1]}s, got {value!r}"
        return None
    if dataclasses.is_dataclass(kind) and isinstance(kind, type) and not isinstance(value, kind):
        return f"{name} must be a {kind.__name__}, got {value!r}"
    if isinstance(kind, type) and issubclass(kind, enum.Enum) and not isinstance(value, kind):
        return f"{name} must be one of {', '.join(str(m.value) for m in kind)}, got {value!r}"
    return None


def _tuple_item(kind: Any) -> Any:
    args = typing.get_args(kind)
    return args[0] if len(args) == 2 and args[1] is Ellipsis else None


def _normalised(config: Any, field: dataclasses.Field[Any], annotation: Any) -> Any:
    """The field's value, with a list made a tuple and an int made a float where the annotation says so,
    then the field's own ``convert``."""
    value = getattr(config, field.name)
    kind, _ = scalar_type(annotation)
    fixed = value
    if typing.get_origin(kind) is tuple and isinstance(value, list | tuple):
        if _tuple_item(kind) is float and any(type(v) is int for v in value):  # bools stay (and fail)
            fixed = tuple(float(v) if type(v) is int else v for v in value)
        elif isinstance(value, list):
            fixed = tuple(value)
    elif kind is float and isinstance(value, int) and not isinstance(value, bool):
        fixed = float(value)
    if field.metadata.get("convert") is not None and fixed is not None:
        fixed = field.metadata["convert"](fixed)
    if fixed is not value:
        object.__setattr__(config, field.name, fixed)
    return fixed


_HINTS: dict[type, dict[str, Any]] = {}  # a class's resolved annotations, computed once per class


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _first_word(message: str) -> str:
    """The key a cross-check message names first (its first identifier)."""
    found = re.search(r"[A-Za-z_]\w*", message.removeprefix("need "))
    return found.group(0) if found else ""
