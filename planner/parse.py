"""Reading a plan out of a model's free-form answer.

Models wrap the ``have`` lines in prose, code fences, numbered or bulleted lists and inline backticks, add
proofs (``:= by sorry``, ``:= sorry``, ``:= by simp``) and comments, and break long statements over lines.
``parse_plan`` keeps only the subgoals:

1. ``<think>…</think>`` reasoning is dropped;
2. when fenced code blocks hold ``have`` lines, only those blocks are read (a block that declares a name an
   earlier block declared is a revision: reading restarts there); otherwise the whole answer is read;
3. a line whose text, after list markers and backticks, starts with ``have`` (or that holds an inline code
   span starting with ``have``) starts a subgoal; the next lines continue it while its brackets are open,
   while it ends with an operator, when they are indented deeper than the ``have`` or start with a binary
   operator (``∧``, ``→``, ``=``, ``≤`` ...; not ``-``, ``+``, ``*`` or ``>``, which start Markdown lists
   and quotes). Inside a fence a blank line or a comment line does not end a subgoal, and any other line
   (a tactic such as ``intro x``, the theorem's own line, a closing ``nlinarith``) is refused: the prompt
   asks for a block of ``have`` lines only, and a line dropped unseen would change the plan the model
   meant. Outside fences a blank line ends a subgoal and prose lines are ignored;
4. each subgoal is lexed with the Lean lexer: comments go, the proof from the first top-level ``:=`` (or
   Lean 3's ``, from``) on goes, whitespace collapses to single spaces, and ``have NAME [BINDERS] :
   STATEMENT`` is split at the first top-level ``:``. An anonymous ``have : P`` (or ``have this : P``)
   gets the first free name ``hK``;
5. the ``have`` text must pass ``check_lean_tactic`` (the Lean safety filter): untrusted text never reaches
   Lean unchecked. Malformed, unsafe, duplicate and surplus lines become ``Rejection``s with a reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from planner.plan import PlanCollector, PlanParse, Rejection, Subgoal, last_revision
from planner.reasoning import answer_part
from search.backends.lean.safety import check_lean_tactic
from search.backends.lean.safety_lexer import Kind, LexError, Token, bracket_problem, lex, top_level

_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[^\n]*\n(.*?)^[ \t]*\1[ \t]*$", re.S | re.M)
_MARKER = re.compile(r"^(?:\s|[-*•+>]|\*\*|#+\s|\d+[.)]|\(\d+\)|(?:step|subgoal|lemma)\s*\d*\s*[:.)-])*",
                     re.I)
_HAVE_START = re.compile(r"^`*have\b")
_INLINE_HAVE = re.compile(r"`(have\s[^`]+)`")
_OPEN = "([{⟨⦃⟦"
_CLOSE = ")]}⟩⦄⟧"
_TRAILING_OPERATOR = re.compile(r"(?:[-+*/^=<>≤≥≠∧∨→↔∣,(]|∀|∃|\bfun\b|=>)\s*$")
_NAME = re.compile(r"[^\W\d][\w'!?₀-₉]*")
# a binary operator that starts a continuation line (``-``, ``+``, ``*`` and ``>`` start Markdown lists and
# quotes: such a line continues a subgoal only when indented deeper); ``/-`` starts a comment
_LEADING_OPERATOR = re.compile(r"(?:[=<≤≥≠∧∨→↔∣^%∘•×∪∩⊆⊂⊇⊃∈∉≡]|/(?!-)|:=|\|\||&&|\+\+|::|\|>|->|>=)")
STRAY_LINE = ("not a `have` line: the block must hold only `have NAME : STATEMENT` lines (no tactics such as "
              "`intro`, no theorem line, no proof)")


@dataclass(frozen=True)
class _Chunk:
    """The raw text of one subgoal as found in the answer."""

    text: str
    source: str  # the first line as the model wrote it


def parse_plan(text: str, *, max_subgoals: int = 16) -> PlanParse:
    """The plan in ``text`` and the lines refused. Never raises on any string."""
    regions = [_chunks(lines, fenced=fenced) for lines, fenced in _regions(text)]
    items = [item for region in last_revision(regions, _declared_names) for item in region]
    plan = PlanCollector(max_subgoals)
    chunks = 0
    for item in items:
        if isinstance(item, Rejection):
            plan.refuse(item)
            continue
        chunks += 1
        read = _read_have(item, taken={s.name for s in plan.subgoals})
        if isinstance(read, Rejection):
            plan.refuse(read)
        else:
            plan.offer(read, item.source)
    return plan.parse(none_found=None if chunks else "no `have NAME : STATEMENT` line found in the answer")


def _regions(text: str) -> list[tuple[list[str], bool]]:
    """The parts of the answer to read: fenced blocks that hold ``have`` lines, else the whole text."""
    text = answer_part(text)
    fenced = [m.group(2).split("\n") for m in _FENCE.finditer(text)]
    with_haves = [lines for lines in fenced if any(_is_have_start(line) for line in lines)]
    if with_haves:
        return [(lines, True) for lines in with_haves]
    return [(text.split("\n"), False)]


def _have_start(line: str) -> tuple[str, int] | None:
    """The start of a subgoal on ``line`` (markers, bold and backticks removed) and the column where it
    starts, or ``None``."""
    stripped = _strip_marker(line)
    if _HAVE_START.match(stripped):
        return _inline(stripped).replace("**", ""), len(line) - len(stripped)  # Markdown bold is never Lean
    inline = _INLINE_HAVE.search(line)  # prose first: "2. **Divide.** `have h2 : x = 5` since ..."
    return (inline.group(1), inline.start(1)) if inline else None


def _is_have_start(line: str) -> bool:
    return _have_start(line) is not None


def _strip_marker(line: str) -> str:
    return _MARKER.sub("", line, count=1).lstrip()


def _chunks(lines: list[str], *, fenced: bool) -> list[_Chunk | Rejection]:
    """Group lines into subgoals: a ``have`` line and the lines that continue it; inside a fence, every
    other line that is not blank or a comment is refused (see the module docstring)."""
    items: list[_Chunk | Rejection] = []
    current: list[str] = []
    indent = 0

    def flush() -> None:
        if current:
            items.append(_Chunk("\n".join(current), current[0]))
            current.clear()

    for line in lines:
        start = _have_start(line)
        if start is not None:
            flush()
            current.append(start[0])
            indent = start[1]
        elif not line.strip():
            if not fenced:
                flush()
        elif fenced and _is_comment(line):
            continue
        elif current and _continues("\n".join(current), line, indent):
            current.append(line.strip())
        else:
            flush()
            if fenced:
                items.append(Rejection(line.strip(), STRAY_LINE))
    flush()
    return items


def _is_comment(line: str) -> bool:
    stripped = line.strip()
    return stripped.startswith("--") or (stripped.startswith("/-") and stripped.endswith("-/"))


def _inline(text: str) -> str:
    """``have h : P`` out of an inline code span such as ```have h : P` — since …``."""
    if text.startswith("`"):
        body = text.lstrip("`")
        end = body.find("`")
        return body if end < 0 else body[:end]
    return text


def _continues(so_far: str, line: str, indent: int) -> bool:
    """Whether ``line`` continues the subgoal ``so_far`` whose ``have`` starts at column ``indent``."""
    if _open_brackets(so_far) > 0 or _TRAILING_OPERATOR.search(_drop_comment(so_far)):
        return True
    return len(line) - len(line.lstrip()) > indent or _LEADING_OPERATOR.match(line.lstrip()) is not None


def _open_brackets(text: str) -> int:
    text = _drop_comment(text)
    return sum(text.count(c) for c in _OPEN) - sum(text.count(c) for c in _CLOSE)


def _drop_comment(text: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in text.split("\n")).rstrip()


def _declared_names(region: list[_Chunk | Rejection]) -> set[str]:
    return {name for chunk in region
            if isinstance(chunk, _Chunk) and (name := _declared_name(chunk.text)) is not None}


def _declared_name(text: str) -> str | None:
    found = re.match(r"`*have\s+([^\s:(\[{]+)", text)
    return found.group(1) if found else None


def _read_have(chunk: _Chunk, *, taken: set[str]) -> Subgoal | Rejection:
    """One subgoal out of its raw text, or why it cannot be one."""
    try:
        tokens = lex(chunk.text)
    except LexError as exc:
        return Rejection(chunk.source, f"cannot be read as Lean: {exc.reason}")
    problem = bracket_problem(tokens)
    if problem is not None:
        return Rejection(chunk.source, problem)
    colon = _first_top_level(tokens, ":", start=1)
    if colon is None:
        return Rejection(chunk.source, "no ` : ` between the name and the statement")
    end = _first_top_level(tokens, ":=", start=colon + 1)
    lean3 = _lean3_from(tokens, colon + 1)
    end = lean3 if end is None or (lean3 is not None and lean3 < end) else end
    statement_tokens = tokens[colon + 1: end]
    head = tokens[1:colon]
    name, binders = _name_and_binders(chunk.text, head)
    if name is None:
        return Rejection(chunk.source, f"not a name: {_text_of(chunk.text, head[:1])!r}")
    statement = _text_of(chunk.text, statement_tokens).rstrip(".,; ")
    if not statement:
        return Rejection(chunk.source, "no statement after ` : `")
    subgoal = Subgoal(name or _fresh_name(taken), statement, binders, chunk.source)
    reason = check_lean_tactic(subgoal.text)
    if reason is not None:
        return Rejection(chunk.source, f"refused by the Lean safety filter: {reason}")
    return subgoal


def _first_top_level(tokens: list[Token], symbol: str, *, start: int) -> int | None:
    for index, (token, depth) in enumerate(top_level(tokens)):
        if index >= start and depth == 0 and token.kind is Kind.SYMBOL and token.text == symbol:
            return index
    return None


def _lean3_from(tokens: list[Token], start: int) -> int | None:
    """The index of a top-level ``, from`` (Lean 3's ``have h : P, from proof``), where the proof starts."""
    for index, (token, depth) in enumerate(top_level(tokens)):
        if index >= start and depth == 0 and token.text == "," and index + 1 < len(tokens) \
                and tokens[index + 1].text == "from":
            return index
    return None


def _name_and_binders(text: str, head: list[Token]) -> tuple[str | None, str]:
    """``("", "")`` for an anonymous ``have``; ``(None, ...)`` when the first word is not a name."""
    if not head:
        return "", ""
    first = head[0]
    if first.kind is Kind.IDENT and first.text == "this":
        return "", _text_of(text, head[1:])
    if first.kind is Kind.IDENT and _NAME.fullmatch(first.text) and first.text != "by":
        return first.text, _text_of(text, head[1:])
    if first.kind is Kind.SYMBOL and first.text in _OPEN:
        return "", _text_of(text, head)
    return None, ""


def _text_of(text: str, tokens: list[Token]) -> str:
    """The source text spanned by ``tokens`` with comments dropped and whitespace collapsed."""
    if not tokens:
        return ""
    span = text[tokens[0].offset: tokens[-1].offset + len(tokens[-1].text)]
    return " ".join(_drop_comment(span).split())


def _fresh_name(taken: set[str]) -> str:
    index = len(taken) + 1
    while f"h{index}" in taken:
        index += 1
    return f"h{index}"
