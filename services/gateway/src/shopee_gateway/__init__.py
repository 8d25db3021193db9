"""Gateway: the public REST and WebSocket API, authentication, tenancy and exports."""
