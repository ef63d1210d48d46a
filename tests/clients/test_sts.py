"""STS GetCallerIdentity through boto3 and the aws CLI, over HTTP and HTTPS; the bootstrap."""
import re
import socket
import ssl
import stat
from pathlib import Path

import pytest
from botocore.exceptions import SSLError

from conftest import CREATED_RE, aws, client, parse_credentials


def admin_arn(server):
    return f"arn:aws:iam::{server.account_id}:user/admin"


def test_boto3_over_http(server):
    r = client(server, "sts").get_caller_identity()
    assert r["Account"] == server.account_id
    assert r["Arn"] == admin_arn(server)
    assert re.fullmatch(r"AIDA[A-Z0-9]{16}", r["UserId"])
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_boto3_over_https_with_the_generated_ca(server):
    r = client(server, "sts", https=True).get_caller_identity()
    assert r["Account"] == server.account_id
    assert r["Arn"] == admin_arn(server)


def test_https_needs_the_generated_ca(server):
    # Without the CA (botocore's own bundle) the certificate is not trusted.
    c = client(server, "sts", endpoint_url=server.https_endpoint, verify=True)
    with pytest.raises(SSLError):
        c.get_caller_identity()


def test_cli_over_http(server):
    out = aws(server, "sts", "get-caller-identity")
    assert out["Account"] == server.account_id
    assert out["Arn"] == admin_arn(server)


def test_cli_over_https_with_ca_bundle(server):
    out = aws(server, "--ca-bundle", str(server.ca), "sts", "get-caller-identity", https=True)
    assert out["Account"] == server.account_id
    assert out["Arn"] == admin_arn(server)


def test_cli_and_boto3_see_the_same_identity(server):
    cli = aws(server, "sts", "get-caller-identity")
    sdk = client(server, "sts").get_caller_identity()
    assert (cli["UserId"], cli["Account"], cli["Arn"]) == (sdk["UserId"], sdk["Account"], sdk["Arn"])


def test_certificate_covers_localhost_and_loopback_addresses(server):
    ctx = ssl.create_default_context(cafile=str(server.ca))
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            sans = set(tls.getpeercert()["subjectAltName"])
    assert ("DNS", "localhost") in sans
    assert ("IP Address", "127.0.0.1") in sans
    assert ("IP Address", "0:0:0:0:0:0:0:1") in sans


def test_https_by_ip_address(server):
    c = client(server, "sts", endpoint_url=f"https://127.0.0.1:{server.port}", verify=str(server.ca))
    assert c.get_caller_identity()["Account"] == server.account_id


# ---- bootstrap -----------------------------------------------------------------------------


def test_credentials_file_is_private(server):
    mode = stat.S_IMODE(server.credentials_file.stat().st_mode)
    assert mode == 0o600, oct(mode)


def test_credentials_file_is_a_shared_credentials_profile(server):
    akid, secret, account = parse_credentials(server.credentials_file)
    assert re.fullmatch(r"AKIA[A-Z0-9]{16}", akid)
    assert len(secret) == 40
    assert account == server.account_id


def test_stdout_names_the_credentials_file_but_not_the_secret(server):
    out = server.stdout()
    m = CREATED_RE.search(out)
    assert m, out
    assert m.group(1) == server.account_id
    assert Path(m.group(2)).resolve() == server.credentials_file.resolve()
    assert server.secret_key not in out
    assert f"Rampart listening on 127.0.0.1:{server.port} (http and https)" in out
    assert f"CA certificate for --ca-bundle: {server.ca}" in out


def test_data_directory_is_private(server):
    assert stat.S_IMODE(server.data_dir.stat().st_mode) == 0o700
    for name in ("root.key", "tls.key", "credentials"):
        assert stat.S_IMODE((server.data_dir / name).stat().st_mode) == 0o600, name


def test_restart_keeps_the_account_and_does_not_rewrite_credentials(spawn):
    first = spawn("restart")
    before = first.credentials_file.read_bytes()
    assert first.stop() == 0  # SIGTERM is a clean stop
    second = spawn("restart", data_dir=first.data_dir)
    assert "Created account" not in second.stdout()
    assert second.credentials_file.read_bytes() == before
    r = client(second, "sts").get_caller_identity()
    assert r["Account"] == first.account_id
