"""SQL over asyncpg: every query that reads tenant data takes the caller's shop ids."""
