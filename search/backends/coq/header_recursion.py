"""Which recursion a header may define: evident structural recursion, read from the text alone.

Coq 8.16's guard checker accepts some fixpoints that do not terminate (rocq#20455, fixed in Coq 9.0.1;
Coq's critical-bugs file lists more for 8.16: rocq#20413, #20555, #21839, and the cofixpoint ones
#22386, #22389). One such header ``Fixpoint`` proves ``False``, and then any theorem. So a header's
recursion is judged here, by a rule that does not rely on the guard checker: every recursive call must
pass, at one parameter position, a variable that a ``match`` bound under a constructor from that
parameter (or, transitively, from such a variable). That argument is then a strict subterm of the
parameter, so the recursion terminates whatever Coq's checker would say. The rule, for one canonical
header sentence (``check_recursion``):

- every sentence: no term-level ``fix`` / ``cofix`` and no ``CoFixpoint`` (no benchmark header uses them);
  no declaration of ``nat``, ``list`` or ``positive`` (the types a recursive parameter may have, below);
- a ``Fixpoint`` is read with a small parser of ASCII identifiers, numerals and the standard operators
  (``term_reader``; any other symbol, string or character is refused: a header notation could reorder a
  call's arguments). Refused: mutual blocks (``with`` outside a ``match``), ``where``, ``let``, ``as``,
  ``in``, ``return``, ``is``, ``:=`` in the body (named arguments), ``@``, braces in the body, or-patterns,
  and any binder (``fun``, ``forall``, ``exists``, a pattern variable) that shadows the fixpoint's name, a
  parameter or a pattern variable bound under a constructor;
- every occurrence of the fixpoint's name heads an application (it is never passed as a value) whose
  arguments are local variables, numerals, ``_`` or parenthesised terms (a bare global name could be a
  notation keyword that reorders them);
- one explicit parameter position (the ``{struct x}`` one when annotated) holds, in every recursive call,
  a variable bound under a constructor by a pattern of a ``match`` whose scrutinee is that parameter or
  such a variable; that parameter is declared of type ``nat``, ``list ...`` or ``positive`` (a coercion
  could wrap a pattern variable of another type back into a value as large as the parameter:
  Coquelicot's ``Finite : R >-> Rbar`` turns ``g r`` into ``g (Finite r)``, the same value);
- no explicit parameter occurs in the type of a later parameter or of the result: under ``Set Implicit
  Arguments`` it would become implicit and shift the positions the recursive calls' arguments fill.

A legitimate but unusual definition may be refused (rewrite it with plain ``match`` recursion); a
non-structural one is never accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from search.backends.coq.header_names import LOCALITY, HeaderNamesError, declared
from search.backends.coq.term_reader import (
    IDENT,
    NUMBER,
    WORD,
    Atom,
    Binder,
    Group,
    If,
    Match,
    Node,
    NotStructural,
    Op,
    Parser,
    is_name,
    show,
    tokenize,
)

# The types a recursive parameter may have: every pattern variable a match on them binds under a
# constructor has the same type (nat, positive) or is an element no coercion turns into a list.
RECURSIVE_TYPES = frozenset({"nat", "list", "positive"})
_REASON = ("only evident structural recursion is accepted in a header Fixpoint: Coq 8.16's guard checker "
           "accepts some non-terminating fixpoints")
_LOCALITY = re.compile(LOCALITY)
FIXPOINT, _COFIXPOINT = (re.compile(LOCALITY + word) for word in (r"Fixpoint\b", r"CoFixpoint\b"))


def check_recursion(sentence: str, inductives: frozenset[str] = frozenset()) -> str | None:
    """Why one canonical header sentence's recursion is refused, or ``None`` (module docstring).
    ``inductives``: the header's own inductive types declared before it that a Fixpoint may recurse on
    (``header_inductive``: no constructor is a coercion, so no pattern variable turns back into one)."""
    words = WORD.findall(sentence)
    word = next((w for w in words if w in ("fix", "cofix")), None)
    if word is not None:
        return (f"{word!r} is not allowed in a header (Coq 8.16's guard checker accepts some non-terminating "
                f"fixpoints; write a Fixpoint with structural recursion): {sentence[:80]!r}")
    if _COFIXPOINT.match(sentence):
        return ("'CoFixpoint' is not allowed in a header (Coq 8.16's guard checker accepts some "
                f"unproductive cofixpoints): {sentence[:80]!r}")
    reason = _check_declared(sentence)
    if reason is not None:
        return reason
    if not FIXPOINT.match(sentence):
        return None
    name = _fixpoint_name(sentence)
    try:
        _check_fixpoint(sentence, RECURSIVE_TYPES | inductives)
    except NotStructural as exc:
        return f"Fixpoint {name}: {exc} ({_REASON})"
    return None


def _check_declared(sentence: str) -> str | None:
    """A sentence that declares a recursive type's name would change what a Fixpoint's ``nat`` means."""
    try:
        names = declared(sentence)
    except HeaderNamesError:
        return None  # header_safety refuses the sentence with its own reason
    clash = sorted((set(names.terms) | set(names.terminals)) & RECURSIVE_TYPES)
    if clash:
        return (f"a header may not declare {clash[0]!r} (header Fixpoints recurse on the standard "
                f"{clash[0]}): {sentence[:80]!r}")
    return None


def _fixpoint_name(sentence: str) -> str:
    rest = sentence[FIXPOINT.match(sentence).end():]  # type: ignore[union-attr]
    match = WORD.search(rest)
    return match.group() if match else "?"



@dataclass
class _Param:
    name: str
    explicit: bool
    kind: list[str] | None  # the declared type's tokens


@dataclass
class _Header:
    name: str
    params: list[_Param]
    struct: str | None
    result: list[str]
    body: list[Node]


def _parse_fixpoint(sentence: str) -> _Header:
    text = sentence[_LOCALITY.match(sentence).end():]  # type: ignore[union-attr]
    text = text.removeprefix("Fixpoint ").rstrip()
    if not text.endswith("."):
        raise NotStructural("the sentence does not end with '.'")
    tokens = tokenize(text[:-1])
    parser = Parser(tokens)
    name = parser.take()
    if not is_name(name) or name == "_":
        raise NotStructural(f"unexpected name {name!r}")
    params: list[_Param] = []
    struct: str | None = None
    result: list[str] = []
    while (token := parser.take()) not in (":", ":="):
        if token == "(":
            names = parser.names()
            parser.expect(":")
            start = parser.pos
            parser.sequence(frozenset({")"}))
            kind = tokens[start:parser.pos]
            parser.expect(")")
            params.extend(_Param(n, True, kind) for n in names)
        elif token == "{" and parser.peek() == "struct":
            parser.pos += 1
            struct = parser.take()
            parser.expect("}")
        elif token == "{":
            names = parser.names()
            kind = None
            if parser.peek() == ":":
                parser.pos += 1
                start = parser.pos
                parser.sequence(frozenset({"}"}))
                kind = tokens[start:parser.pos]
            parser.expect("}")
            params.extend(_Param(n, False, kind) for n in names)
        elif is_name(token):
            params.append(_Param(token, True, None))
        else:
            raise NotStructural(f"unexpected {token!r} among the parameters")
    if token == ":":
        start = parser.pos
        while parser.take() != ":=":
            pass
        result = tokens[start:parser.pos - 1]
    body = parser.sequence(frozenset())
    if parser.peek() is not None:
        raise NotStructural(f"unexpected {parser.peek()!r}")
    return _Header(name, params, struct, result, body)


# --------------------------------------------------------------------------------------------- analysis


@dataclass
class _Binding:
    kind: str  # "fix", "param", "local" or "struct"
    origin: str | None = None  # for "struct": the parameter it is a strict subterm of


@dataclass
class _Call:
    text: str
    args: list[tuple[str, str | None]]  # per argument: its text, and the parameter it is a subterm of


@dataclass
class _Analysis:
    name: str
    calls: list[_Call] = field(default_factory=list)


def _check_fixpoint(sentence: str, recursive_types: frozenset[str]) -> None:
    header = _parse_fixpoint(sentence)
    name = header.name
    names = [p.name for p in header.params]
    seen: set[str] = {name}
    for each in names:
        if each in seen and each != "_":
            raise NotStructural(f"the parameter {each!r} repeats a name")
        seen.add(each)
    types = [t for p in header.params for t in (p.kind or [])] + header.result
    if name in types:
        raise NotStructural(f"{name!r} occurs in a parameter's type or the result type")
    for index, param in enumerate(header.params):
        later = [t for p in header.params[index + 1:] for t in (p.kind or [])] + header.result
        if param.explicit and param.name != "_" and param.name in later:
            raise NotStructural(
                f"the parameter {param.name!r} occurs in the type of a later parameter or of the result "
                "(under Set Implicit Arguments it would become implicit and shift the recursive calls' "
                "arguments; declare it implicit with braces)")
    explicit = [p for p in header.params if p.explicit]
    if header.struct is not None and header.struct not in [p.name for p in explicit]:
        raise NotStructural(f"'{{struct {header.struct}}}' does not name an explicit parameter")
    env: dict[str, _Binding] = {name: _Binding("fix")}
    env.update((p.name, _Binding("param")) for p in header.params if p.name != "_")
    analysis = _Analysis(name)
    _walk(header.body, env, analysis)
    if not analysis.calls:
        return
    candidates = [(i, p) for i, p in enumerate(explicit)
                  if header.struct is None or p.name == header.struct]
    failures: list[str] = []
    for index, param in candidates:
        failure = _position_failure(index, param, analysis.calls, recursive_types)
        if failure is None:
            return
        failures.append(failure)
    if not candidates:
        raise NotStructural("it has recursive calls but no explicit parameter")
    raise NotStructural(failures[0])


def _position_failure(index: int, param: _Param, calls: list[_Call],
                      recursive_types: frozenset[str]) -> str | None:
    """Why the explicit parameter at ``index`` is not the decreasing one, or ``None``."""
    for call in calls:
        if len(call.args) <= index:
            return (f"the recursive call {call.text!r} gives no argument for the recursive parameter "
                    f"{param.name!r}")
        shown, origin = call.args[index]
        if origin != param.name:
            return (f"the recursive call {call.text!r}: its argument {shown!r} is not a variable bound by a "
                    f"pattern of the recursive parameter {param.name!r}")
    kind = param.kind or []
    if not kind or kind[0] not in recursive_types or (kind[0] != "list" and len(kind) != 1):
        shown = " ".join(kind) if kind else "not declared"
        return (f"the recursive parameter {param.name!r} has type {shown!r}: a header Fixpoint may recurse "
                f"on {', '.join(sorted(RECURSIVE_TYPES))} and the header's own inductive types only (a "
                "coercion could turn a pattern variable of another type back into a value as large as the "
                "parameter)")
    return None


def _bind(env: dict[str, _Binding], names: list[tuple[str, _Binding]]) -> dict[str, _Binding]:
    """``env`` extended with ``names``; refuses a name that shadows the fixpoint, a parameter or a
    pattern variable bound under a constructor."""
    out = dict(env)
    for name, binding in names:
        if name == "_":
            continue
        old = env.get(name)
        if old is not None and old.kind in ("fix", "param", "struct"):
            what = {"fix": "the fixpoint's own name", "param": "a parameter",
                    "struct": "a pattern variable"}[old.kind]
            raise NotStructural(f"the binder {name!r} shadows {what}")
        out[name] = binding
    return out



def _walk(items: list[Node], env: dict[str, _Binding], analysis: _Analysis) -> None:
    """Checks every occurrence of the fixpoint's name in ``items`` and records its calls."""
    run: list[Node] = []
    for node in [*items, None]:
        if isinstance(node, (Atom, Group, Match)):
            run.append(node)
            continue
        _walk_run(run, env, analysis)
        run = []
        if isinstance(node, Binder):
            scope = env
            for names, kind in node.binders:
                if kind is not None:
                    _walk(kind, scope, analysis)
                scope = _bind(scope, [(n, _Binding("local")) for n in names])
            _walk(node.body, scope, analysis)
        elif isinstance(node, If):
            for part in (node.cond, node.then, node.other):
                _walk(part, env, analysis)


def _is_fix(node: Node, env: dict[str, _Binding]) -> bool:
    return isinstance(node, Atom) and node.text in env and env[node.text].kind == "fix"


def _walk_run(run: list[Node], env: dict[str, _Binding], analysis: _Analysis) -> None:
    """One application ``head arg ...`` (consecutive atoms, groups and matches)."""
    for position, node in enumerate(run):
        if _is_fix(node, env) and position > 0:
            raise NotStructural(f"{analysis.name!r} is passed as a value in {show(run)!r} (a recursive "
                                  "call must apply it directly)")
        if isinstance(node, Group):
            _walk(node.items, env, analysis)
        elif isinstance(node, Match):
            _walk_match(node, env, analysis)
    if run and _is_fix(run[0], env):
        if len(run) == 1:
            raise NotStructural(f"{analysis.name!r} occurs without arguments (a recursive call must apply "
                                "it)")
        args: list[tuple[str, str | None]] = []
        for arg in run[1:]:
            inner = _unwrap(arg)
            if isinstance(arg, Atom) and IDENT.fullmatch(arg.text) and arg.text != "_" \
                    and arg.text not in env:
                raise NotStructural(
                    f"the recursive call {show(run)!r} has the global name {arg.text!r} as an argument: "
                    "parenthesise it (a notation keyword there could reorder the arguments)")
            binding = env.get(inner.text) if isinstance(inner, Atom) else None
            origin = binding.origin if binding is not None and binding.kind == "struct" else None
            args.append((show([arg]), origin))
        analysis.calls.append(_Call(show(run), args))


def _unwrap(node: Node) -> Node:
    while isinstance(node, Group) and node.open == "(" and len(node.items) == 1:
        node = node.items[0]
    return node


def _split(items: list[Node], separator: str) -> list[list[Node]]:
    parts: list[list[Node]] = [[]]
    for node in items:
        if isinstance(node, Op) and node.text == separator:
            parts.append([])
        else:
            parts[-1].append(node)
    return parts


def _walk_match(node: Match, env: dict[str, _Binding], analysis: _Analysis) -> None:
    scrutinees = _split(node.scrutinees, ",")
    origins: list[str | None] = []
    for scrutinee in scrutinees:
        _walk(scrutinee, env, analysis)
        origin: str | None = None
        if len(scrutinee) == 1 and isinstance(inner := _unwrap(scrutinee[0]), Atom):
            binding = env.get(inner.text)
            if binding is not None and binding.kind == "param":
                origin = inner.text
            elif binding is not None and binding.kind == "struct":
                origin = binding.origin
        origins.append(origin)
    for pattern, body in node.arms:
        parts = _split(pattern, ",")
        if len(parts) != len(scrutinees):
            raise NotStructural(f"the pattern {show(pattern)!r} does not have one part per scrutinee")
        bound: list[tuple[str, _Binding]] = []
        for part, origin in zip(parts, origins, strict=True):
            for name, under in _pattern_variables(part, 0):
                structural = under and origin is not None
                bound.append((name, _Binding("struct", origin) if structural else _Binding("local")))
        _walk(body, _bind(env, bound), analysis)


def _pattern_variables(items: list[Node], depth: int) -> list[tuple[str, bool]]:
    """The names a pattern binds, each with whether it lies under a constructor."""
    operators = [n for n in items if isinstance(n, Op) and not n.text.startswith("%")]
    items = [n for n in items if not (isinstance(n, Op) and n.text.startswith("%"))]
    if any(op.text not in ("::", ",", ";") for op in operators):
        raise NotStructural(f"the pattern {show(items)!r} is not accepted")
    if operators:  # x :: xs, (a, b), [a; b]: every operand is a constructor's argument
        out: list[tuple[str, bool]] = []
        for part in _split([n if not isinstance(n, Op) else Op(",") for n in items], ","):
            out.extend(_pattern_variables(part, depth + 1))
        return out
    if not items:
        return []
    head = items[0]
    if len(items) == 1:
        if isinstance(head, Atom):
            if NUMBER.fullmatch(head.text) or head.text == "_" or "." in head.text:
                return []  # a numeral, a wildcard or a qualified (constructor) name binds nothing
            return [(head.text, depth > 0)]
        if isinstance(head, Group):
            return _pattern_variables(head.items, depth + (head.open == "["))
        raise NotStructural(f"the pattern {show(items)!r} is not accepted")
    if not (isinstance(head, Atom) and IDENT.fullmatch(head.text)):
        raise NotStructural(f"the pattern {show(items)!r} is not accepted")
    out = []
    for arg in items[1:]:  # C a b: the head is a constructor, each argument lies under it
        out.extend(_pattern_variables([arg], depth + 1))
    return out
