"""hw3 autograder: grades PyTorch homework in a sandboxed worker, scores it in a separate judge."""

__version__ = "0.1.0"
