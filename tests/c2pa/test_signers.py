"""Publishers' C2PA signers: a newsroom's own certificate installed (checked, key re-encrypted, never in clear on
disk), TEST signers from the TEST CA, and what is refused."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from PIL import Image

from ledger.adapters.c2pa.reader import CredentialReader
from ledger.adapters.c2pa.signers import SignerStore, check_material
from ledger.adapters.c2pa.test_ca import create_test_ca, issue_test_signer
from ledger.adapters.c2pa.writer import sign_published
from ledger.adapters.store import repository as repo
from ledger.adapters.store.db import Database
from ledger.adapters.store.migrate import upgrade
from ledger.core.jumbf import jpeg_manifest_store
from ledger.errors import C2paUnsupportedFormat, InvalidC2paSigner, NoC2paSigner
from tests.conftest import ROOT

PASSWORD = "test-password-not-secret"
ADDRESS = "0x" + "ab" * 20


def own_certificate(tmp_path: Path, key_password: bytes | None) -> tuple[Path, Path, bytes]:
    """A newsroom's certificate chain and (optionally encrypted) key files, and the CA that issued them."""
    authority = create_test_ca()
    chain, key_pem = issue_test_signer(authority, "news.example", "News Example")
    if key_password is not None:
        key = serialization.load_pem_private_key(key_pem, None)
        key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.BestAvailableEncryption(key_password))  # fmt: skip
    (tmp_path / "chain.pem").write_bytes(chain)
    (tmp_path / "key.pem").write_bytes(key_pem)
    return tmp_path / "chain.pem", tmp_path / "key.pem", authority.certificate_pem


def test_install_checks_the_pair_and_stores_the_key_encrypted(tmp_path: Path) -> None:
    chain, key, ca = own_certificate(tmp_path, b"newsroom-key-password")
    store = SignerStore(tmp_path / "signers", PASSWORD)
    with pytest.raises(NoC2paSigner):
        store.load(ADDRESS)
    with pytest.raises(InvalidC2paSigner, match="wrong password"):
        check_material(chain.read_bytes(), key.read_bytes(), b"wrong")
    other_chain, _ = issue_test_signer(create_test_ca(), "x.example", "X")
    with pytest.raises(InvalidC2paSigner, match="does not belong"):
        check_material(other_chain, key.read_bytes(), b"newsroom-key-password")
    with pytest.raises(InvalidC2paSigner, match="not PEM certificates"):
        check_material(b"junk", key.read_bytes(), b"newsroom-key-password")

    folder = store.install(ADDRESS, check_material(chain.read_bytes(), key.read_bytes(), b"newsroom-key-password"))
    stored = (folder / "key.pem").read_bytes()
    assert b"ENCRYPTED PRIVATE KEY" in stored and (folder / "key.pem").stat().st_mode & 0o077 == 0
    material = store.load(ADDRESS)
    assert "news.example TEST signer" in material.subject and "BEGIN" not in repr(material)

    jpeg = io.BytesIO()
    Image.effect_noise((64, 48), 40).convert("RGB").save(jpeg, format="JPEG")
    signed = sign_published(jpeg.getvalue(), "JPEG", "noise.jpg", material, {"publisher": ADDRESS})
    read = CredentialReader(ca.decode()).read(signed.data, "JPEG")
    assert jpeg_manifest_store(signed.data) == signed.manifest_store
    assert read is not None and read.state == "trusted" and read.ledger_registration == {"publisher": ADDRESS}
    bmp = io.BytesIO()
    Image.new("RGB", (8, 8)).save(bmp, format="BMP")
    with pytest.raises(C2paUnsupportedFormat):
        sign_published(bmp.getvalue(), "BMP", "x.bmp", material, {})


def test_cli_install_and_test_signer(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    db = Database(f"sqlite:///{data_dir / 'ledger.sqlite3'}")
    upgrade(db.engine)
    with db.write() as session:
        repo.add_account(session, ADDRESS, "News Example", "news.example", None)
    db.dispose()
    chain, key, _ = own_certificate(tmp_path, None)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}, "PROVENANCE_KEYSTORE_PASSWORD": PASSWORD}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "ledger.cli.main", *args, "--data-dir", str(data_dir)], env=env,
                              capture_output=True, text=True, cwd=ROOT, timeout=120)  # fmt: skip

    installed = cli("c2pa", "signer", "install", "news.example", "--cert", str(chain), "--key", str(key))
    assert installed.returncode == 0, installed.stderr
    assert "CN=news.example TEST signer" in installed.stdout
    assert key.read_bytes() not in (data_dir / "c2pa" / "signers" / ADDRESS / "key.pem").read_bytes()
    mismatched = cli("c2pa", "signer", "install", "news.example", "--cert", str(chain), "--key", str(tmp_path / "chain.pem"))
    assert mismatched.returncode == 2 and "invalid_c2pa_signer" in mismatched.stderr
    assert "PRIVATE KEY" not in mismatched.stderr + mismatched.stdout

    issued = cli("c2pa", "test-signer", ADDRESS)
    assert issued.returncode == 0, issued.stderr
    assert "Created the TEST CA" in issued.stdout and (data_dir / "c2pa" / "test-ca" / "test-ca.pem").is_file()
    assert b"ENCRYPTED" in (data_dir / "c2pa" / "test-ca" / "test-ca.key.pem").read_bytes()
    unknown = cli("c2pa", "test-signer", "nobody.example")
    assert unknown.returncode == 1 and "not_found" in unknown.stderr


def test_trust_anchor_settings_are_checked_at_start_and_used(tmp_path: Path) -> None:
    from ledger.config import Settings
    from ledger.errors import ConfigError
    from ledger.runtime.wiring import check_settings, open_credential_reader

    with pytest.raises(ConfigError, match="do not exist"):
        check_settings(Settings(data_dir=tmp_path, c2pa_trust_anchors=[tmp_path / "missing.pem"]))
    authority = create_test_ca()
    (tmp_path / "ca.pem").write_bytes(authority.certificate_pem)
    material = check_material(*issue_test_signer(authority, "a.example", "A"))
    jpeg = io.BytesIO()
    Image.effect_noise((64, 48), 40).convert("RGB").save(jpeg, format="JPEG")
    signed = sign_published(jpeg.getvalue(), "JPEG", "a.jpg", material, {}).data
    reader = open_credential_reader(Settings(data_dir=tmp_path, c2pa_trust_anchors=[tmp_path / "ca.pem"]))
    assert reader.read(signed, "JPEG").state == "trusted"  # type: ignore[union-attr]
    assert open_credential_reader(Settings(data_dir=tmp_path)).read(signed, "JPEG").state == "valid"  # type: ignore[union-attr]
