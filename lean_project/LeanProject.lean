/-
The prover's Lean project has no code of its own: theorems arrive through the REPL or as files checked
with `lake env lean`. Building this module (`lake build`) checks that Mathlib's build cache is complete,
since importing Mathlib loads every one of its .olean files.
-/
import Mathlib
