"""The orchestrator: the `autograde` command. Runs one judge process per submission and writes the
reports; never imports torch or student code."""
