"""Runs last (file order): no secret ever reaches a server's log or its audit trail.

Checked for every server the session started (stopped ones included): the administrator secret
access keys, and CANARY — a value the tests send as session tokens and wrong secrets."""
import pytest
from botocore.exceptions import ClientError

from conftest import CANARY, client, cloudtrail_request, sts_request, trail_rows


@pytest.fixture(scope="module")
def secrets(servers, server, dev_server):
    # Send the canary once more here, so this file also means something when run alone.
    for srv in (server, dev_server):
        for kw in ({"aws_session_token": CANARY}, {"aws_secret_access_key": CANARY}):
            for svc, call in (("sts", "get_caller_identity"), ("cloudtrail", "lookup_events")):
                try:
                    getattr(client(srv, svc, **kw), call)()
                except ClientError:
                    pass
        sts_request(srv, "Action=GetCallerIdentity&Version=2011-06-15", session_token=CANARY)
        cloudtrail_request(srv, "LookupEvents", {}, session_token=CANARY)
        cloudtrail_request(srv, "LookupEvents", {}, secret_key=CANARY)
    found = {CANARY}
    found |= {s.secret_key for s in servers.all if not s.dev and s.secret_key}
    assert len(found) >= 2
    return found


def leaks(text, secrets):
    return sorted(s[:6] + "..." for s in secrets if s in text)


def test_no_secret_in_any_server_log(servers, secrets):
    assert servers.all
    for s in servers.all:
        assert not leaks(s.stderr(), secrets), f"secret in {s.stderr_path}"


def test_no_secret_on_stdout(servers, secrets):
    for s in servers.all:
        assert not leaks(s.stdout(), secrets), f"secret in {s.stdout_path}"


def test_no_secret_in_any_trail_record(servers, secrets):
    checked = 0
    for s in servers.all:
        if s.data_dir is None or not (s.data_dir / "rampart.db").exists():
            continue  # a stopped --dev server's data is gone with it
        rows = trail_rows(s)
        checked += len(rows)
        for r in rows:
            assert not leaks(r["record"], secrets), f"secret in event #{r['seq']} of {s.name}"
    assert checked > 0


def test_no_secret_stored_in_clear(servers, secrets):
    """Outside the credentials file, the data directory holds secrets only wrapped."""
    for s in servers.all:
        if s.data_dir is None or not s.data_dir.exists():
            continue
        for f in s.data_dir.iterdir():
            if f.name == "credentials" or not f.is_file():
                continue
            data = f.read_bytes()
            for secret in secrets:
                assert secret.encode() not in data, f"a secret in clear in {f}"
