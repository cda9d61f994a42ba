"""Settings slices, one per concern; each service composes the slices it needs."""

import base64
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_SECRET_BYTES = 32


class _Slice(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", env_file=None)


class KafkaSettings(_Slice):
    """Where the broker is and how this process joins its consumer groups."""

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    # Appended to every consumer group id: lets tests run isolated copies of a service.
    kafka_group_suffix: str = ""
    # Production groups start from the beginning so no event is ever skipped.
    kafka_auto_offset_reset: Literal["earliest", "latest"] = "earliest"
    # Attempts for a failing handler before its message goes to the dead-letter topic.
    kafka_handler_attempts: int = Field(default=3, ge=1)
    # How long a message may keep failing on the database or broker (retried with backoff,
    # its partition waiting) before it is parked in the dead-letter topic.
    kafka_transient_window_seconds: float = Field(default=120.0, ge=0)
    # A consumed record larger than this is parked in the dead-letter topic as `oversized`
    # (far above the largest event: an announcement part of 1,000 ids).
    kafka_max_record_bytes: int = Field(default=512 * 1024, ge=1024)
    # A consumer's fetch is a long poll: it answers as soon as records arrive, so a long
    # wait only lets an idle consumer ask rarely (see shared/kafka_fetch.py).
    kafka_fetch_max_wait_ms: int = Field(default=5000, ge=10, le=30_000)
    # Topics this process creates: 1 and 1 fit the single development broker; production
    # sets 3 and 2, so that with acks=all an acknowledged event survives a broker's loss.
    kafka_replication_factor: int = Field(default=1, ge=1)
    kafka_min_insync_replicas: int = Field(default=1, ge=1)
    # Tests and end-to-end runs start consumers at "latest": readiness then also waits
    # until every consumer owns partitions. Off in production, where an instance may
    # legitimately own none.
    kafka_ready_requires_assignment: bool = False
    # Transport security. Production uses SASL_SSL (or SSL with a client certificate).
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    # CA bundle that signed the brokers' certificates; unset: the system's trust store.
    kafka_ssl_ca_file: str | None = None
    # A client certificate and key (PEM) for brokers that authenticate clients by TLS.
    kafka_ssl_cert_file: str | None = None
    kafka_ssl_key_file: str | None = None
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None

    @model_validator(mode="after")
    def _security_complete(self) -> "KafkaSettings":
        sasl = self.kafka_security_protocol.startswith("SASL_")
        if sasl and not (self.kafka_sasl_username and self.kafka_sasl_password):
            raise ValueError(f"{self.kafka_security_protocol} needs KAFKA_SASL_USERNAME/PASSWORD")
        if (
            self.kafka_security_protocol == "SASL_PLAINTEXT"
            and self.kafka_sasl_mechanism == "PLAIN"
        ):
            raise ValueError("SASL PLAIN would send the password in clear: use SASL_SSL")
        if bool(self.kafka_ssl_cert_file) != bool(self.kafka_ssl_key_file):
            raise ValueError("set both KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE, or neither")
        return self


class MongoSettings(_Slice):
    """Where the database server is, and how its TLS certificate is checked."""

    mongodb_url: str = "mongodb://127.0.0.1:27017/"
    # TLS may also be switched on in the URL (`?tls=true`); a CA file implies it.
    mongodb_tls: bool = False
    mongodb_tls_ca_file: str | None = None
    # A client certificate and key in one PEM file, for servers that authenticate by TLS.
    mongodb_tls_certificate_key_file: str | None = None

    def mongodb_tls_options(self) -> dict[str, Any]:
        """PyMongo's TLS keyword arguments for these settings (none when TLS is off)."""
        if not (self.mongodb_tls or self.mongodb_tls_ca_file):
            return {}
        options: dict[str, Any] = {"tls": True}
        if self.mongodb_tls_ca_file:
            options["tlsCAFile"] = self.mongodb_tls_ca_file
        if self.mongodb_tls_certificate_key_file:
            options["tlsCertificateKeyFile"] = self.mongodb_tls_certificate_key_file
        return options


HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)


class AuthSettings(_Slice):
    """How bearer tokens are verified: HS256 in development, JWKS in production."""

    messaging_jwt_secret: SecretStr | None = None
    messaging_jwks_url: str | None = None
    # Empty means the mode's default: RS256 and ES256 with a JWKS URL, HS256 with a secret.
    messaging_jwt_algorithms: list[str] = Field(default_factory=list)
    messaging_jwt_audience: str = "messaging"
    # When set, every token must carry exactly this `iss`.
    messaging_jwt_issuer: str | None = None

    @field_validator("messaging_jwt_secret")
    @classmethod
    def _secret_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"MESSAGING_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes")
        return value

    @model_validator(mode="after")
    def _one_key_source(self) -> "AuthSettings":
        if self.messaging_jwt_secret is None and not self.messaging_jwks_url:
            raise ValueError("set MESSAGING_JWT_SECRET (development) or MESSAGING_JWKS_URL")
        if not self.messaging_jwt_algorithms:
            self.messaging_jwt_algorithms = (
                ["RS256", "ES256"] if self.messaging_jwks_url else ["HS256"]
            )
        for algorithm in self.messaging_jwt_algorithms:
            self._check_algorithm(algorithm)
        return self

    def _check_algorithm(self, algorithm: str) -> None:
        # Each algorithm needs its own kind of key: a shared secret for HMAC, the JWKS for
        # the others. Never `none`, never a name the verifier would not know.
        if algorithm in HMAC_ALGORITHMS:
            if self.messaging_jwt_secret is None:
                raise ValueError(f"JWT algorithm {algorithm} needs MESSAGING_JWT_SECRET")
        elif algorithm in ASYMMETRIC_ALGORITHMS:
            if not self.messaging_jwks_url:
                raise ValueError(f"JWT algorithm {algorithm} needs MESSAGING_JWKS_URL")
        else:
            raise ValueError(f"JWT algorithm {algorithm!r} is not accepted")


class CryptoSettings(_Slice):
    """Key-encryption keys for message bodies: `kid:base64key` pairs, comma separated."""

    messaging_encryption_keys: SecretStr
    messaging_encryption_active_key: str

    def key_ring(self) -> dict[str, bytes]:
        """Decode the configured keys; each must be 32 bytes (AES-256)."""
        ring: dict[str, bytes] = {}
        for pair in self.messaging_encryption_keys.get_secret_value().split(","):
            kid, _, encoded = pair.strip().partition(":")
            key = base64.b64decode(encoded)
            if len(key) != MIN_SECRET_BYTES:
                raise ValueError(f"encryption key {kid!r} must decode to 32 bytes")
            ring[kid] = key
        return ring

    @model_validator(mode="after")
    def _active_key_known(self) -> "CryptoSettings":
        if self.messaging_encryption_active_key not in self.key_ring():
            raise ValueError(
                "MESSAGING_ENCRYPTION_ACTIVE_KEY is not among MESSAGING_ENCRYPTION_KEYS"
            )
        return self


class SmtpSettings(_Slice):
    """Outgoing mail server."""

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "no-reply@messaging.invalid"
    smtp_tls: bool = True


class PushSettings(_Slice):
    """Matrix Push Gateway endpoint and the app ids devices register under."""

    push_gateway_url: str = "http://127.0.0.1:5000/_matrix/push/v1/notify"
    push_app_id_ios: str = "com.practice.portal.ios"
    push_app_id_android: str = "com.practice.portal.android"
    push_app_id_web: str = "com.practice.portal.web"


class TracingSettings(_Slice):
    """OpenTelemetry tracing: off unless switched on; the exporter reads the standard
    `OTEL_EXPORTER_OTLP_*` variables itself."""

    otel_traces_enabled: bool = False
    # The `service.name` of this process's spans; unset: the service's own name.
    otel_service_name: str | None = None
