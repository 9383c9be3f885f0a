"""TEST material for local use: a certificate authority and publisher signing certificates for Content Credentials,
made with ``cryptography``. Every name says TEST; no reader anywhere trusts them unless told to (this service only
with ``PROVENANCE_C2PA_TRUST_TEST_CA=true``). A newsroom publishing for real installs a certificate from a CA that
readers trust (``provenance c2pa signer install``).

Profile: what C2PA asks of a signing certificate (C2PA 2.x, "X.509 certificates"): ECDSA P-256, version 3, key usage
digitalSignature (critical), an extended key usage that C2PA accepts (here emailProtection and documentSigning, never
anyExtendedKeyUsage), not a CA, subject and authority key identifiers.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

TEST_ORGANISATION = "provenance-ledger TEST CA (not for publication)"
CA_NAME = "test-ca"
DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")  # id-kp-documentSigning (RFC 9336)
CA_YEARS = 5
SIGNER_YEARS = 2


@dataclass(frozen=True)
class TestAuthority:
    """The TEST CA: its certificate and key (PEM; the key unencrypted in memory only)."""

    certificate_pem: bytes
    key_pem: bytes

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.certificate_pem)

    @property
    def key(self) -> ec.EllipticCurvePrivateKey:
        key = serialization.load_pem_private_key(self.key_pem, None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return key


def _name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
                      x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "TEST material")])  # fmt: skip


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def create_test_ca(now: dt.datetime | None = None) -> TestAuthority:
    now = now or dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name("provenance-ledger TEST root CA", TEST_ORGANISATION)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=365 * CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    return TestAuthority(certificate.public_bytes(serialization.Encoding.PEM), _pem_key(key))


def issue_test_signer(authority: TestAuthority, common_name: str, organisation: str,
                      now: dt.datetime | None = None) -> tuple[bytes, bytes]:  # fmt: skip
    """A TEST signing certificate for a publisher: (certificate chain PEM: the signer's then the CA's, key PEM)."""
    now = now or dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    ca = authority.certificate
    certificate = (
        x509.CertificateBuilder().subject_name(_name(f"{common_name} TEST signer", organisation))
        .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=365 * SIGNER_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, DOCUMENT_SIGNING]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(authority.key.public_key()), critical=False)
        .sign(authority.key, hashes.SHA256())
    )  # fmt: skip
    return certificate.public_bytes(serialization.Encoding.PEM) + authority.certificate_pem, _pem_key(key)


def load_or_create_test_ca(directory: Path, password: str) -> tuple[TestAuthority, bool]:
    """This data directory's TEST CA (``test-ca.pem``; its key encrypted in ``test-ca.key.pem``), created on first
    use: (the authority, whether it was created now)."""
    certificate, key = directory / f"{CA_NAME}.pem", directory / f"{CA_NAME}.key.pem"
    if certificate.is_file() and key.is_file():
        loaded = serialization.load_pem_private_key(key.read_bytes(), password.encode())
        assert isinstance(loaded, ec.EllipticCurvePrivateKey)
        return TestAuthority(certificate.read_bytes(), _pem_key(loaded)), False
    authority = create_test_ca()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    encrypted = authority.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.BestAvailableEncryption(password.encode()))  # fmt: skip
    for path, content in ((key, encrypted), (certificate, authority.certificate_pem)):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
    return authority, True
