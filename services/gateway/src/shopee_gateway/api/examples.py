"""Values the OpenAPI examples share, so that every route's examples tell one story: the demo
organisation's admin looking at its shops (the generator's demo data, `shopee-db seed-demo`).

Documentation only: nothing here is read by a route.
"""

from __future__ import annotations

ORGANISATION_ID = "5b3c1f0e-7a2d-4c8e-9f61-2d0a7e4b9c13"
ORGANISATION_NAME = "Demo Seller Group"
ORGANISATION_SLUG = "demo"
ADMIN_ID = "8d2f6a41-3b7c-4e95-a0d8-1c6e9b2f7a54"
ADMIN_EMAIL = "admin@example.com"
ANALYST_ID = "c4e8a1b2-6d3f-4a70-9b15-7e2c0d8f3a96"
ANALYST_EMAIL = "ana@example.com"
API_KEY_ID = "2a9e7c31-5f4b-4d82-b6a0-9c1e3d7f5b28"
API_KEY_PREFIX = "k7m2q9xa"
VIEW_ID = "e1b5d9c3-8a2f-4b6e-9d47-3f0c6a2e8b15"
JOB_ID = "0b8f6a52-3c1e-4f0e-9a0c-6d2f4d6f1e7a"
# A JWT (Ed25519, kid k1), shortened.
TOKEN = "eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0..."  # noqa: S105 - an example, not a secret

# The demo shops: id, name, market, currency, time zone.
SHOPS = (
    ("baansuay-th", "Baan Suay Home", "TH", "THB", "Asia/Bangkok"),
    ("glowlab-id", "GlowLab Official Shop", "ID", "IDR", "Asia/Jakarta"),
    ("moda-ph", "Moda Manila", "PH", "PHP", "Asia/Manila"),
    ("techmate-my", "TechMate Store MY", "MY", "MYR", "Asia/Kuala_Lumpur"),
)
SHOP_ID = "glowlab-id"
OTHER_SHOP_ID = "techmate-my"
TIME_ZONE = "Asia/Jakarta"
# Three of glowlab-id's products (ids are 11 digits, prices in minor units: IDR x 100).
PRODUCT_ID = "72755671695"
PRODUCT_NAME = "GlowLab Facial Wash Gentle Travel Size"
PRODUCT_PRICE_MINOR = 2_700_000
OTHER_PRODUCT_ID = "74480606768"
OTHER_PRODUCT_NAME = "GlowLab Body Lotion Brightening 30ml"
THIRD_PRODUCT_ID = "39033328665"
THIRD_PRODUCT_NAME = "GlowLab Sheet Mask Hyaluronic 50ml"
BUYER_ID = "putri.wijaya1042"
