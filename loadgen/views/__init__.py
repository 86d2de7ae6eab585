"""HTTP views (thin): parse, call the engine or runner, answer JSON."""
