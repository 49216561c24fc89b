"""Throwaway certificate authority for the local cloud's HTTPS endpoints.

The function under test talks HTTPS to its ResponseURL exactly as in AWS, with certificate
verification on. Rather than weakening that, the local cloud mints a private CA per run, signs a
server certificate for 127.0.0.1/localhost with it, and hands the CA file to the function through
``SSL_CERT_FILE`` so the unchanged client code verifies the local server.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["TlsMaterial", "create_tls_material"]

_VALIDITY = dt.timedelta(days=2)


@dataclass(frozen=True)
class TlsMaterial:
    """Paths of the PEM files for one throwaway CA and its server certificate."""

    directory: Path
    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        """Server-side context presenting the throwaway server certificate (TLS 1.2+)."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(certfile=self.cert_file, keyfile=self.key_file)
        return context

    def client_context(self) -> ssl.SSLContext:
        """Client context trusting only the throwaway CA: for tests and local tooling."""
        return ssl.create_default_context(cafile=str(self.ca_file))


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "local-cloud throwaway"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> x509.CertificateBuilder:
    """The fields the CA and the server certificate fill alike; ``key`` is the subject's own."""
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    """Both sign handshakes; only the CA may sign certificates and CRLs."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def create_tls_material(directory: Path | None = None) -> TlsMaterial:
    """Mint a fresh CA and a 127.0.0.1/localhost server certificate under ``directory``.

    A new key pair every time: nothing here is meant to outlive the test run, so nothing is
    cached or reused. ``ca.pem`` is the file to point ``SSL_CERT_FILE`` at.
    """
    target = Path(directory) if directory is not None else Path(tempfile.mkdtemp(prefix="local-cloud-tls-"))
    target.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    not_before = now - dt.timedelta(minutes=5)  # tolerate small clock skew between processes
    not_after = now + _VALIDITY

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("local-cloud throwaway CA")
    ca_cert = (
        _builder(ca_name, ca_name, ca_key, not_before, not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        _builder(_name("localhost"), ca_name, server_key, not_before, not_after)
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.IPv4Address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    ca_file = target / "ca.pem"
    cert_file = target / "server.pem"
    key_file = target / "server-key.pem"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
    return TlsMaterial(directory=target, ca_file=ca_file, cert_file=cert_file, key_file=key_file)
