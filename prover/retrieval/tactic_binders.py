"""Which names in a retrieved tactic's text the tactic binds itself rather than takes from the state.

``name_occurrences`` lists the identifiers that may name a local of the state, each as ``free`` (a
reference to the state), ``binder`` (a name the tactic binds or introduces: ``forall x``, ``fun x``, a term
``exists x``, ``∀ x``, ``intros x``, ``as [x y]``, ``eqn:E``, ``set (x := ...)``, ``assert (H : ...)``,
``remember ... as x``, Lean's ``intro x``, ``obtain ⟨x, hx⟩``, ``rcases ... with ⟨x⟩``, a match branch
``| S p =>``) or ``bound`` (inside such a binder's reach). A term binder reaches from itself to the end of
its group or sequence; a name a tactic introduces reaches from the end of that tactic to the end of its
group or branch (``obtain ⟨x, h⟩ := h`` reads the old ``h``). Binders are found by these shapes only: a
binder missed leaves its name free (mapped like a reference, consistently), so the shapes are kept to
those that do not misread a reference as a binder. Left out entirely: a named argument's name
(``(x := v)``: the applied lemma's binder) and the components after a dot (``Nat.succ``, ``h.symm``'s
``symm``); a dotted name's first component is an occurrence of its own (``h`` in ``h.symm``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from prover.retrieval.tactic_tokens import MATCH_KEYWORDS, Token, tokenize

Role = Literal["free", "binder", "bound"]


@dataclass(frozen=True)
class Occurrence:
    """An identifier that may name a local: the name (a dotted name's first component) and its span."""

    name: str
    start: int
    end: int
    role: Role


def name_occurrences(tactic: str) -> list[Occurrence]:
    """The identifiers of ``tactic`` that may name a local, in order, each with its role."""
    shape = _Shape(tokenize(tactic))
    binders, reaches, skipped = shape.bindings()
    out: list[Occurrence] = []
    for index, token in enumerate(shape.tokens):
        if token.kind != "ident" or token.field or index in skipped:
            continue
        name = token.text.split(".", 1)[0]
        role: Role = "free"
        if index in binders:
            role = "binder"
        elif any(start <= index < end for start, end in reaches.get(name, ())):
            role = "bound"
        out.append(Occurrence(name, token.start, token.start + len(name), role))
    return out


_Binding = tuple[list[int], int | None, int]

# Where an atomic tactic ends (also at a line break, Lean's separator), and where a name it introduced
# stops reaching (another branch) and a term binder's body (the sequence) ends.
_SEQUENCE = frozenset({";", "||", "<;>", "|", "end", "·"})
_BRANCH = frozenset({"|", "||", "end", "·"})
_TERM = frozenset({";", "||", "<;>", "end", "·"})
_TERM_BINDERS = frozenset({"forall", "fun", "λ", "Π", "Σ", "exists2", "∀", "∃", "∑", "∏", "⋃", "⋂", "⨆", "⨅"})
_INTROS = frozenset({"intro", "intros", "rintro", "rintros", "introv", "ext", "rename_i", "by_contra'",
                     "extensionality"})
# ``keyword (x : T)``/``keyword (x := e)`` (Coq), ``keyword x : T``/``keyword x := e`` (Lean) name what
# they add to the context.
_FORMERS = frozenset({"assert", "eassert", "enough", "eenough", "set", "eset", "pose", "epose", "have",
                      "let", "suffices", "by_cases", "generalize"})
_PATTERN_WITH = frozenset({"rcases", "cases'", "induction'"})
_INTRODUCERS = _INTROS | _FORMERS | _PATTERN_WITH | {"by_contra", "as", "eqn", "into", "obtain", "choose"}
_AS_ENDS = frozenset({"eqn", "in", "using", "with", "by", "at", "into"})
# after these, ``exists`` starts a term (``(exists n, P n)``, ``H : exists n, ...``), not the tactic
_NOT_TERM = frozenset({";", "|", "||", "<;>", "·", "=>"})


class _Shape:
    """The tokens with their bracket structure: each token's enclosing opener (-1: none) and where each
    group closes (unclosed groups run to the end)."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.parent: list[int] = []
        self.close: dict[int, int] = {}
        stack: list[int] = []
        for index, token in enumerate(tokens):
            if token.kind == "close" and stack:
                self.close[stack.pop()] = index  # the closer sits beside its opener
            self.parent.append(stack[-1] if stack else -1)
            if token.kind == "open":
                stack.append(index)
        for opened in stack:
            self.close[opened] = len(tokens)

    def end(self, level: int) -> int:
        return self.close[level] if level >= 0 else len(self.tokens)

    def scan(self, start: int, level: int, stops: frozenset[str], newline: bool = False) -> int:
        """The first token from ``start`` in group ``level`` (outside nested ``match ... end``) that is in
        ``stops`` (or begins a line, with ``newline``), else the group's end."""
        depth = 0
        for index in range(start, self.end(level)):
            token = self.tokens[index]
            if self.parent[index] != level or token.kind == "string" or token.field:
                continue
            if token.kind == "ident" and token.text in MATCH_KEYWORDS:
                depth += 1
            elif depth and token.kind == "ident" and token.text == "end":
                depth -= 1
            elif not depth and (token.text in stops or (newline and token.newline)):
                return index
        return self.end(level)

    def is_word(self, index: int, *words: str) -> bool:
        if index >= len(self.tokens):
            return False
        token = self.tokens[index]
        return token.kind == "ident" and not token.field and (not words or token.text in words)

    def text(self, index: int) -> str:
        return self.tokens[index].text if index < len(self.tokens) else ""

    def bindings(self) -> tuple[set[int], dict[str, list[tuple[int, int]]], set[int]]:
        """The binder tokens, each bound name's reaches (token ranges) and the named arguments' names."""
        binders: set[int] = set()
        reaches: dict[str, list[tuple[int, int]]] = {}
        skipped: set[int] = set()
        for index, token in enumerate(self.tokens):
            for names, start, end in self._binders_at(index, token):
                for name in names:
                    binders.add(name)
                    reach_start = name + 1 if start is None else start
                    name_text = self.tokens[name].text.split(".", 1)[0]
                    reaches.setdefault(name_text, []).append((reach_start, end))
            if (token.kind == "open" and token.text == "(" and self.is_word(index + 1)
                    and self.text(index + 2) == ":=" and not self.is_word(index - 1, *_FORMERS)):
                skipped.add(index + 1)  # ``(x := v)``: a binder of the applied lemma
        return binders, reaches, skipped

    def _binders_at(self, index: int, token: Token) -> list[_Binding]:
        """The binders that start at ``index``: their tokens, where their reach starts (None: right after
        each binder, as in ``forall n (H : n > 0), ...``) and where it ends."""
        level = self.parent[index]
        if token.kind == "ident" and token.field:
            return []
        text = token.text
        if text in _TERM_BINDERS:
            return self._term_binder(index)
        if text == "exists" and token.kind == "ident" and index > 0:
            before = self.tokens[index - 1]
            if (before.kind == "symbol" and before.text not in _NOT_TERM) or before.text == "(":
                return self._term_binder(index)
            return []
        if token.kind == "open" and text == "{":
            return self._set_builder(index)
        if token.kind == "symbol" and text == "|":
            return self._branch(index, first_is_constructor=True)
        if token.kind != "ident":
            return []
        if text in ("case", "next"):
            return self._branch(index, first_is_constructor=text == "case")
        if text == "let":
            body = self._let_body(index)
            if body is not None:
                name = index + 2 if self.is_word(index + 1, "rec") else index + 1
                return [([name], body + 1, self.scan(body + 1, level, _TERM))] if self.is_word(name) else []
        if text not in _INTRODUCERS:
            return []
        stops = _SEQUENCE - {"|"} if text in _PATTERN_WITH or text == "obtain" else _SEQUENCE
        after = self.scan(index + 1, level, stops, newline=True)  # the end of this tactic
        names: list[int] = []
        if text in _INTROS:
            names = self._pattern(index + 1, after)
        elif text == "by_contra":
            names = [index + 1] if self.is_word(index + 1) and index + 1 < after else []
        elif text == "as":
            following = index + 1
            if following < len(self.tokens) and self.tokens[following].kind == "open":
                names = self._pattern(following, self.close[following] + 1)
            else:
                while self.is_word(following) and self.text(following) not in _AS_ENDS:
                    names.append(following)
                    following += 1
        elif text == "eqn":
            names = [index + 2] if self.text(index + 1) == ":" and self.is_word(index + 2) else []
        elif text == "into":
            names = [index + 1] if self.is_word(index + 1) else []
        elif text in _FORMERS:
            names = self._formed(index, after)
        elif text == "obtain":
            names = self._pattern(index + 1, self._until(index + 1, after, (":=", ":")))
        elif text == "choose":
            names = self._pattern(index + 1, self._until(index + 1, after, ("using",)))
        else:  # rcases e with pattern
            with_ = self._until(index + 1, after, ("with",))
            if with_ < after and self.text(with_ + 1) != "|":
                names = self._pattern(with_ + 1, after)
        # what it introduces reaches from the end of the tactic to the end of its branch
        return [(names, after, self.scan(after, level, _BRANCH))] if names else []

    def _until(self, start: int, end: int, texts: tuple[str, ...]) -> int:
        """The first token in ``[start, end)`` at ``start``'s level with one of ``texts``, else ``end``."""
        level = self.parent[start] if start < len(self.tokens) else -1
        for index in range(start, end):
            if self.parent[index] == level and self.tokens[index].text in texts:
                return index
        return end

    def _pattern(self, start: int, end: int) -> list[int]:
        """The names an intro pattern in tokens ``[start, end)`` introduces: its identifiers, except a type
        after ``:`` in its group and a view's lemma after ``%``."""
        names: list[int] = []
        typed: set[int] = set()
        for index in range(start, min(end, len(self.tokens))):
            token = self.tokens[index]
            level = self.parent[index]
            if token.kind == "symbol" and token.text == ":":
                typed.add(level)
            elif (self.is_word(index) and level not in typed
                  and not (index > 0 and self.tokens[index - 1].text.endswith(("%", "/")))):
                names.append(index)
        return names

    def _formed(self, index: int, after: int) -> list[int]:
        """The name ``assert (H : T)``, ``set (x := e)``, ``have h : T``, ``have ⟨x, hx⟩ := e`` or
        ``set x := e with hx`` adds."""
        following = index + 1
        names: list[int] = []
        if self.text(following) == "(" and self.is_word(following + 1):
            name = following + 1
            while self.is_word(name + 1):
                name += 1  # ``pose (f x := ...)``: ``f`` is added, ``x`` is a parameter
            if self.text(name + 1) in (":", ":="):
                names = [following + 1]
        elif self.is_word(following) and self.text(following + 1) in (":", ":="):
            names = [following]
        elif self.text(following) == "⟨" and self.text(self.close[following] + 1) in (":", ":="):
            names = self._pattern(following, self.close[following] + 1)
        if self.text(index) == "set":
            with_ = self._until(following, after, ("with",))
            name = with_ + 2 if self.text(with_ + 1) in ("←", "<-") else with_ + 1
            if with_ < after and self.is_word(name):
                names.append(name)
        return names

    def _let_body(self, index: int) -> int | None:
        """The ``in`` of a ``let ... := ... in`` at ``index``, or None (Lean's tactic ``let x := e``)."""
        level = self.parent[index]
        end = self.scan(index + 1, level, _TERM)
        for position in range(index + 1, end):
            if self.parent[position] == level and self.is_word(position, "in"):
                return position
        return None

    def _term_binder(self, index: int) -> list[_Binding]:
        """``forall x y (z : T), body``, ``fun x => body``, ``∃ x ∈ s, body``, ``∑ i in s, f i``: the
        names before the comma (``=>``, ``↦``); none when there is no such comma in the sequence."""
        level = self.parent[index]
        limit = self.scan(index + 1, level, _TERM)
        comma = self._until(index + 1, limit, (",", "=>", "↦")) if index + 1 < limit else limit
        if comma >= limit:
            return []
        names: list[int] = []
        stopped = quoted = False
        position = index + 1
        while position < comma:
            token = self.tokens[position]
            if token.kind == "open":
                close = self.close[position]
                if not stopped:
                    names += self._group_binders(position, close, quoted or token.text == "⟨")
                quoted = False
                position = close + 1
                continue
            if token.kind == "ident" and not token.field and token.text != "in":
                if not stopped:
                    names.append(position)
            elif token.text == "'":
                quoted = True
            elif not (token.text == "!" and position == index + 1):
                stopped = True  # ``:``, ``∈``, ``in``, ``>``: the type or bound follows
            position += 1
        return [(names, None, self.scan(comma + 1, level, _TERM))] if names else []

    def _group_binders(self, opened: int, close: int, pattern: bool) -> list[int]:
        """``(x y : T)``, ``{x}``, ``⦃x⦄``, ``[inst : C]`` (``[C α]`` binds no name), ``⟨x, hx⟩``."""
        if pattern:
            return self._pattern(opened + 1, close)
        names: list[int] = []
        for position in range(opened + 1, close):
            if self.parent[position] != opened:
                continue
            if self.text(position) == ":":
                return names
            if not self.is_word(position):
                return names if self.text(opened) != "[" else []
            names.append(position)
        return names if self.text(opened) != "[" else []

    def _set_builder(self, opened: int) -> list[_Binding]:
        """``{x | P x}``, ``{x : T | P x}``, ``{x & P x}``, ``{x ∈ s | p x}``: ``x`` bound inside."""
        close = self.close[opened]
        names: list[int] = []
        position = opened + 1
        while position < close and self.is_word(position):
            names.append(position)
            position += 1
        if not names:
            return []
        bar = self._until(position, close, ("|", "&")) if position < close else close
        if bar >= close or (bar > position and self.text(position) not in (":", "∈")):
            return []
        return [(names, None, close)]

    def _branch(self, index: int, first_is_constructor: bool) -> list[_Binding]:
        """``| S p => ...``, ``| succ n ih => ...``, ``case succ n ih => ...``, ``next n ih => ...``: the
        names before ``=>`` (after the constructor or case tag), reaching to the next branch."""
        level = self.parent[index]
        position = index + 1
        while position < len(self.tokens) and (self.tokens[position].kind == "ident"
                                               or self.text(position) in ("@", ".")):
            position += 1
        if self.text(position) != "=>" or self.parent[position] != level:
            return []
        names = [n for n in range(index + 1, position) if self.tokens[n].kind == "ident"]
        names = [n for n in (names[1:] if first_is_constructor else names) if self.is_word(n)]
        stops = _BRANCH | {"case", "next"} if self.tokens[index].kind == "ident" else _BRANCH
        return [(names, position + 1, self.scan(position + 1, level, stops))] if names else []

