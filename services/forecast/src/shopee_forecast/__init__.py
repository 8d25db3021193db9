"""Forecast service (gRPC forecast.v1): sales, traffic and demand forecasts, churn, inventory
advice.
"""
