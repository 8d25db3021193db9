"""SHOPEE_KAFKA_* security settings: refused at start-up when incomplete, and turned into the
options every aiokafka client of the platform gets."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError

from shopee_common.kafka import client_security, ssl_context
from shopee_common.settings import PlatformSettings


def settings(**values: Any) -> PlatformSettings:
    return PlatformSettings.model_validate(values)


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with `ca.pem`, a self-signed CA certificate."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (folder / "ca.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return folder


def test_plaintext_adds_nothing() -> None:
    assert client_security(settings()) == {}
    assert ssl_context(settings()) is None


def test_sasl_ssl_gives_the_user_the_mechanism_and_a_verifying_tls_context(ca: Path) -> None:
    options = client_security(
        settings(
            kafka_security_protocol="SASL_SSL",
            kafka_sasl_mechanism="SCRAM-SHA-256",
            kafka_sasl_username="shopee",
            kafka_sasl_password="a-real-password",
            kafka_ssl_cafile=str(ca / "ca.pem"),
        )
    )
    context = options.pop("ssl_context")
    assert options == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": "shopee",
        "sasl_plain_password": "a-real-password",
    }
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname


def test_ssl_alone_has_no_user() -> None:
    options = client_security(settings(kafka_security_protocol="SSL"))
    assert set(options) == {"security_protocol", "ssl_context"}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"kafka_security_protocol": "SASL_SSL"}, "needs SHOPEE_KAFKA_SASL_USERNAME"),
        (
            {"kafka_security_protocol": "SASL_PLAINTEXT", "kafka_sasl_username": "u"},
            "needs SHOPEE_KAFKA_SASL_USERNAME and SHOPEE_KAFKA_SASL_PASSWORD",
        ),
        (
            {
                "environment": "production",
                "kafka_security_protocol": "SASL_SSL",
                "kafka_sasl_username": "u",
                "kafka_sasl_password": "changeme",
            },
            "SHOPEE_KAFKA_SASL_PASSWORD must be set to a real secret",
        ),
        ({"kafka_ssl_cafile": "/etc/hostname"}, "does not use TLS"),
        (
            {"kafka_security_protocol": "SSL", "kafka_ssl_certfile": "/etc/hostname"},
            "go together",
        ),
        (
            {"kafka_security_protocol": "SSL", "kafka_ssl_cafile": "/no/such/ca.pem"},
            "SHOPEE_KAFKA_SSL_CAFILE: no file at /no/such/ca.pem",
        ),
    ],
    ids=[
        "sasl-without-user",
        "sasl-without-password",
        "placeholder-password-in-production",
        "ca-without-tls",
        "certificate-without-key",
        "missing-ca-file",
    ],
)
def test_incomplete_security_is_refused_at_start_up(values: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        settings(**values)
