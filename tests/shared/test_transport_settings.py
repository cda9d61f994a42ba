"""Transport-security settings reach the Kafka and MongoDB clients."""

import ssl
from pathlib import Path

import pytest
from faststream.security import SASLScram256, SASLScram512
from pydantic import ValidationError

from shared.kafka import broker_security, client_options
from shared.mongo import create_mongo_client
from shared.settings import KafkaSettings, MongoSettings
from tests.pki import make_pki


def test_plaintext_kafka_has_no_security() -> None:
    assert broker_security(KafkaSettings()) is None
    assert client_options(KafkaSettings()) == {}


def test_sasl_ssl_authenticates_over_a_verified_tls_connection(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    settings = KafkaSettings(
        kafka_security_protocol="SASL_SSL",
        kafka_ssl_ca_file=str(pki.ca),
        kafka_sasl_username="threads",
        kafka_sasl_password="s3cret-password",
    )

    security = broker_security(settings)
    options = client_options(settings)

    assert isinstance(security, SASLScram512)
    assert security.ssl_context is not None
    assert security.ssl_context.verify_mode == ssl.CERT_REQUIRED
    assert security.ssl_context.check_hostname
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"


def test_sasl_plaintext_scram_needs_no_tls() -> None:
    settings = KafkaSettings(
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_mechanism="SCRAM-SHA-256",
        kafka_sasl_username="threads",
        kafka_sasl_password="s3cret-password",
    )

    security = broker_security(settings)

    assert isinstance(security, SASLScram256)
    assert client_options(settings)["security_protocol"] == "SASL_PLAINTEXT"


def test_sasl_needs_credentials() -> None:
    with pytest.raises(ValidationError, match="KAFKA_SASL_USERNAME"):
        KafkaSettings(kafka_security_protocol="SASL_SSL")


def test_sasl_plain_in_clear_text_is_refused_at_start() -> None:
    with pytest.raises(ValidationError):
        KafkaSettings(
            kafka_security_protocol="SASL_PLAINTEXT",
            kafka_sasl_mechanism="PLAIN",
            kafka_sasl_username="threads",
            kafka_sasl_password="s3cret-password",
        )


def test_the_sasl_password_is_a_secret() -> None:
    settings = KafkaSettings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username="threads",
        kafka_sasl_password="s3cret-password",
    )

    assert "s3cret-password" not in repr(settings)


def test_mongodb_tls_options_follow_the_settings(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)

    assert MongoSettings().mongodb_tls_options() == {}
    assert MongoSettings(mongodb_tls_ca_file=str(pki.ca)).mongodb_tls_options() == {
        "tls": True,
        "tlsCAFile": str(pki.ca),
    }


def test_the_mongodb_client_loads_the_configured_ca(tmp_path: Path) -> None:
    not_a_ca = tmp_path / "not-a-ca.pem"
    not_a_ca.write_text("not a certificate\n")

    # PyMongo builds its TLS context when the client is created: a bad CA fails right away.
    with pytest.raises(ssl.SSLError):
        create_mongo_client(MongoSettings(mongodb_tls_ca_file=str(not_a_ca)))
