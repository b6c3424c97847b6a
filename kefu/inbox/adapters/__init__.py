"""Channel adapters: one module per channel kind, each registering an :class:`~.base.Adapter`."""
