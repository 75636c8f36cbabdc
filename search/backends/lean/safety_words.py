"""The words the Lean safety filters refuse, grouped by why, and the one function that classifies a token.

Matching is on whole tokens from ``safety_lexer`` (comments and strings removed): ``sorry`` is refused,
``h_sorry_free`` and ``simp [sorry_lemma]`` are not. Dotted names are matched on their last component for
the constants that smuggle in trust (``Lean.ofReduceBool``, ``_root_.sorryAx``) and on their leading
namespace for metaprogramming and IO (``Lean.Elab.Command.elabCommand``, ``IO.Process.spawn``).
"""

from __future__ import annotations

from search.backends.lean.safety_lexer import Kind, Token, unescape

# Give up a goal: the proof would rest on `sorryAx`. `stop` is `repeat sorry`; `apply?` closes the goal
# with `sorry` when no lemma closes it.
SORRY_WORDS = frozenset({"sorry", "admit", "stop", "sorryAx", "apply?"})

# Trust the compiler instead of the kernel (`Lean.ofReduceBool` axiom); bv_decide uses it as well.
NATIVE_WORDS = frozenset(
    {"native_decide", "bv_decide", "ofReduceBool", "ofReduceNat", "trustCompiler", "reduceBool",
     "reduceNat"}
)

# Run arbitrary code at elaboration time or define new syntax/elaborators.
CODE_WORDS = frozenset(
    {"run_cmd", "run_tac", "run_elab", "run_meta", "by_elab", "dbg_trace", "dbgTrace",
     "dbgTraceIfShared", "unsafeIO", "unsafeBaseIO", "unsafeEIO", "unsafeCast", "initialize",
     "builtin_initialize", "implemented_by", "extern", "unsafe", "macro", "macro_rules", "elab",
     "elab_rules", "syntax", "declare_syntax_cat", "csimp"}
)

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
    if name in CODE_WORDS or last in {"implemented_by", "unsafeIO", "unsafeCast", "unsafeBaseIO"}:
        return f"runs code: `{name}` runs or compiles code at elaboration time"
    if name in NETWORK_WORDS:
        return f"network: `{name}` calls an external service"
    namespace = _in_namespace(name, CODE_NAMESPACES)
    if namespace is not None:
        return f"runs code: `{name}` belongs to `{namespace}` (metaprogramming or IO)"
    if name.startswith(UNSAFE_OPTION_PREFIXES):
        return f"kernel: `{name}` names an option that weakens checking"
    return None


def _is_native_config(tokens: list[Token], index: int) -> bool:
    """`decide +native` or `(config := { native := true })`."""
    if token_word(tokens[index]) != "native":
        return False
    before = tokens[index - 1].text if index > 0 else ""
    after = tokens[index + 1].text if index + 1 < len(tokens) else ""
    return before == "+" or after == ":="


def option_problem(name: str) -> str | None:
    """Why a theorem's header or statement may not set option ``name``, or ``None`` when it may."""
    if name.startswith(UNSAFE_OPTION_PREFIXES) or "kernel" in name.lower():
        return f"kernel: `set_option {name}` may weaken the kernel check"
    if name in ALLOWED_OPTIONS or name.startswith(ALLOWED_OPTION_PREFIXES):
        return None
    allowed = ", ".join(sorted(ALLOWED_OPTIONS)) + ", linter.*, pp.*"
    return f"set_option: `{name}` is not an option a theorem may set (allowed: {allowed})"
