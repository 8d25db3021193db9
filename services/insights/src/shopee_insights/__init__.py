"""Insights service (gRPC insights.v1): segments, recommendations, price and marketing
optimisation, sentiment.
"""
