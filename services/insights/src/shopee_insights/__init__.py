"""The insights service: buyer segments, recommendations, price and marketing-mix optimisation,
and review and chat sentiment (gRPC shopee.insights.v1)."""
