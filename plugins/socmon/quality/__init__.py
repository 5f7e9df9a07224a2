"""The quality gate: the Great Expectations suites of `expectations/`, run against the warehouse."""
