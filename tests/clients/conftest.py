"""Fixtures and helpers for Rampart's client test suite.

The tests drive real `rampart serve` processes (the binary named by $RAMPART_BIN) with the real
aws CLI and boto3 pinned in requirements.txt. Every server listens on 127.0.0.1 only and is
stopped by the fixture that started it (SIGTERM by pid, then SIGKILL if it does not exit).

Run from the repository root:

    RAMPART_BIN=$HOME/.cache/rampart-target/debug/rampart \
        $HOME/.cache/rampart-venv/bin/python -m pytest tests/clients -q

Test modules import the helpers directly (`from conftest import client, aws, ...`).
"""
from __future__ import annotations

import atexit
import configparser
import datetime as dt
import gc
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional
from unittest import mock

import boto3
import pytest
import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

REGION = "us-east-1"
DEV_ACCOUNT = "000000000000"
CT_TARGET = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."
JSON_11 = "application/x-amz-json-1.1"
FORM = "application/x-www-form-urlencoded; charset=utf-8"
# A recognisable value the tests send where a server must never log or record it (session
# tokens, the secret half of bad credentials). test_zz_no_secrets.py looks for it everywhere.
CANARY = "RampartCanary" + uuid.uuid4().hex
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0
CLI_TIMEOUT = 120.0
AWS_CLI = str(Path(sys.executable).with_name("aws"))

LISTEN_RE = re.compile(r"^Rampart listening on 127\.0\.0\.1:(\d+) \(http and https\)$", re.M)
CA_RE = re.compile(r"^CA certificate for --ca-bundle: (.+)$", re.M)
CREATED_RE = re.compile(
    r"^Created account (\d{12}); administrator credentials \(profile 'rampart'\) written to (.+)$", re.M
)


def _isolate_environment() -> None:
    """Keep the developer's AWS settings (profiles, keys, CA bundle, proxies) out of the tests."""
    for k in list(os.environ):
        if k.startswith("AWS_"):
            del os.environ[k]
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    for var in ("NO_PROXY", "no_proxy"):
        have = [h for h in os.environ.get(var, "").split(",") if h]
        os.environ[var] = ",".join(have + ["127.0.0.1", "localhost"])


_isolate_environment()


def _server_env() -> dict:
    """The environment of a server process: ours minus every RAMPART_* setting."""
    return {k: v for k, v in os.environ.items() if not k.startswith("RAMPART_")}


# --------------------------------------------------------------------------------------------
# Servers


@dataclass
class Server:
    """One `rampart serve` process and what a client needs to talk to it."""

    name: str
    argv: list
    proc: subprocess.Popen
    dev: bool
    stdout_path: Path
    stderr_path: Path
    data_dir: Optional[Path]
    port: int = 0
    ca: Optional[Path] = None
    credentials_file: Optional[Path] = None
    access_key: str = ""
    secret_key: str = ""
    account_id: str = ""
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    returncode: Optional[int] = None
    # Connections the tests opened: closed before a stop, because the server waits (up to
    # 10 s) for idle keep-alive connections to go away before it exits.
    pool: Optional[urllib3.PoolManager] = None
    clients: list = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def https_endpoint(self) -> str:
        return f"https://localhost:{self.port}"

    @property
    def db(self) -> Path:
        assert self.data_dir is not None
        return self.data_dir / "rampart.db"

    @property
    def credentials(self) -> dict:
        return {"aws_access_key_id": self.access_key, "aws_secret_access_key": self.secret_key}

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stop(self, timeout: float = STOP_TIMEOUT) -> Optional[int]:
        """SIGTERM by pid, wait, SIGKILL if it is still there. Returns the exit status."""
        self.close_connections()
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self.returncode = self.proc.returncode
        return self.returncode

    def close_connections(self) -> None:
        gc.collect()  # connections left in unreferenced responses (e.g. error tracebacks)
        for c in self.clients:
            c.close()
        self.clients.clear()
        if self.pool is not None:
            self.pool.clear()

    def request(self, method: str, url_or_path: str, **kw) -> urllib3.BaseHTTPResponse:
        """A plain (unsigned) request; a path is taken relative to the HTTP endpoint."""
        url = url_or_path if "://" in url_or_path else self.endpoint + url_or_path
        return self.pool.request(method, url, redirect=False, **kw)

    def kill(self) -> None:
        """SIGKILL by pid (a crash), and reap it."""
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(10)
        self.returncode = self.proc.returncode

    def _fail(self, why: str) -> None:
        self.kill()
        pytest.fail(
            f"rampart server {self.name!r} ({' '.join(map(str, self.argv))}) {why}\n"
            f"--- stdout ---\n{self.stdout()}\n--- stderr ---\n{self.stderr()}",
            pytrace=False,
        )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            out = self.stdout()
            listen, ca = LISTEN_RE.search(out), CA_RE.search(out)
            if listen and ca:
                break
            if self.proc.poll() is not None:
                self._fail(f"exited with status {self.proc.returncode} before listening")
            if time.monotonic() > deadline:
                self._fail(f"printed no listening address within {START_TIMEOUT:.0f} s")
            time.sleep(0.05)
        self.port = int(listen.group(1))
        self.ca = Path(ca.group(1).strip())
        if self.dev:
            self.data_dir = self.ca.parent
        self.pool = urllib3.PoolManager(ca_certs=str(self.ca), retries=False,
                                        timeout=urllib3.Timeout(connect=10, read=60))
        probe = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=2, read=5))
        while True:
            try:
                r = probe.request("GET", self.endpoint + "/_rampart/health", headers={"Connection": "close"})
                if r.status == 200:
                    break
            except urllib3.exceptions.HTTPError:
                pass
            finally:
                probe.clear()
            if self.proc.poll() is not None:
                self._fail(f"exited with status {self.proc.returncode} before it was healthy")
            if time.monotonic() > deadline:
                self._fail(f"was not healthy within {START_TIMEOUT:.0f} s")
            time.sleep(0.05)


def parse_credentials(path: Path) -> tuple[str, str, str]:
    """(access key id, secret access key, account id) from a Rampart credentials file."""
    text = path.read_text()
    cp = configparser.ConfigParser()
    cp.read_string(text)
    sec = cp["rampart"]
    m = re.search(r"account (\d{12})", text)
    return sec["aws_access_key_id"], sec["aws_secret_access_key"], m.group(1) if m else ""


class Servers:
    """Starts servers and remembers every one (test_zz_no_secrets reads all their logs)."""

    def __init__(self, binary: str, root: Path):
        self.binary = binary
        self.root = root
        self.logs = root / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.all: list[Server] = []
        self._n = 0
        atexit.register(self.stop_all)  # a last resort; the fixtures stop their servers

    def start(self, name: str, *args: str, data_dir: Optional[Path] = None, dev: bool = False) -> Server:
        self._n += 1
        tag = f"{self._n:02d}-{name}"
        argv = [self.binary, "serve", "--listen", "127.0.0.1:0"]
        if dev:
            argv.append("--dev")
        else:
            data_dir = Path(data_dir) if data_dir else self.root / f"{tag}-data"
            argv += ["--data-dir", str(data_dir)]
        argv += list(args)
        stdout_path = self.logs / f"{tag}.stdout"
        stderr_path = self.logs / f"{tag}.stderr.log"
        with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
            proc = subprocess.Popen(
                argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=_server_env(), cwd=self.root
            )
        srv = Server(name=tag, argv=argv, proc=proc, dev=dev, stdout_path=stdout_path,
                     stderr_path=stderr_path, data_dir=None if dev else data_dir)
        self.all.append(srv)
        srv._wait_ready()
        if dev:
            srv.credentials_file = self.logs / f"{tag}.credentials"
            srv.credentials_file.write_text("[rampart]\naws_access_key_id = test\naws_secret_access_key = test\n")
            srv.access_key, srv.secret_key, srv.account_id = "test", "test", DEV_ACCOUNT
        else:
            srv.credentials_file = data_dir / "credentials"
            srv.access_key, srv.secret_key, srv.account_id = parse_credentials(srv.credentials_file)
        return srv

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """Runs a one-shot rampart command (e.g. `trail verify`)."""
        return subprocess.run([self.binary, *args], capture_output=True, text=True, timeout=timeout,
                              env=_server_env(), stdin=subprocess.DEVNULL)

    def verify(self, data_dir: Path) -> subprocess.CompletedProcess:
        return self.run("trail", "verify", "--data-dir", str(data_dir))

    def stop_all(self) -> None:
        for s in reversed(self.all):
            s.stop()


# --------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="session")
def rampart_bin() -> str:
    b = os.environ.get("RAMPART_BIN")
    if not b:
        pytest.fail(
            "RAMPART_BIN is not set. Build the binary (export CARGO_TARGET_DIR=$HOME/.cache/rampart-target; "
            "cargo build -p rampart) and run with RAMPART_BIN=$HOME/.cache/rampart-target/debug/rampart.",
            pytrace=False,
        )
    p = Path(b)
    if not p.is_file() or not os.access(p, os.X_OK):
        pytest.fail(f"RAMPART_BIN={b} is not an executable file (build it with `cargo build -p rampart`).",
                    pytrace=False)
    return str(p.resolve())


@pytest.fixture(scope="session")
def servers(rampart_bin, tmp_path_factory) -> Servers:
    mgr = Servers(rampart_bin, tmp_path_factory.mktemp("rampart"))
    yield mgr
    mgr.stop_all()


@pytest.fixture(scope="session")
def server(servers) -> Server:
    """The normal (non-dev) server, fresh data directory, debug logging (more to leak)."""
    srv = servers.start("main", "--log", "debug")
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def dev_server(servers) -> Server:
    """The `--dev` server. Tests must not reset it (use `spawn(..., dev=True)` for that)."""
    srv = servers.start("dev", "--log", "debug", dev=True)
    yield srv
    srv.stop()


@pytest.fixture
def spawn(servers) -> Callable[..., Server]:
    """A factory for dedicated servers, all stopped when the test ends."""
    started: list[Server] = []

    def _spawn(name: str, *args: str, **kw) -> Server:
        s = servers.start(name, *args, **kw)
        started.append(s)
        return s

    yield _spawn
    for s in reversed(started):
        s.stop()


# --------------------------------------------------------------------------------------------
# Clients

_SESSION = boto3.session.Session()
_BASE_CONFIG = Config(retries={"total_max_attempts": 1}, connect_timeout=10, read_timeout=60)


def client(server: Server, service: str, *, https: bool = False, **kw):
    """A boto3 client for `server` (region us-east-1, the server's credentials, no retries).

    `https=True` uses https://localhost:PORT with the server's CA; other keyword arguments go to
    boto3 (`aws_access_key_id=...`, `config=Config(...)` merged over the defaults, ...).
    """
    params: dict[str, Any] = dict(
        endpoint_url=server.https_endpoint if https else server.endpoint,
        region_name=REGION,
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
    )
    if https:
        params["verify"] = str(server.ca)
    config = _BASE_CONFIG.merge(kw.pop("config")) if "config" in kw else _BASE_CONFIG
    params.update(kw)
    params["config"] = config
    c = _SESSION.client(service, **params)
    server.clients.append(c)
    return c


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def json(self):
        return json.loads(self.stdout) if self.stdout.strip() else None


def cli_env(credentials_file: Path, region: Optional[str] = REGION) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_SHARED_CREDENTIALS_FILE=str(credentials_file),
        AWS_CONFIG_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    if region:
        env["AWS_DEFAULT_REGION"] = region
    return env


def run_cli(argv: list, env: dict) -> CliResult:
    p = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=CLI_TIMEOUT, stdin=subprocess.DEVNULL)
    return CliResult(p.returncode, p.stdout, p.stderr)


def aws(server: Server, *args: str, check: bool = True, https: bool = False, profile: str = "rampart"):
    """Runs the venv's aws CLI against `server` with its credentials file (profile `rampart`).

    With check=True (default) asserts exit status 0 and returns the parsed JSON output (None if
    empty); with check=False returns a CliResult (returncode, stdout, stderr, .json).
    """
    argv = [AWS_CLI, "--endpoint-url", server.https_endpoint if https else server.endpoint,
            "--profile", profile, "--output", "json", *args]
    res = run_cli(argv, cli_env(server.credentials_file))
    if not check:
        return res
    assert res.returncode == 0, f"aws {' '.join(args)} exited {res.returncode}:\n{res.stderr}"
    return res.json


def at_time(when: dt.datetime):
    """Makes botocore sign as if the clock said `when` (aware or naive UTC)."""
    naive = when.astimezone(dt.timezone.utc).replace(tzinfo=None) if when.tzinfo else when
    return mock.patch("botocore.auth.get_current_datetime", lambda remove_tzinfo=True: naive)


def raw_request(server: Server, method: str = "POST", path: str = "/", *, body: bytes = b"",
                headers: Optional[dict] = None, service: Optional[str] = None, sign: bool = True,
                access_key: Optional[str] = None, secret_key: Optional[str] = None,
                session_token: Optional[str] = None, when: Optional[dt.datetime] = None,
                https: bool = False, **urlopen_kw) -> urllib3.BaseHTTPResponse:
    """One HTTP request, SigV4-signed by botocore's SigV4Auth for `service` unless sign=False."""
    base = server.https_endpoint if https else server.endpoint
    req = AWSRequest(method=method, url=base + path, data=body, headers=dict(headers or {}))
    if sign:
        assert service, "a signed request needs the signing name"
        creds = Credentials(access_key or server.access_key, secret_key or server.secret_key, session_token)
        signer = SigV4Auth(creds, service, REGION)
        if when is None:
            signer.add_auth(req)
        else:
            with at_time(when):
                signer.add_auth(req)
    prepared = req.prepare()
    return server.request(method, prepared.url, body=prepared.body, headers=dict(prepared.headers), **urlopen_kw)


def cloudtrail_request(server: Server, operation: str, payload, **kw) -> urllib3.BaseHTTPResponse:
    """A signed JSON 1.1 CloudTrail request; `payload` is a dict or raw bytes."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"Content-Type": JSON_11, "X-Amz-Target": CT_TARGET + operation, **kw.pop("headers", {})}
    return raw_request(server, body=body, headers=headers, service="cloudtrail", **kw)


def sts_request(server: Server, form: str, **kw) -> urllib3.BaseHTTPResponse:
    """A signed Query-protocol STS request with a form body."""
    headers = {"Content-Type": FORM, **kw.pop("headers", {})}
    return raw_request(server, body=form.encode(), headers=headers, service="sts", **kw)


# --------------------------------------------------------------------------------------------
# Errors


def json_error(resp: urllib3.BaseHTTPResponse) -> tuple[str, str]:
    """(code, message) of an AWS JSON-protocol error response."""
    body = json.loads(resp.data)
    code = body["__type"].rsplit("#", 1)[-1]
    return code, body.get("message") or body.get("Message") or ""


def query_error(resp: urllib3.BaseHTTPResponse) -> tuple[str, str]:
    """(code, message) of an AWS Query-protocol (XML) error response."""
    root = ET.fromstring(resp.data)
    assert root.tag.endswith("ErrorResponse"), resp.data
    return root.findtext(".//{*}Error/{*}Code"), root.findtext(".//{*}Error/{*}Message") or ""


def error_of(exc: ClientError) -> tuple[int, str, str]:
    """(HTTP status, code, message) of a botocore ClientError."""
    r = exc.response
    return r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Code"], r["Error"].get("Message", "")


def request_id_of(exc_or_response) -> str:
    r = exc_or_response.response if isinstance(exc_or_response, ClientError) else exc_or_response
    return r["ResponseMetadata"]["RequestId"]


# --------------------------------------------------------------------------------------------
# The trail, read straight from the database (read-only)


def db_connect(server_or_path) -> sqlite3.Connection:
    """Read-only connection to a server's database (a Server, a data directory or a db file)."""
    path = server_or_path.db if isinstance(server_or_path, Server) else Path(server_or_path)
    if path.is_dir():
        path = path / "rampart.db"
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)


def trail_rows(server_or_path, where: str = "1=1", params: tuple = ()) -> list[dict]:
    """Trail rows (columns plus the parsed record as `event`), oldest first."""
    con = db_connect(server_or_path)
    try:
        con.row_factory = sqlite3.Row
        rows = con.execute(f"SELECT * FROM trail WHERE {where} ORDER BY seq", params).fetchall()
    finally:
        con.close()
    out = []
    for r in rows:
        d = dict(r)
        d["event"] = json.loads(d["record"])
        out.append(d)
    return out


def wait_for_event(server: Server, request_id: str, timeout: float = 10.0) -> dict:
    """The CloudTrail record of the request `request_id`, waiting for a batched commit."""
    deadline = time.monotonic() + timeout
    while True:
        rows = [r for r in trail_rows(server, "record LIKE ?", (f"%{request_id}%",))
                if r["event"].get("requestID") == request_id]
        if rows:
            assert len(rows) == 1, f"{len(rows)} events for request {request_id}"
            return rows[0]["event"]
        assert time.monotonic() < deadline, f"no trail event for request {request_id} within {timeout} s"
        time.sleep(0.05)


def lookup_until(ct_client, predicate: Callable[[list], bool], timeout: float = 10.0, **params) -> list:
    """Calls LookupEvents until `predicate(events)` holds (events of read-only calls commit in
    batches, within milliseconds); returns the events of the last call."""
    deadline = time.monotonic() + timeout
    while True:
        events = ct_client.lookup_events(**params)["Events"]
        if predicate(events):
            return events
        assert time.monotonic() < deadline, f"LookupEvents({params}) never satisfied the condition"
        time.sleep(0.1)


def marker() -> str:
    """A unique user-agent suffix, to find a request's event."""
    return "rampart-test/" + uuid.uuid4().hex
