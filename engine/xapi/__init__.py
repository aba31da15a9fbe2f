"""xAPI: the statements the engine emits, its built-in LRS, and delivery to external LRSs."""
