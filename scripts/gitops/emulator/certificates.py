"""Certificates for local use only: the emulator's TLS and stand-ins for ACM certificates.

Nothing here is ever sent to a real AWS account. The emulator serves HTTPS with a server
certificate signed by a CA made for this checkout, so the TLS-only bucket policies of the
stack hold locally too, and terraform and boto3 trust it through `AWS_CA_BUNDLE`.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

VALIDITY = datetime.timedelta(days=365)


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_key(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _builder(
    subject: str, issuer: str, public_key: rsa.RSAPublicKey, names: list[x509.GeneralName]
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder


def self_signed(domain: str) -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM) for a domain: what the emulator's ACM imports."""
    key = _key()
    certificate = _builder(domain, domain, key.public_key(), [x509.DNSName(domain)]).sign(
        key, hashes.SHA256()
    )
    return _pem(certificate), _pem_key(key)


def emulator_tls(directory: Path, host: str) -> tuple[Path, Path, Path]:
    """(CA bundle, server certificate, server key) for the emulator, made once per checkout."""
    ca_file, cert_file, key_file = (
        directory / name for name in ("ca.pem", "server.pem", "server.key")
    )
    if ca_file.exists() and cert_file.exists() and key_file.exists():
        return ca_file, cert_file, key_file
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = _key()
    ca = (
        _builder("gitops local emulator CA", "gitops local emulator CA", ca_key.public_key(), [])
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = _key()
    names = [x509.IPAddress(ipaddress.ip_address(host)), x509.DNSName("localhost")]
    server = _builder(host, "gitops local emulator CA", server_key.public_key(), names).sign(
        ca_key, hashes.SHA256()
    )
    for path, content in (
        (key_file, _pem_key(server_key)),
        (cert_file, _pem(server)),
        (ca_file, _pem(ca)),
    ):
        temporary = path.with_suffix(path.suffix + ".tmp")
        temporary.write_bytes(content)
        temporary.chmod(0o600)
        os.replace(temporary, path)
    return ca_file, cert_file, key_file
