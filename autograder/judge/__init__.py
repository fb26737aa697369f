"""The judge: the pytest process that grades one submission against the reference. It starts the
sandboxed worker and never imports student code."""
