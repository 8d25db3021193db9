"""JWT issue and verification: pinned algorithm, required claims, kid rotation, token use."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shopee_gateway.security.tokens import (
    AuthenticationError,
    TokenKeys,
    TokenService,
    TokenUse,
)

ORG = "5b1f6f0e-0000-4000-8000-000000000001"
USER = "5b1f6f0e-0000-4000-8000-000000000002"


def service(
    keys: TokenKeys, ttl: int = 60, issuer: str = "iss", audience: str = "aud"
) -> TokenService:
    return TokenService(keys, issuer, audience, dict.fromkeys(TokenUse, ttl), leeway_seconds=0)


def test_round_trip_carries_subject_organisation_and_use() -> None:
    tokens = service(TokenKeys.generate("k1"))
    issued = tokens.issue(TokenUse.ACCESS, USER, ORG)
    claims = tokens.verify(issued.token, TokenUse.ACCESS)
    assert (claims["sub"], claims["org"], claims["jti"]) == (USER, ORG, issued.jti)
    assert jwt.get_unverified_header(issued.token) == {"alg": "EdDSA", "kid": "k1", "typ": "JWT"}


@pytest.mark.parametrize("use", [TokenUse.REFRESH, TokenUse.INVITATION])
def test_other_token_uses_are_not_access_tokens(use: TokenUse) -> None:
    tokens = service(TokenKeys.generate())
    with pytest.raises(AuthenticationError, match="token_use"):
        tokens.verify(tokens.issue(use, USER, ORG).token, TokenUse.ACCESS)


def test_rotation_accepts_retired_kid_and_refuses_unknown() -> None:
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    verifier = service(TokenKeys("k2", new, {"k1": old.public_key(), "k2": new.public_key()}))
    from_old = service(TokenKeys("k1", old, {})).issue(TokenUse.ACCESS, USER, ORG)
    assert verifier.verify(from_old.token, TokenUse.ACCESS)["sub"] == USER
    unknown = service(TokenKeys("k3", old, {})).issue(TokenUse.ACCESS, USER, ORG)
    with pytest.raises(AuthenticationError, match="unknown key"):
        verifier.verify(unknown.token, TokenUse.ACCESS)
    # The right kid with the wrong key: the signature fails.
    forged = service(TokenKeys("k2", old, {})).issue(TokenUse.ACCESS, USER, ORG)
    with pytest.raises(AuthenticationError, match="invalid token"):
        verifier.verify(forged.token, TokenUse.ACCESS)


def test_expiry_audience_issuer_and_alg_none() -> None:
    keys = TokenKeys.generate()
    verifier = service(keys)
    cases = {
        "expired": service(keys, ttl=-5).issue(TokenUse.ACCESS, USER, ORG).token,
        "invalid token": service(keys, audience="x").issue(TokenUse.ACCESS, USER, ORG).token,
        "invalid token ": service(keys, issuer="x").issue(TokenUse.ACCESS, USER, ORG).token,
        "algorithm": jwt.encode({"sub": USER}, "", algorithm="none", headers={"kid": "dev"}),
        "malformed": "a.b",
    }
    for message, token in cases.items():
        with pytest.raises(AuthenticationError, match=message.strip()):
            verifier.verify(token, TokenUse.ACCESS)


def test_missing_required_claim_is_refused() -> None:
    keys = TokenKeys.generate()
    token = jwt.encode(
        {"sub": USER, "org": ORG, "iss": "iss", "aud": "aud", "exp": 2**40, "token_use": "access"},
        keys.signing_key,
        algorithm="EdDSA",
        headers={"kid": "dev"},
    )
    with pytest.raises(AuthenticationError, match=r"jti|iat"):
        service(keys).verify(token, TokenUse.ACCESS)
