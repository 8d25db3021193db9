"""Pure logic of the insights service: no I/O, no clients; fed with frames by the adapters."""
