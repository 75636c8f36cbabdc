"""The step-prover policies the application builds: a local model, an API, and the picklable recipe
that workers build them from."""
