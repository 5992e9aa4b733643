"""plait's test suite (a package, so test modules share helpers by relative import)."""
