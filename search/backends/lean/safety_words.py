"""The words the Lean safety filters refuse, grouped by why, and the one function that classifies a token.

Matching is on whole tokens from ``safety_lexer`` (comments and strings removed): ``sorry`` is refused,
``h_sorry_free`` and ``simp [sorry_lemma]`` are not. Dotted names are matched on their last component for
the constants that smuggle in trust (``Lean.ofReduceBool``, ``_root_.sorryAx``) and on their leading
namespace for metaprogramming and IO (``Lean.Elab.Command.elabCommand``, ``IO.Process.spawn``).

Three rules look past single words (red-team audit of the tactic filter):

- **a ``{`` inside any string literal is refused.** The lexer knows a string is interpolated only after a
  word ending in ``!`` (``s!``, ``m!``), but ``throwError``, ``throwErrorAt``, ``logNamedError``,
  ``trace[cls]`` and any user macro take interpolated strings without one, and Lean elaborates what is
  between the braces (``{(by run_tac …)}``, ``{sorry}``) where no word check sees it. Treating every string
  as possibly interpolated and refusing its braces is the sound rule; no benchmark row or human proof has
  one, and a string without braces (``trace "…"``) still passes.
- **``(config := V)`` takes only a ``{ field := value }`` structure instance** without ``with``, ``⟨…⟩`` or
  ``mk``: ``decide (config := ⟨false, true, true, false⟩)`` or ``.mk …`` set ``native`` by position, and a
  computed value could too; named fields are checked word by word (``native :=`` is refused).
- **``Lean`` and ``Lean.*`` may not be opened** (``open Lean in``, ``open scoped Lean.Omega in``, in a header
  too): after ``open Lean``, ``Environment.addDeclWithoutChecking`` or ``Elab.Term.elabTerm`` name
  metaprogramming that the namespace checks, which read names as written, would not recognise. A bare
  ``Lean`` is only ever a namespace, so it is refused wherever it stands.
"""

from __future__ import annotations

from search.backends.lean.safety_lexer import CLOSERS, OPENERS, Kind, Token, unescape

# Give up a goal: the proof would rest on `sorryAx`. `stop` is `repeat sorry`; `apply?` closes the goal
# with `sorry` when no lemma closes it.
SORRY_WORDS = frozenset({"sorry", "admit", "stop", "sorryAx", "apply?"})

# Trust the compiler instead of the kernel (`Lean.ofReduceBool` axiom); bv_decide uses it as well, and
# `bv_check` replays an LRAT file read from disk.
NATIVE_WORDS = frozenset(
    {"native_decide", "bv_decide", "bv_decide?", "bv_check", "ofReduceBool", "ofReduceNat",
     "trustCompiler", "reduceBool", "reduceNat"}
)

# Run arbitrary code at elaboration time or define new syntax/elaborators.
CODE_WORDS = frozenset(
    {"run_cmd", "run_tac", "run_elab", "run_meta", "by_elab", "unsafeIO", "unsafeBaseIO", "unsafeEIO",
     "unsafeCast", "initialize", "builtin_initialize", "implemented_by", "extern", "unsafe", "macro",
     "macro_rules", "elab", "elab_rules", "syntax", "declare_syntax_cat", "csimp", "declare_config_elab"}
)

# Print from compiled code: in the REPL's tactic mode stdout is the answer stream, so printed text could
# forge an answer (the REPL client refuses output past an answer, but text that never runs is safer).
OUTPUT_WORDS = frozenset({"println!", "dbg_trace", "dbgTrace", "dbgTraceVal", "dbgTraceIfShared", "dbgSleep"})

# Evaluate compiled code at elaboration time (random testing, Mathlib's `eval%`) or read files.
COMPILED_CODE_WORDS = frozenset({"plausible", "slim_check"})
FILE_WORDS = frozenset({"include_str"})

# Reaches outside the machine (Mathlib's polyrith queries SageMathCell over HTTP).
NETWORK_WORDS = frozenset({"polyrith"})

# Namespaces whose use means metaprogramming, environment surgery or IO.
CODE_NAMESPACES = (
    "Lean.Elab", "Lean.Meta", "Lean.Compiler", "Lean.Parser", "Lean.Environment", "Lean.Kernel",
    "Lean.addDecl", "Lean.IR", "Lean.Syntax", "IO", "EIO", "BaseIO", "System",
)

# Option namespaces that weaken checking or change code generation.
UNSAFE_OPTION_PREFIXES = ("debug.", "compiler.", "interpreter.")

# `#` commands: `#eval` runs code, `#exit` ends the file early, the rest print or query. Mathlib's `#s`
# (Finset.card) is notation, so only these names are refused wherever they occur.
HASH_COMMANDS = frozenset(
    {"eval", "exit", "print", "check", "check_failure", "reduce", "synth", "help", "lint", "find",
     "guard", "guard_msgs", "guard_expr", "time", "where", "simp", "norm_num", "conv", "widget", "html",
     "count_heartbeats", "explode", "leansearch", "loogle", "moogle", "statesearch", "min_imports",
     "check_tactic", "whnf", "version", "list_linters", "push_neg", "trans_imports", "import_path",
     "redundant_imports", "find_home", "instances", "long_names", "adaptation_note",
     "unfold?", "show_unused", "discr_tree_key", "discr_tree_simp_key", "align", "align_import", "noalign"}
)

# Commands and declaration keywords: never part of a tactic; in a statement only one declaration.
DECLARATION_WORDS = frozenset(
    {"theorem", "lemma", "def", "instance", "example", "structure", "class", "inductive", "abbrev",
     "axiom", "axioms", "opaque", "namespace", "section", "end", "variable", "universe", "mutual",
     "noncomputable", "partial", "nonrec", "private", "protected"}
)
# Mathlib's and Batteries' commands (a command needs no newline before it: `rfl alias foo := bar` is a
# tactic followed by a command that runs after the theorem in the checked file).
LIBRARY_COMMAND_WORDS = frozenset(
    {"notation3", "alias", "irreducible_def", "simproc", "simproc_decl", "dsimproc", "dsimproc_decl",
     "seal", "unseal", "add_aesop_rules", "erase_aesop_rules", "declare_aesop_rule_sets", "recall",
     "compile_inductive", "compile_def", "gen_injective_theorems", "coinductive", "suppress_compilation",
     "unsuppress_compilation", "register_simp_attr", "initialize_simps_projections", "assert_not_exists",
     "library_note", "add_decl_doc", "binder_predicate", "unif_hint", "register_option",
     "register_builtin_option", "declare_simp_like_tactic", "simp_lemmas", "mk_iff_of_inductive_prop",
     "proof_wanted", "unset_option", "register_hint", "register_label_attr", "grind_pattern", "init_quot",
     "assert_not_imported", "extend_docs", "recommended_spelling", "declare_uint_theorems",
     "register_tactic_tag", "tactic_extension", "insert_to_additive_translation"}
)
ENVIRONMENT_WORDS = frozenset(
    {"set_option", "import", "attribute", "export", "omit", "include", "deriving", "local", "scoped",
     "notation", "infix", "infixl", "infixr", "prefix", "postfix", "open"}
)
# Words that end a `by` block and attach to the enclosing declaration instead.
BLOCK_END_WORDS = frozenset({"where", "termination_by", "decreasing_by"})

# Options a theorem may set. Not `autoImplicit`/`relaxedAutoImplicit`: they turn an unknown (misspelt)
# name in a statement into a universally quantified variable, so the statement would not say what it reads.
ALLOWED_OPTIONS = frozenset(
    {"maxHeartbeats", "maxRecDepth", "synthInstance.maxHeartbeats", "synthInstance.maxSize",
     "maxSynthPendingDepth", "checkBinderAnnotations", "exponentiation.threshold", "tactic.hygienic",
     "push_neg.use_distrib"}
)
ALLOWED_OPTION_PREFIXES = ("linter.", "pp.")


def token_word(token: Token) -> str:
    """The identifier a token names, with «escapes» removed."""
    return unescape(token.text)


def _in_namespace(name: str, namespaces: tuple[str, ...]) -> str | None:
    for namespace in namespaces:
        if name == namespace or name.startswith(namespace + "."):
            return namespace
    return None


def code_word_problem(tokens: list[Token], index: int) -> str | None:
    """Why token ``index`` must never reach Lean in any position (tactic, statement or header), or
    ``None``. Covers sorry, native evaluation, code execution, metaprogramming, IO and network use."""
    token = tokens[index]
    if token.kind is Kind.QUOTATION:
        return "runs code: syntax quotation (metaprogramming)"
    if token.kind is Kind.INTERPOLATED:
        return "runs code: interpolated string literal"
    if token.kind is Kind.STRING and "{" in token.text:
        return ("runs code: `{` in a string literal (`throwError \"…{e}…\"`, `trace[…]` and other "
                "interpolated strings elaborate what is between braces)")
    if token.kind is Kind.HASH:
        name = token.text[1:]
        if name in HASH_COMMANDS:
            return f"runs code: `{token.text}` is a command (it may run code or end the file)"
        return None
    if token.kind is not Kind.IDENT:
        return None
    name = token_word(token)
    last = name.rsplit(".", 1)[-1]
    if name in SORRY_WORDS or last == "sorryAx":
        return f"sorry: `{name}` gives up the goal"
    if last in NATIVE_WORDS or _is_native_config(tokens, index):
        return f"native: `{name}` trusts compiled code instead of the kernel"
    reason = _config_problem(tokens, index)
    if reason is not None:
        return reason
    if name in CODE_WORDS or last in {"implemented_by", "unsafeIO", "unsafeCast", "unsafeBaseIO"}:
        return f"runs code: `{name}` runs or compiles code at elaboration time"
    if last in OUTPUT_WORDS:
        return f"runs code: `{name}` prints from compiled code (it could forge the REPL's answers)"
    if name in COMPILED_CODE_WORDS or _is_eval_percent(tokens, index):
        return f"runs code: `{name}` evaluates compiled code at elaboration time"
    if last in FILE_WORDS:
        return f"runs code: `{name}` reads a file at elaboration time"
    if name in NETWORK_WORDS:
        return f"network: `{name}` calls an external service"
    reason = _lean_open_problem(tokens, index, name)
    if reason is not None:
        return reason
    namespace = _in_namespace(name, CODE_NAMESPACES)
    if namespace is not None:
        return f"runs code: `{name}` belongs to `{namespace}` (metaprogramming or IO)"
    if name.startswith(UNSAFE_OPTION_PREFIXES):
        return f"kernel: `{name}` names an option that weakens checking"
    return None


def _is_native_config(tokens: list[Token], index: int) -> bool:
    """`decide +native`, `(native := true)` or `(config := { native := true })` (a dotted field path
    ending in `native` too)."""
    if token_word(tokens[index]).rsplit(".", 1)[-1] != "native":
        return False
    before = tokens[index - 1].text if index > 0 else ""
    after = tokens[index + 1].text if index + 1 < len(tokens) else ""
    return before == "+" or after == ":="


_CONFIG_REASON = ("native: `(config := …)` takes only a `{ field := value }` structure instance (no `with`, "
                  "`⟨…⟩` or `mk`): a positional or computed config such as `decide (config := ⟨false, true, "
                  "true, false⟩)` turns on native evaluation")


def _config_problem(tokens: list[Token], index: int) -> str | None:
    """Why the named argument `(config := V)` at ``index`` could set fields the word checks cannot see
    (see the module docstring), or ``None``. Assumes balanced brackets."""
    if token_word(tokens[index]) != "config" or index == 0 or tokens[index - 1].text != "(":
        return None
    if index + 1 >= len(tokens) or tokens[index + 1].text != ":=":
        return None
    if index + 2 >= len(tokens) or tokens[index + 2].kind is not Kind.SYMBOL or tokens[index + 2].text != "{":
        return _CONFIG_REASON
    depth = 0
    for token in tokens[index + 2:]:
        if token.kind is Kind.SYMBOL and token.text in OPENERS:
            depth += 1
        elif token.kind is Kind.SYMBOL and token.text in CLOSERS:
            depth -= 1
            if depth == 0:
                return None
        word = token_word(token) if token.kind is Kind.IDENT else ""
        if word == "with" or word.rsplit(".", 1)[-1] == "mk" or token.text == "⟨":
            return _CONFIG_REASON
    return None


def _is_eval_percent(tokens: list[Token], index: int) -> bool:
    """Mathlib's `eval% term` (the `%` written right after `eval`)."""
    token = tokens[index]
    if token_word(token) != "eval" or index + 1 >= len(tokens):
        return False
    after = tokens[index + 1]
    return after.text == "%" and after.offset == token.offset + len(token.text)


def _lean_open_problem(tokens: list[Token], index: int, name: str) -> str | None:
    """Why ``name`` opens (or names bare) the `Lean` namespace, or ``None``."""
    plain = name.removeprefix("_root_.")
    if plain == "Lean" or (plain.startswith("Lean.") and _in_open_clause(tokens, index)):
        return (f"runs code: `{plain}` opened: after `open Lean` metaprogramming names "
                "(`Environment.addDeclWithoutChecking`) escape the namespace checks")
    return None


def _in_open_clause(tokens: list[Token], index: int) -> bool:
    """Whether token ``index`` is among the namespaces of an ``open`` (``open A B.C``, ``open scoped A``,
    ``open A hiding x``, ``open A (x y)``): walking back over such words reaches ``open``."""
    for token in reversed(tokens[:index]):
        if token.kind is Kind.IDENT:
            word = token_word(token)
            if word == "open":
                return True
            if word == "in":
                return False
        elif not (token.kind is Kind.SYMBOL and token.text in ("(", ")", "→")):
            return False
    return False


def option_problem(name: str) -> str | None:
    """Why a theorem's header or statement may not set option ``name``, or ``None`` when it may."""
    if name.startswith(UNSAFE_OPTION_PREFIXES) or "kernel" in name.lower():
        return f"kernel: `set_option {name}` may weaken the kernel check"
    if name in ALLOWED_OPTIONS or name.startswith(ALLOWED_OPTION_PREFIXES):
        return None
    allowed = ", ".join(sorted(ALLOWED_OPTIONS)) + ", linter.*, pp.*"
    return f"set_option: `{name}` is not an option a theorem may set (allowed: {allowed})"
