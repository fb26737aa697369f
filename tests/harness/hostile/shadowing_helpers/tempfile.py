"""A student helper whose name is a standard-library module's: it must not stand in for it."""

raise ImportError("the student's own tempfile.py was imported in place of the standard library's")
