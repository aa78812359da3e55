"""``audioprep run`` and ``lint``: plan, manifest, stages, executors, state, reports."""
