"""Generates Python code from proto/ with grpcio-tools."""
