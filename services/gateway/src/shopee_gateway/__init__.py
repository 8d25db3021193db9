"""Gateway: the public REST and WebSocket API, authentication, tenancy, exports and the dashboard.
"""
