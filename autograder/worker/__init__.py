"""The worker: runs inside the sandbox, beside student code. Imports only `autograder.common`."""
