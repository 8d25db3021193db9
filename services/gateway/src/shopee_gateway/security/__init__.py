"""Identity and access: passwords, JWTs, API keys, principals and permission checks."""
