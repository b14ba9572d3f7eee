"""The Query API of the emulator: request validation, builders per query type, the engine."""
