"""A pool of PostgreSQL connections for the shared memory, and the two ways in: read or write.

psycopg 3 with `psycopg_pool`. Connections use no server-side prepared
statements (`prepare_threshold=None`) and no session state beyond one
transaction, so the same code runs directly against PostgreSQL and through
PgBouncer in transaction mode (Supabase's pooler). psycopg's exceptions never
leave this module: an unreachable server becomes `MemoryUnavailable` naming the
DSN's host (never its password); a write that fails is refused, never queued,
and the pool reconnects by itself once the server is back.

Every write transaction also takes the next value of the `grym_writes`
sequence and NOTIFYs it, so every bridge's `generation()` changes when any
bridge writes: at once where a listening connection is possible (a direct
connection), else by reading the sequence.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator

from grym_bridge.config.secrets import redact_dsn
from grym_bridge.errors import BadRequest
from grym_bridge.memory.pg_schema import migrate
from grym_bridge.memory.schema import MemoryCorrupt, MemoryUnavailable

log = logging.getLogger(__name__)

CHANNEL = "grym_memory"
#: Seconds to wait for a new connection (a host that does not answer at all).
CONNECT_TIMEOUT = 3.0
#: Seconds a request waits for a pooled connection while the server is away, before it is refused.
CHECKOUT_TIMEOUT = 2.0
#: A pooled connection idle longer than this is checked before use.
IDLE_CHECK_S = 2.0


def dsn_host(dsn: str) -> str:
    """`host:port/dbname` of a DSN, for messages (never the password)."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        parts = conninfo_to_dict(dsn)
    except Exception:  # a malformed DSN: name it without its secret
        return redact_dsn(dsn)
    host = str(parts.get("host") or "localhost")
    port = parts.get("port")
    return f"{host}{':' + str(port) if port else ''}/{parts.get('dbname') or parts.get('user') or ''}"


class PgDatabase:
    """The pool, error translation, migrations, and the shared write generation."""

    def __init__(self, dsn: str, *, listen: bool = True, pool_size: int = 4) -> None:
        if not dsn.strip():
            raise BadRequest("memory.backend is postgresql but memory.dsn is empty; set GRYM_MEMORY_DSN "
                             "(postgresql://user:password@host:5432/db)")
        try:
            import psycopg
            from psycopg_pool import ConnectionPool
        except ImportError:
            raise MemoryUnavailable("memory.backend is postgresql but psycopg is not installed; "
                                    "`pip install 'grym-bridge[postgres]'`") from None

        self._psycopg = psycopg
        self.dsn = dsn
        self.where = dsn_host(dsn)
        self.closed = False
        self.writes = 0
        # One plain connection first: a refused or unknown host fails at once with libpq's own reason,
        # where the pool would retry until its timeout.
        try:
            psycopg.connect(dsn, connect_timeout=int(CONNECT_TIMEOUT), prepare_threshold=None).close()
        except psycopg.Error as exc:
            raise self.unreachable(exc) from None
        # The pool logs every failed reconnection attempt; the store reports unavailability itself.
        logging.getLogger("psycopg.pool").setLevel(logging.ERROR)
        self._returned: dict[int, float] = {}  # id(connection) -> when it went back to the pool
        self.pool = ConnectionPool(
            dsn, min_size=1, max_size=pool_size, open=False, check=self._check_if_idle,
            kwargs={"prepare_threshold": None, "autocommit": True, "connect_timeout": int(CONNECT_TIMEOUT)},
            name="grym-memory",
        )
        try:
            self.pool.open(wait=True, timeout=CONNECT_TIMEOUT)
        except Exception as exc:
            self.pool.close()
            raise self.unreachable(exc) from None
        try:
            with self.guard() as conn:
                migrate(conn, self.where)
        except BaseException:
            self.pool.close()
            raise
        self._seen = -1  # the newest grym_writes value a notification announced
        self._listening = False
        self._stop = threading.Event()
        self._listener: threading.Thread | None = None
        if listen:
            self._listener = threading.Thread(target=self._listen, name="grym-memory-listen", daemon=True)
            self._listener.start()

    def _check_if_idle(self, conn: Any) -> None:
        """Ping a pooled connection before use only when it sat idle (the server may have restarted
        meanwhile); one in steady use costs no extra round trip."""
        if time.monotonic() - self._returned.get(id(conn), 0.0) > IDLE_CHECK_S:
            conn.execute("")

    # -- errors --------------------------------------------------------------------------------

    def unreachable(self, exc: BaseException) -> MemoryUnavailable:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return MemoryUnavailable(
            f"the memory database at {self.where} is unreachable ({redact_dsn(detail)}); writes are refused until "
            "it is back (the bridge reconnects by itself), everything that does not need memory keeps working")

    @contextmanager
    def guard(self) -> Iterator[Any]:
        """A pooled connection with psycopg's errors turned into ones a user can act on.

        Connections are in autocommit mode; `write()` and multi-statement reads open a transaction."""
        if self.closed:
            raise BadRequest(f"the memory {self.where} is closed")
        psycopg = self._psycopg
        from psycopg_pool import PoolTimeout

        try:
            with self.pool.connection(timeout=CHECKOUT_TIMEOUT) as conn:
                try:
                    yield conn
                finally:
                    self._returned[id(conn)] = time.monotonic()
        except PoolTimeout as exc:
            raise self.unreachable(exc) from None
        except psycopg.errors.IntegrityError as exc:
            raise BadRequest(f"the memory refused a write that conflicts with what it holds ({exc})") from None
        except psycopg.OperationalError as exc:
            raise self.unreachable(exc) from None
        except psycopg.errors.DataError as exc:
            raise BadRequest(f"the memory refused a value ({exc})") from None
        except psycopg.Error as exc:
            raise MemoryCorrupt(f"the memory database {self.where} failed: {str(exc).splitlines()[0]}") from None

    @contextmanager
    def read(self) -> Iterator[Any]:
        """A connection in autocommit mode: each read statement is one round trip (no BEGIN/COMMIT);
        a read that needs several statements to agree opens `conn.transaction()` itself."""
        with self.guard() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Any]:
        """One transaction that bumps and announces the shared generation; returns after COMMIT."""
        with self.guard() as conn:
            with conn.transaction():
                yield conn
                conn.execute("SELECT pg_notify(%s, nextval('grym_writes')::text)", (CHANNEL,))
            self.writes += 1

    # -- the shared generation -----------------------------------------------------------------

    def _listen(self) -> None:
        """LISTEN on a connection of its own; on (re)connect, catch up by reading the sequence."""
        psycopg = self._psycopg
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.dsn, autocommit=True, prepare_threshold=None,
                                     connect_timeout=int(CONNECT_TIMEOUT)) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._seen = self._read_sequence(conn)
                    self._listening = True
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=0.1):  # short: close() waits for it
                            self._seen = max(self._seen, int(note.payload or 0))
            except psycopg.Error as exc:
                if self._listening:
                    log.warning("memory: lost the change notifications of %s (%s); reconnecting", self.where,
                                redact_dsn(str(exc).splitlines()[0] if str(exc) else type(exc).__name__))
            finally:
                self._listening = False
            self._stop.wait(1.0)

    @staticmethod
    def _read_sequence(conn: Any) -> int:
        last, called = conn.execute("SELECT last_value, is_called FROM grym_writes").fetchone()
        return int(last) if called else 0

    def generation(self) -> tuple[int, int]:
        """Changes whenever any bridge commits a write (own writes count at once)."""
        if self._listening:
            return self._seen, self.writes
        try:
            with self.read() as conn:
                return self._read_sequence(conn), self.writes
        except MemoryUnavailable:
            return -1, self.writes  # unreachable: reads fail on their own; nothing to catch up yet

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._stop.set()
        if self._listener is not None:
            self._listener.join(timeout=2.0)
        self.pool.close()
