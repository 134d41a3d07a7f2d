"""TLS for a room bound beyond loopback: the user's certificate, or a self-signed one made once.

On loopback the room speaks plain HTTP: browsers treat ``http://127.0.0.1``
and ``http://localhost`` as secure (WebRTC works there), and an SSH tunnel
or the user's reverse proxy adds the encryption. Bound anywhere else the
room refuses plain HTTP: it uses the certificate and key the user names, or
makes a self-signed one (an ECDSA P-256 key, 0600, valid for a year, for the
bound host) with the ``cryptography`` package that aiortc brings, and says
its SHA-256 fingerprint so the client can check what the browser warns about.
The audio itself is always encrypted (DTLS-SRTP), whatever the page's link.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import ssl
from pathlib import Path

from dsp.errors import MasterdeckError

VALID_DAYS = 365


class TLSError(MasterdeckError):
    """A certificate or key that cannot be used."""




def server_context(cert: str | Path, key: str | Path) -> ssl.SSLContext:
    """A server TLS context from PEM files (TLS 1.2 at least)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(str(cert), str(key))
    except (OSError, ssl.SSLError) as exc:
        raise TLSError(f"cannot use the certificate {cert} with the key {key}: {exc}") from None
    return context


def fingerprint(cert: str | Path) -> str:
    """The certificate's SHA-256 fingerprint, ``AB:CD:...`` as browsers show it."""
    pem = Path(cert).read_text(encoding="ascii")
    der = ssl.PEM_cert_to_DER_cert(pem)
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def self_signed(folder: str | Path, host: str) -> tuple[Path, Path]:
    """A self-signed certificate and key for ``host`` in ``folder``, made if missing.

    Kept and reused, so the fingerprint a client once checked stays the same;
    made again when the host changes or it is about to expire.
    """
    folder = Path(folder)
    cert, key = folder / "room-cert.pem", folder / "room-key.pem"
    if cert.exists() and key.exists() and _still_good(cert, host):
        return cert, key
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"masterdeck room {host}")])
    try:
        alt: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        alt = x509.DNSName(host)
    now = datetime.datetime.now(datetime.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(private.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
                   .add_extension(x509.SubjectAlternativeName([alt]), critical=False)
                   .sign(private, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    _write_private(key, private.private_bytes(serialization.Encoding.PEM,
                                              serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))
    _write_private(cert, certificate.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _write_private(path: Path, data: bytes) -> None:
    spare = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(spare, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(spare, path)


def _still_good(cert: Path, host: str) -> bool:
    from cryptography import x509

    try:
        loaded = x509.load_pem_x509_certificate(cert.read_bytes())
        names = loaded.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, x509.ExtensionNotFound):
        return False
    hosts = {str(v) for v in names.get_values_for_type(x509.IPAddress)}
    hosts |= set(names.get_values_for_type(x509.DNSName))
    left = loaded.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    return host in hosts and left > datetime.timedelta(days=7)
