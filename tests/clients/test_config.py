"""Settings: TOML file, then RAMPART_* environment, then flags; `rampart config print` shows the
effective result, and bad settings are refused with a clear message."""
import os
import subprocess

BIN = os.environ.get("RAMPART_BIN", "")


def run(*args, env=None, cwd=None):
    assert BIN, "RAMPART_BIN is not set"
    e = {k: v for k, v in os.environ.items() if not k.startswith("RAMPART_") or k == "RAMPART_BIN"}
    e.update(env or {})
    return subprocess.run([BIN, *args], capture_output=True, text=True, env=e, cwd=cwd, timeout=30)


def test_file_env_and_flag_precedence(tmp_path):
    cfg = tmp_path / "rampart.toml"
    cfg.write_text('listen = "127.0.0.1:7001"\nregion = "eu-west-1"\n[trail]\nsync = "strict"\n[limits]\nmax_body_bytes = 65536\n')
    p = run("--config", str(cfg), "config", "print")
    assert p.returncode == 0, p.stderr
    assert 'listen = "127.0.0.1:7001"' in p.stdout
    assert 'region = "eu-west-1"' in p.stdout
    assert 'sync = "strict"' in p.stdout
    assert "max_body_bytes = 65536" in p.stdout
    # The environment overrides the file ...
    p = run("--config", str(cfg), "config", "print", env={"RAMPART_LISTEN": "127.0.0.1:7002"})
    assert 'listen = "127.0.0.1:7002"' in p.stdout
    # ... and a flag overrides both.
    p = run("--config", str(cfg), "config", "print", "--listen", "127.0.0.1:7003",
            env={"RAMPART_LISTEN": "127.0.0.1:7002"})
    assert 'listen = "127.0.0.1:7003"' in p.stdout


def test_unknown_setting_is_refused(tmp_path):
    cfg = tmp_path / "rampart.toml"
    cfg.write_text('listen = "127.0.0.1:7001"\nlisten_port = 4\n')
    p = run("--config", str(cfg), "config", "print")
    assert p.returncode != 0
    assert "listen_port" in p.stderr


def test_invalid_combinations_are_refused(tmp_path):
    p = run("config", "print", "--dev", "--listen", "0.0.0.0:4566")
    assert p.returncode != 0 and "loopback" in p.stderr
    p = run("config", "print", "--tls-cert", str(tmp_path / "c.pem"))
    assert p.returncode != 0 and "--tls-key" in p.stderr
    cfg = tmp_path / "rampart.toml"
    cfg.write_text('region = "eu-west-1"\nregions = ["us-east-1"]\n')
    p = run("--config", str(cfg), "config", "print")
    assert p.returncode != 0 and "eu-west-1" in p.stderr


def test_help_documents_the_settings():
    p = run("serve", "--help")
    assert p.returncode == 0
    for flag in ("--data-dir", "--listen", "--dev", "--tls-cert", "--tls-key", "--region", "--trail-sync",
                 "RAMPART_DATA_DIR", "RAMPART_LISTEN"):
        assert flag in p.stdout, flag
