"""`--trail-sync strict`: an acknowledged request's audit event survives a crash (kill -9)."""
import threading
import time

from botocore.config import Config

from conftest import client, request_id_of, trail_rows

THREADS = 4
MAX_CALLS_PER_THREAD = 20_000  # a bound, never reached in ~1 s


def test_acknowledged_events_survive_kill_9(spawn, servers):
    srv = spawn("durable", "--trail-sync", "strict")
    cfg = Config(connect_timeout=5, read_timeout=30)
    clients = [client(srv, "sts", config=cfg) for _ in range(THREADS)]  # made here: not thread-safe
    acked = [[] for _ in range(THREADS)]
    errors = [0] * THREADS

    def worker(i):
        for _ in range(MAX_CALLS_PER_THREAD):
            try:
                r = clients[i].get_caller_identity()
            except Exception:  # the server is gone (connection reset/refused)
                errors[i] += 1
                return
            acked[i].append(request_id_of(r))

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(THREADS)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    srv.kill()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    assert srv.returncode == -9
    done = [rid for per in acked for rid in per]
    assert len(done) > 0

    # Restart on the same data directory: no new account, the same credentials still work.
    again = spawn("durable", "--trail-sync", "strict", data_dir=srv.data_dir)
    assert "Created account" not in again.stdout()
    assert client(again, "sts").get_caller_identity()["Account"] == srv.account_id
    assert again.stop() == 0

    recorded = {r["event"]["requestID"] for r in trail_rows(again)}
    lost = [rid for rid in done if rid not in recorded]
    assert not lost, f"{len(lost)} of {len(done)} acknowledged requests have no audit event"

    p = servers.verify(again.data_dir)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.startswith("trail OK: ")
