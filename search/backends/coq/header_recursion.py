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
  (any other symbol, string or character is refused: a header notation could reorder a call's
  arguments). Refused: mutual blocks (``with`` outside a ``match``), ``where``, ``let``, ``as``, ``in``,
  ``return``, ``is``, ``:=`` in the body (named arguments), ``@``, braces in the body, or-patterns, and any
  binder (``fun``, ``forall``, ``exists``, a pattern variable) that shadows the fixpoint's name, a
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

from search.backends.coq.header_names import HeaderNamesError, declared

# The types a recursive parameter may have: every pattern variable a match on them binds under a
# constructor has the same type (nat, positive) or is an element no coercion turns into a list.
RECURSIVE_TYPES = frozenset({"nat", "list", "positive"})
_REASON = ("only evident structural recursion is accepted in a header Fixpoint: Coq 8.16's guard checker "
           "accepts some non-terminating fixpoints")
_LOCALITY = re.compile(r"(?:(?:Local|Global|#\[(?:local|global|export)\]) )?")
_FIXPOINT = re.compile(r"(?:(?:Local|Global|#\[(?:local|global|export)\]) )?Fixpoint\b")
_COFIXPOINT = re.compile(r"(?:(?:Local|Global|#\[(?:local|global|export)\]) )?CoFixpoint\b")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_']*")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_']*(?:\.[A-Za-z_][A-Za-z0-9_']*)*")
_NUMBER = re.compile(r"[0-9]+")
# runs of symbol characters: a run must be exactly one of SYMBOLS (Coq reads a run as its longest token,
# and a header notation may declare a new one such as +++)
_SYMBOL_RUN = re.compile(r"[-+*/^=<>~:&|\\?%!$#@.`']+")
_BRACKETS = frozenset("()[]{};,")
SYMBOLS = frozenset({
    ":=", "=>", "->", "<->", ":", "|", "+", "-", "*", "/", "^", "=", "<>", "<", "<=", ">", ">=", "::",
    "++", "&&", "||", "/\\", "\\/", "~", "=?", "<=?", "<?", "?=", "%",
})
_OPEN = {"(": ")", "[": "]"}
# words with a meaning this reader does not follow: each could bind a name or hide a call's argument
_REFUSED_WORDS = {
    "let": "'let' (bind a value with a match or a parameter instead)",
    "in": "'in' (a match's 'in' clause or a let)",
    "as": "'as' (a match's or a pattern's alias)",
    "return": "'return' (a match's return clause)",
    "is": "'is' (ssreflect's 'if ... is' binds pattern variables)",
    "where": "'where' (a notation attached to the fixpoint)",
    "struct": "'struct' inside the body",
    "fix": "'fix'",
    "cofix": "'cofix'",
}
_KEYWORDS = frozenset({"match", "with", "end", "fun", "forall", "exists", "if", "then", "else"})


class NotStructural(ValueError):
    """The Fixpoint is not evidently structural: ``str(exc)`` says why (without the definition's name)."""


@dataclass
class Atom:
    """An identifier, a numeral or ``_``."""

    text: str


@dataclass
class Op:
    """An operator or separator inside a sequence (``+``, ``::``, ``,``, ``%nat`` ...)."""

    text: str


@dataclass
class Group:
    """``( ... )`` or ``[ ... ]``."""

    open: str
    items: list[Node]


@dataclass
class Match:
    """``match s1, s2 with | p1 => b1 | ... end``: scrutinees and (pattern, body) arms."""

    scrutinees: list[Node]
    arms: list[tuple[list[Node], list[Node]]]


@dataclass
class Binder:
    """``fun``, ``forall`` or ``exists`` with its binders (names and optional type) and body."""

    kind: str
    binders: list[tuple[list[str], list[Node] | None]]
    body: list[Node]


@dataclass
class If:
    """``if c then t else e``."""

    cond: list[Node]
    then: list[Node]
    other: list[Node]


Node = Atom | Op | Group | Match | Binder | If


def check_recursion(sentence: str) -> str | None:
    """Why one canonical header sentence's recursion is refused, or ``None`` (module docstring)."""
    words = _WORD.findall(sentence)
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
    if not _FIXPOINT.match(sentence):
        return None
    name = _fixpoint_name(sentence)
    try:
        _check_fixpoint(sentence)
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
    rest = sentence[_FIXPOINT.match(sentence).end():]  # type: ignore[union-attr]
    match = _WORD.search(rest)
    return match.group() if match else "?"


# ----------------------------------------------------------------------------------------------- lexing


def _tokens(text: str) -> list[str]:
    """Tokens of a Fixpoint sentence without its final period; raises on anything this reader does not
    know."""
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == " ":
            index += 1
            continue
        if (match := _IDENT.match(text, index)) is not None:
            out.append(match.group())
        elif (match := _NUMBER.match(text, index)) is not None:
            out.append(match.group())
            if text[match.end():match.end() + 1].isalpha() or text[match.end():match.end() + 1] == "_":
                raise NotStructural(f"unexpected text {text[index:index + 20]!r}")
        elif char in _BRACKETS:
            out.append(char)
            index += 1
            continue
        elif (match := _SYMBOL_RUN.match(text, index)) is not None:
            if match.group() not in SYMBOLS:
                raise NotStructural(f"the symbol {match.group()!r} is not accepted")
            out.append(match.group())
        else:
            raise NotStructural(f"the character {char!r} is not accepted")
        index = match.end()
    return out


# ---------------------------------------------------------------------------------------------- parsing


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise NotStructural("the sentence ends too early")
        self.pos += 1
        return token

    def expect(self, token: str) -> None:
        got = self.peek()
        if got != token:
            raise NotStructural(f"expected {token!r}, found {got or 'the end'!r}")
        self.pos += 1

    def sequence(self, stops: frozenset[str]) -> list[Node]:
        """Nodes up to (not including) a token of ``stops`` at this level, or the end."""
        items: list[Node] = []
        while (token := self.peek()) is not None and token not in stops:
            self.pos += 1
            if token in _OPEN:
                inner = self.sequence(frozenset({_OPEN[token]}))
                self.expect(_OPEN[token])
                items.append(Group(token, inner))
            elif token == "match":
                items.append(self.match())
            elif token in ("fun", "forall", "exists"):
                binders = self.binders("=>" if token == "fun" else ",")
                items.append(Binder(token, binders, self.sequence(stops)))
            elif token == "if":
                cond = self.sequence(frozenset({"then"}))
                self.expect("then")
                then = self.sequence(frozenset({"else"}))
                self.expect("else")
                items.append(If(cond, then, self.sequence(stops)))
            elif token in _REFUSED_WORDS:
                raise NotStructural(f"{_REFUSED_WORDS[token]} is not accepted")
            elif token == "with":
                raise NotStructural("'with' outside a match (mutual fixpoints) is not accepted")
            elif token == "%":
                key = self.take()
                if _IDENT.fullmatch(key) is None:
                    raise NotStructural(f"'%' must be followed by a scope key, not {key!r}")
                items.append(Op("%" + key))
            elif token == ":=":
                raise NotStructural("':=' inside the body (a named argument or a definition) is not accepted")
            elif token == "|":
                raise NotStructural("'|' outside a match arm (an or-pattern or a notation) is not accepted")
            elif token in ("{", "}"):
                raise NotStructural("braces inside the body are not accepted")
            elif token in _KEYWORDS or token in (")", "]", "=>"):
                raise NotStructural(f"unexpected {token!r}")
            elif _IDENT.fullmatch(token) or _NUMBER.fullmatch(token):
                items.append(Atom(token))
            else:
                items.append(Op(token))
        return items

    def match(self) -> Match:
        scrutinees = self.sequence(frozenset({"with"}))
        self.expect("with")
        arms: list[tuple[list[Node], list[Node]]] = []
        if self.peek() == "|":
            self.pos += 1
        while True:
            if self.peek() == "end":  # an empty match
                self.pos += 1
                break
            pattern = self.sequence(frozenset({"=>"}))
            self.expect("=>")
            body = self.sequence(frozenset({"|", "end"}))
            arms.append((pattern, body))
            if self.take() == "end":
                break
        return Match(scrutinees, arms)

    def binders(self, terminator: str) -> list[tuple[list[str], list[Node] | None]]:
        """``x y (z w : T) ...`` or ``x y : T`` up to ``terminator`` (consumed)."""
        out: list[tuple[list[str], list[Node] | None]] = []
        bare: list[str] = []
        while True:
            token = self.take()
            if token == terminator:
                break
            if token == "(":
                names = self.names()
                self.expect(":")
                kind = self.sequence(frozenset({")"}))
                self.expect(")")
                out.append((names, kind))
            elif token == ":":
                if not bare:
                    raise NotStructural("a binder's ':' without a name")
                out.append((bare, self.sequence(frozenset({terminator}))))
                bare = []
            elif _is_name(token):
                bare.append(token)
            else:
                raise NotStructural(f"unexpected {token!r} in a binder")
        if bare:
            out.append((bare, None))
        return out

    def names(self) -> list[str]:
        names: list[str] = []
        while (token := self.peek()) is not None and _is_name(token):
            names.append(token)
            self.pos += 1
        if not names:
            raise NotStructural(f"expected a binder name, found {self.peek() or 'the end'!r}")
        return names


def _is_name(token: str) -> bool:
    """A bindable name: unqualified identifier or ``_``, not a keyword."""
    return (_WORD.fullmatch(token) is not None and token not in _KEYWORDS
            and token not in _REFUSED_WORDS and token != "with")


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
    tokens = _tokens(text[:-1])
    parser = _Parser(tokens)
    name = parser.take()
    if not _is_name(name) or name == "_":
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
        elif _is_name(token):
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


def _check_fixpoint(sentence: str) -> None:
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
        failure = _position_failure(index, param, analysis.calls)
        if failure is None:
            return
        failures.append(failure)
    if not candidates:
        raise NotStructural("it has recursive calls but no explicit parameter")
    raise NotStructural(failures[0])


def _position_failure(index: int, param: _Param, calls: list[_Call]) -> str | None:
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
    if not kind or kind[0] not in RECURSIVE_TYPES or (kind[0] != "list" and len(kind) != 1):
        shown = " ".join(kind) if kind else "not declared"
        return (f"the recursive parameter {param.name!r} has type {shown!r}: a header Fixpoint may recurse "
                f"on {', '.join(sorted(RECURSIVE_TYPES))} only (a coercion could turn a pattern variable of "
                "another type back into a value as large as the parameter)")
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


def _show(nodes: list[Node]) -> str:
    parts: list[str] = []
    for node in nodes:
        if isinstance(node, (Atom, Op)):
            parts.append(node.text)
        elif isinstance(node, Group):
            parts.append(node.open + _show(node.items) + _OPEN[node.open])
        elif isinstance(node, Match):
            parts.append("match ... end")
        elif isinstance(node, Binder):
            parts.append(f"{node.kind} ...")
        else:
            parts.append("if ...")
    return " ".join(parts)


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
            raise NotStructural(f"{analysis.name!r} is passed as a value in {_show(run)!r} (a recursive "
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
            if isinstance(arg, Atom) and _IDENT.fullmatch(arg.text) and arg.text != "_" \
                    and arg.text not in env:
                raise NotStructural(
                    f"the recursive call {_show(run)!r} has the global name {arg.text!r} as an argument: "
                    "parenthesise it (a notation keyword there could reorder the arguments)")
            binding = env.get(inner.text) if isinstance(inner, Atom) else None
            origin = binding.origin if binding is not None and binding.kind == "struct" else None
            args.append((_show([arg]), origin))
        analysis.calls.append(_Call(_show(run), args))


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
            raise NotStructural(f"the pattern {_show(pattern)!r} does not have one part per scrutinee")
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
        raise NotStructural(f"the pattern {_show(items)!r} is not accepted")
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
            if _NUMBER.fullmatch(head.text) or head.text == "_" or "." in head.text:
                return []  # a numeral, a wildcard or a qualified (constructor) name binds nothing
            return [(head.text, depth > 0)]
        if isinstance(head, Group):
            return _pattern_variables(head.items, depth + (head.open == "["))
        raise NotStructural(f"the pattern {_show(items)!r} is not accepted")
    if not (isinstance(head, Atom) and _IDENT.fullmatch(head.text)):
        raise NotStructural(f"the pattern {_show(items)!r} is not accepted")
    out = []
    for arg in items[1:]:  # C a b: the head is a constructor, each argument lies under it
        out.extend(_pattern_variables([arg], depth + 1))
    return out
