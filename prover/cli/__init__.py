"""The command line: ``prover`` and its sub-commands, their options and output."""
