"""Publishers' C2PA signing certificates and keys, in files under ``<data-dir>/c2pa/signers/<address>/``:
``chain.pem`` (the signer's certificate first, then its CA chain) and ``key.pem``, the private key encrypted
(PKCS#8, with the service's keystore password) and readable only by this user. The key is decrypted in memory when
signing and is never logged, returned by the API, or stored in the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from ledger.adapters import durable
from ledger.errors import ConfigError, InvalidC2paSigner, NoC2paSigner

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
CURVES = {"secp256r1": (c2pa.C2paSigningAlg.ES256, hashes.SHA256), "secp384r1": (c2pa.C2paSigningAlg.ES384, hashes.SHA384),
          "secp521r1": (c2pa.C2paSigningAlg.ES512, hashes.SHA512)}  # fmt: skip


@dataclass(frozen=True, repr=False)
class SignerMaterial:
    """A certificate chain and its private key, ready to sign (``repr`` hides the key)."""

    chain_pem: bytes
    key: PrivateKey

    @property
    def algorithm(self) -> c2pa.C2paSigningAlg:
        if isinstance(self.key, ec.EllipticCurvePrivateKey):
            return CURVES[self.key.curve.name][0]
        if isinstance(self.key, ed25519.Ed25519PrivateKey):
            return c2pa.C2paSigningAlg.ED25519
        return c2pa.C2paSigningAlg.PS256

    def sign(self, data: bytes) -> bytes:
        """The raw signature C2PA's COSE layer expects for ``algorithm`` (c2pa-python calls this back)."""
        if isinstance(self.key, ec.EllipticCurvePrivateKey):
            return self.key.sign(data, ec.ECDSA(CURVES[self.key.curve.name][1]()))
        if isinstance(self.key, ed25519.Ed25519PrivateKey):
            return self.key.sign(data)
        return self.key.sign(data, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())

    @property
    def subject(self) -> str:
        return x509.load_pem_x509_certificates(self.chain_pem)[0].subject.rfc4514_string()


def check_material(chain_pem: bytes, key_pem: bytes, key_password: bytes | None = None) -> SignerMaterial:
    """Parse and match a certificate chain and key, or raise ``InvalidC2paSigner`` saying why."""
    try:
        certificates = x509.load_pem_x509_certificates(chain_pem)
    except ValueError as exc:
        raise InvalidC2paSigner(f"the certificate chain is not PEM certificates: {exc}") from None
    try:
        key = serialization.load_pem_private_key(key_pem, key_password)
    except (ValueError, TypeError) as exc:  # wrong or missing password, or not a key: the key itself is not shown
        raise InvalidC2paSigner(f"the private key cannot be read ({type(exc).__name__}): wrong password or not PEM?") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey):
        raise InvalidC2paSigner("C2PA signs with ECDSA (P-256/384/521), Ed25519 or RSA-PSS keys")
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name not in CURVES:
        raise InvalidC2paSigner(f"the curve {key.curve.name} is not one C2PA signs with")
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if certificates[0].public_key().public_bytes(serialization.Encoding.DER, public) != key.public_key().public_bytes(
            serialization.Encoding.DER, public):  # fmt: skip
        raise InvalidC2paSigner("the key does not belong to the first certificate of the chain")
    return SignerMaterial(chain_pem, key)


class SignerStore:
    """The signers of this service's publishers, one directory each."""

    def __init__(self, directory: Path, password: str | None) -> None:
        self.directory = directory
        self.password = password

    def _dir(self, address: str) -> Path:
        return self.directory / address

    def has(self, address: str) -> bool:
        return all((self._dir(address) / name).is_file() for name in ("chain.pem", "key.pem"))

    def install(self, address: str, material: SignerMaterial) -> Path:
        """Write the chain and the key (encrypted with the keystore password, mode 600)."""
        if not self.password:
            raise ConfigError("installing a C2PA key needs the keystore password (it encrypts the key)")
        folder = self._dir(address)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        encrypted = material.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.BestAvailableEncryption(self.password.encode()))  # fmt: skip
        for name, content in (("key.pem", encrypted), ("chain.pem", material.chain_pem)):
            durable.replace(folder / name, content)
        return folder

    def load(self, address: str) -> SignerMaterial:
        folder = self._dir(address)
        if not self.has(address):
            raise NoC2paSigner(f"no C2PA signing certificate is installed for publisher {address}: install one with "
                               "`provenance c2pa signer install` (or a TEST one with `provenance c2pa test-signer`)")  # fmt: skip
        if not self.password:
            raise ConfigError("reading a publisher's C2PA key needs the keystore password")
        try:
            return check_material((folder / "chain.pem").read_bytes(), (folder / "key.pem").read_bytes(),
                                  self.password.encode())  # fmt: skip
        except InvalidC2paSigner as exc:
            raise ConfigError(f"the C2PA signer of {address} in {folder} cannot be used: {exc.message}") from None
