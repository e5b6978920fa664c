"""Archive preparation: a folder of recordings made into a prepared dataset once (prepare.py, in parallel worker
processes and shared between hosts), the optional quality filter (its features, training and degraded copies),
and the bundled demo corpus. Training reads the result through genie_audio/data/."""
