"""Who signs: the user's certificate and key, or a local test identity (not trusted by anyone)."""

from __future__ import annotations

import datetime
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from ..errors import MissingDependency, UsageError

TEST_IDENTITY_NOTE = (
    "signed with lengthen's local self-signed test certificate: the manifest is intact and "
    "tamper-evident, but its signer is not a trusted identity"
)
TEST_IDENTITY_FILE = "c2pa_test_identity.pem"
TEST_COMMON_NAME = "lengthen local test signer (NOT a trusted identity)"


def c2pa_module():
    try:
        import c2pa
    except ImportError:
        raise MissingDependency("c2pa-python", "credentials") from None
    return c2pa


def _crypto():
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
        from cryptography.x509 import oid
    except ImportError:
        raise MissingDependency("cryptography", "credentials") from None
    return x509, hashes, serialization, ec, ed25519, rsa, oid


@dataclass(frozen=True)
class SignerConfig:
    cert_pem: bytes  # the signing certificate then its chain, PEM
    key_pem: bytes
    alg: str  # es256, es384, es512, ps256, ed25519
    source: str  # "user" | "test"
    subject: str
    tsa_url: str | None = None
    cert_path: str | None = None

    @property
    def trusted_identity(self) -> bool | None:
        """False for the local test identity; None (for the reader's trust list to decide) otherwise."""
        return False if self.source == "test" else None

    def note(self) -> str:
        if self.source == "test":
            return TEST_IDENTITY_NOTE
        return (
            f"signed with the certificate {self.cert_path} ({self.subject}); readers trust it only if "
            "its issuer is on their trust list"
        )

    def signer(self):
        c2pa = c2pa_module()
        info = c2pa.C2paSignerInfo(self.alg, self.cert_pem, self.key_pem, self.tsa_url)
        return c2pa.Signer.from_info(info)


def _alg_for(key, path) -> str:
    _, _, _, ec, ed25519, rsa, _ = _crypto()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        algs = {256: "es256", 384: "es384", 521: "es512"}
        if key.curve.key_size in algs:
            return algs[key.curve.key_size]
    if isinstance(key, rsa.RSAPrivateKey):
        return "ps256"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    raise UsageError(
        "C2PA signs with EC P-256/384/521, RSA (PSS) or Ed25519 keys; this key is none of them", path=path
    )


def _config_file() -> Path:
    from platformdirs import user_config_dir

    root = os.environ.get("LENGTHEN_CONFIG") or user_config_dir("lengthen", appauthor=False)
    return Path(root) / "c2pa.json"


def resolve_signer(cert: str | Path | None = None, key: str | Path | None = None) -> SignerConfig:
    """The signer for this run: explicit paths, else ``LENGTHEN_C2PA_CERT``/``LENGTHEN_C2PA_KEY``,
    else ``c2pa.json`` (``{"cert": ..., "key": ..., "tsa_url": ...}``) in lengthen's config folder,
    else the local test identity. Bad or half-given settings are a UsageError before any work."""
    c2pa_module()
    tsa = os.environ.get("LENGTHEN_C2PA_TSA_URL") or None
    where = "--c2pa-cert/--c2pa-key"
    if cert is None and key is None:
        cert, key = os.environ.get("LENGTHEN_C2PA_CERT"), os.environ.get("LENGTHEN_C2PA_KEY")
        where = "LENGTHEN_C2PA_CERT/LENGTHEN_C2PA_KEY"
    if not cert and not key:
        config = _config_file()
        if config.is_file():
            try:
                data = json.loads(config.read_text())
                cert, key, tsa = data.get("cert"), data.get("key"), data.get("tsa_url", tsa)
            except (json.JSONDecodeError, AttributeError) as exc:
                raise UsageError(f"malformed C2PA settings ({exc})", path=config) from None
            where = str(config)
    if not cert and not key:
        return local_test_identity()
    if not cert or not key:
        raise UsageError(f"{where}: give both a certificate and its private key")
    return _load_user(Path(cert), Path(key), tsa)


# what was loaded from a certificate/key pair (or the test identity), keyed by the files' stamps:
# a run signs every generated and spliced file with one load; a rewritten file is loaded again
_LOADED: dict[tuple, SignerConfig] = {}


def _cached(stamps: tuple, load, *extra) -> SignerConfig:
    """``load()`` once per process for these file stamps (a None stamp: not a regular file, not cached)."""
    if any(s is None for s in stamps):
        return load()
    key = (*stamps, *extra)
    if key not in _LOADED:
        _LOADED[key] = load()  # a refused file raises: nothing cached
    return _LOADED[key]


def _load_user(cert: Path, key: Path, tsa: str | None) -> SignerConfig:
    from ..fsutil import file_stamp

    return _cached((file_stamp(cert), file_stamp(key)), lambda: _read_user(cert, key, tsa), "user", tsa)


def _read_user(cert: Path, key: Path, tsa: str | None) -> SignerConfig:
    x509, _, serialization, *_ = _crypto()
    for p in (cert, key):
        if not p.is_file():
            raise UsageError("C2PA certificate or key file not found", path=p)
    cert_pem, key_pem = cert.read_bytes(), key.read_bytes()
    try:
        chain = x509.load_pem_x509_certificates(cert_pem)
    except ValueError as exc:
        raise UsageError(f"not a PEM certificate chain ({exc})", path=cert) from None
    try:
        private = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"not an unencrypted PEM private key ({exc})", path=key) from None
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    if chain[0].public_key().public_bytes(serialization.Encoding.PEM, pub) != private.public_key().public_bytes(
        serialization.Encoding.PEM, pub
    ):
        raise UsageError(f"the key does not belong to the certificate {cert}", path=key)
    return SignerConfig(
        cert_pem, key_pem, _alg_for(private, key), "user", chain[0].subject.rfc4514_string(), tsa, str(cert)
    )


def local_test_identity() -> SignerConfig:
    """lengthen's per-machine test identity: a local CA and a signing certificate under it (C2PA
    refuses self-signed end-entity certificates), made once in the cache folder."""
    from ..paths import cache_dir

    path = cache_dir("credentials") / TEST_IDENTITY_FILE
    if not path.is_file():
        from ..fsutil import atomic_path

        with atomic_path(path, record=False) as tmp:
            tmp.write_bytes(_make_test_identity())
            os.chmod(tmp, 0o600)
    from ..fsutil import file_stamp

    return _cached((file_stamp(path),), lambda: _read_test_identity(path), "test")


def _read_test_identity(path: Path) -> SignerConfig:
    x509, _, serialization, *_ = _crypto()
    data = path.read_bytes()
    private = serialization.load_pem_private_key(data, password=None)
    chain = x509.load_pem_x509_certificates(data)
    key_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    cert_pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain)
    return SignerConfig(cert_pem, key_pem, "es256", "test", chain[0].subject.rfc4514_string(), None, str(path))


def _make_test_identity() -> bytes:
    x509, hashes, serialization, ec, _, _, oid = _crypto()
    ExtendedKeyUsageOID, NameOID = oid.ExtendedKeyUsageOID, oid.NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def name(cn: str):
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, cn),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "lengthen (local test identity, untrusted)"),
            ]
        )

    def usage(sign: bool):
        return x509.KeyUsage(
            digital_signature=sign,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=not sign,
            crl_sign=not sign,
            encipher_only=False,
            decipher_only=False,
        )

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = name(f"lengthen local test CA {uuid.uuid4().hex[:8]}")
    valid = dict(
        not_valid_before=now - datetime.timedelta(days=1), not_valid_after=now + datetime.timedelta(days=3650)
    )
    ca = (
        x509.CertificateBuilder(
            subject_name=ca_name,
            issuer_name=ca_name,
            public_key=ca_key.public_key(),
            serial_number=x509.random_serial_number(),
            **valid,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage(False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder(
            subject_name=name(TEST_COMMON_NAME),
            issuer_name=ca_name,
            public_key=key.public_key(),
            serial_number=x509.random_serial_number(),
            **valid,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage(True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return key_pem + leaf.public_bytes(pem) + ca.public_bytes(pem)
