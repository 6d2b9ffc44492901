"""Pure logic: normalising names and domains, deduping and scoring leads, the
assessment rubric. No I/O, no clocks, no settings objects: policies come in as values."""
