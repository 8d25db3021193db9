"""gRPC clients of the forecast and insights services: channels with deadlines and retries, and
the mapping of gRPC statuses to the gateway's problem details."""
