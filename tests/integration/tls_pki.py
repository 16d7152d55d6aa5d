"""A throwaway PKI for the TLS tests, made at run time with python3-cryptography:
CAs, server certificates for localhost and 127.0.0.1, client certificates.
Keys are written mode 0600."""
import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


class Issued:
    def __init__(self, key, cert, cert_path, key_path):
        self.key, self.cert = key, cert
        self.cert_path, self.key_path = cert_path, key_path


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def issue(directory, name, common_name, issuer=None, ca=False, server=False, client=False):
    """Writes NAME.pem and NAME.key into `directory`: a P-256 key and its
    certificate signed by `issuer` (an Issued; self-signed when None), valid
    from an hour ago for two days. Returns an Issued."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(_name(common_name))
               .issuer_name(issuer.cert.subject if issuer else _name(common_name))
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(hours=1))
               .not_valid_after(now + datetime.timedelta(days=2))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True,
                          crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                                        critical=False)
    if client:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]),
                                        critical=False)
    cert = builder.sign(issuer.key if issuer else key, hashes.SHA256())
    cert_path = os.path.join(str(directory), name + ".pem")
    key_path = os.path.join(str(directory), name + ".key")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    os.chmod(key_path, 0o600)
    return Issued(key, cert, cert_path, key_path)


class Pki:
    """ca, server (signed by ca), client (signed by ca), other_ca and
    other_client (signed by other_ca), all in `directory`."""

    def __init__(self, directory):
        self.dir = str(directory)
        self.ca = issue(directory, "ca", "mamori test CA", ca=True)
        self.server = issue(directory, "server", "localhost", self.ca, server=True)
        self.client = issue(directory, "client", "test client", self.ca, client=True)
        self.other_ca = issue(directory, "other_ca", "another CA", ca=True)
        self.other_client = issue(directory, "other_client", "stranger", self.other_ca, client=True)
