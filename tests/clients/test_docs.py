"""Every `aws ...` command in the ```sh blocks of docs/sts.md, docs/trail.md, docs/iam.md,
docs/kms.md, docs/secrets.md and docs/organizations.md runs against a real server with its credentials file and exits
0; and each guide's ```sh and ```shell blocks, in order, run as one bash script (variables,
pipes, files and OpenSSL included) against a fresh server, as a reader would paste them."""
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import AWS_CLI, cli_env, run_cli

DOCS = Path(__file__).resolve().parents[2] / "docs"
DOC_ENDPOINT = "http://127.0.0.1:4566"
PREFIX = f"aws --endpoint-url {DOC_ENDPOINT} --profile rampart "
BLOCK = re.compile(r"^```sh\n(.*?)^```", re.M | re.S)
SCRIPT_BLOCK = re.compile(r"^```(?:sh|shell)\n(.*?)^```", re.M | re.S)


def commands(doc):
    text = (DOCS / doc).read_text()
    out = []
    for block in BLOCK.findall(text):
        for line in block.replace("\\\n", " ").splitlines():
            if line.startswith("aws "):
                out.append(line.strip())
    return out


CASES = [(doc, cmd) for doc in ("sts.md", "trail.md", "iam.md", "kms.md", "secrets.md", "organizations.md") for cmd in commands(doc)]


@pytest.mark.parametrize("doc, minimum", [("sts.md", 2), ("trail.md", 6), ("iam.md", 20), ("kms.md", 8), ("secrets.md", 6), ("organizations.md", 4)])
def test_docs_have_examples(doc, minimum):
    assert len(commands(doc)) >= minimum


@pytest.mark.parametrize("doc, command", CASES, ids=[f"{d}:{i}" for i, (d, _) in enumerate(CASES)])
def test_documented_command_runs(server, doc, command):
    assert command.startswith(PREFIX), f"{doc}: commands start with `{PREFIX}...`"
    argv = shlex.split(command.replace(DOC_ENDPOINT, server.endpoint, 1))
    argv[0] = AWS_CLI
    # Exactly what a reader has: the credentials file, no config file, no region from the environment.
    res = run_cli(argv, cli_env(server.credentials_file, region=None))
    assert res.returncode == 0, f"{doc}: `{command}` exited {res.returncode}:\n{res.stderr}"
    assert res.stdout.strip()


@pytest.mark.parametrize("doc", ["sts.md", "trail.md", "iam.md", "kms.md", "secrets.md", "organizations.md"])
def test_guide_runs_as_a_script(spawn, rampart_bin, tmp_path, doc):
    """The guide's shell blocks, in order, as one `bash -euo pipefail` script in an empty
    directory, against a fresh server whose data directory stands for `./rampart-data`, with
    the venv's aws CLI and rampart on PATH. `rampart serve` lines are skipped: the server runs."""
    if shutil.which("openssl") is None and doc == "kms.md":
        pytest.skip("openssl is not installed")
    srv = spawn("docs-" + doc.removesuffix(".md"))
    text = "\n".join(SCRIPT_BLOCK.findall((DOCS / doc).read_text()))
    lines = [l for l in text.splitlines() if not l.startswith("rampart serve")]
    script = "\n".join(lines).replace(DOC_ENDPOINT, srv.endpoint).replace("./rampart-data", str(srv.data_dir))
    assert script.strip(), f"{doc} has no shell blocks"
    env = cli_env(Path(srv.credentials_file), region=None)
    env["PATH"] = os.pathsep.join([str(Path(AWS_CLI).parent), str(Path(rampart_bin).parent), env.get("PATH", "")])
    work = tmp_path / "work"
    work.mkdir()
    p = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=work, env=env, capture_output=True,
                       text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, f"{doc} as a script exited {p.returncode}:\n{p.stderr[-3000:]}"
