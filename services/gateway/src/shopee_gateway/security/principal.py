"""Who is calling: the identity every route and query is scoped by."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID


@dataclass(frozen=True)
class Principal:
    """An authenticated caller within one organisation.

    `subject` is the user id (UUID string) or `apikey:<prefix>`; `role` is admin, analyst or
    viewer for users and `apikey` for machine keys (whose permissions are the key's scopes);
    `shop_ids` are the organisation's shops, and every query is limited to them. `expires_at`
    is when the access token it came from expires (None for API keys): long-lived connections
    such as the WebSocket end then.
    """

    subject: str
    organisation_id: UUID
    role: str
    permissions: frozenset[str]
    shop_ids: frozenset[str]
    expires_at: datetime | None = None

    def can_see(self, shop_id: str) -> bool:
        """Whether `shop_id` belongs to the caller's organisation."""
        return shop_id in self.shop_ids

    def has(self, permission: str) -> bool:
        """Whether the caller holds `permission` (e.g. `kpis:read`)."""
        return permission in self.permissions

    @property
    def is_api_key(self) -> bool:
        """True for machine callers."""
        return self.subject.startswith("apikey:")

    @property
    def user_id(self) -> UUID | None:
        """The user's id, or None for an API key."""
        return None if self.is_api_key else UUID(self.subject)
