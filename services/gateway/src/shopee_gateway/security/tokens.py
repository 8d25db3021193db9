"""JWT access, refresh and invitation tokens: EdDSA (Ed25519) only, rotated by `kid`.

One key signs; every key in the verification set (the signing key's public half plus retired
ones) verifies, chosen by the token's `kid`. `exp`, `iat`, `iss`, `aud`, `sub` and `jti` are
required, and the `token_use` claim keeps a refresh token from ever passing as an access token.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM = "EdDSA"
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "jti", "token_use"]


class TokenUse(StrEnum):
    ACCESS = "access"
    REFRESH = "refresh"
    INVITATION = "invitation"


class AuthenticationError(Exception):
    """The credentials are missing, malformed, expired, revoked or not ours."""


@dataclass(frozen=True)
class IssuedToken:
    token: str
    jti: str
    expires_at: int


@dataclass(frozen=True)
class TokenKeys:
    """The signing key (and its kid) and every public key accepted, by kid."""

    signing_kid: str
    signing_key: Ed25519PrivateKey
    verification: dict[str, Ed25519PublicKey]

    @classmethod
    def from_pem(cls, signing_kid: str, signing_pem: str, retired_json: str = "") -> TokenKeys:
        """Load the signing key and the JSON object of retired public keys ({kid: PEM})."""
        private = serialization.load_pem_private_key(signing_pem.encode(), password=None)
        if not isinstance(private, Ed25519PrivateKey):
            raise ValueError("the JWT signing key must be an Ed25519 private key")
        verification: dict[str, Ed25519PublicKey] = {}
        for kid, pem in (json.loads(retired_json) if retired_json.strip() else {}).items():
            public = serialization.load_pem_public_key(pem.encode())
            if not isinstance(public, Ed25519PublicKey):
                raise ValueError(f"JWT verification key {kid!r} must be an Ed25519 public key")
            verification[kid] = public
        verification[signing_kid] = private.public_key()
        return cls(signing_kid, private, verification)

    @classmethod
    def generate(cls, signing_kid: str = "dev") -> TokenKeys:
        """A throwaway key pair (development and tests)."""
        private = Ed25519PrivateKey.generate()
        return cls(signing_kid, private, {signing_kid: private.public_key()})


class TokenService:
    """Issue and verify the gateway's JWTs."""

    def __init__(
        self,
        keys: TokenKeys,
        issuer: str,
        audience: str,
        lifetimes: dict[TokenUse, int],
        leeway_seconds: int = 10,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._lifetimes = lifetimes
        self._leeway = leeway_seconds

    def issue(
        self, use: TokenUse, subject: str, organisation_id: str, **claims: Any
    ) -> IssuedToken:
        """Sign a token of kind `use` for `subject` acting in `organisation_id`."""
        now = int(time.time())
        jti = uuid.uuid4().hex
        expires_at = now + self._lifetimes[use]
        payload = {
            **claims,
            "iss": self._issuer,
            "aud": self._audience,
            "sub": subject,
            "org": organisation_id,
            "iat": now,
            "nbf": now,
            "exp": expires_at,
            "jti": jti,
            "token_use": use.value,
        }
        token = jwt.encode(
            payload,
            self._keys.signing_key,
            algorithm=ALGORITHM,
            headers={"kid": self._keys.signing_kid, "typ": "JWT"},
        )
        return IssuedToken(token, jti, expires_at)

    def verify(self, token: str, use: TokenUse) -> dict[str, Any]:
        """The claims of a valid token of kind `use`; AuthenticationError for anything else."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise AuthenticationError("malformed token") from exc
        if header.get("alg") != ALGORITHM:
            raise AuthenticationError("token algorithm not accepted")
        key = self._keys.verification.get(str(header.get("kid")))
        if key is None:
            raise AuthenticationError("token signed by an unknown key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthenticationError("token expired") from exc
        except jwt.PyJWTError as exc:
            raise AuthenticationError(f"invalid token: {exc}") from exc
        if claims.get("token_use") != use.value:
            raise AuthenticationError(f"token_use must be {use.value}")
        if not isinstance(claims.get("org"), str):
            raise AuthenticationError("token has no organisation")
        return claims
