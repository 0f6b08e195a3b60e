"""A throwaway PostgreSQL cluster for tests: initdb into a temporary folder, start it on a
free loopback port with trust authentication, create one database, stop and delete it.

PostgreSQL refuses to run as root. As root, the server programs run as the `postgres`
user (created by Debian's postgresql package; `nobody` otherwise) through `runuser`,
with the data folder chowned to that user. As any other user they run directly.

    python3 tests/integration/pg.py     # self-check: start, query, stop
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def find_bindir() -> str | None:
    """The folder holding initdb/pg_ctl/psql: $PG_BINDIR, then PATH, then Debian's
    /usr/lib/postgresql/<newest>/bin."""
    explicit = os.environ.get("PG_BINDIR")
    if explicit and Path(explicit, "initdb").exists():
        return explicit
    on_path = shutil.which("initdb")
    if on_path:  # often a symlink into the real folder (which also has psql, createdb)
        real = Path(os.path.realpath(on_path)).parent
        if (real / "pg_ctl").exists() and (real / "psql").exists():
            return str(real)
    candidates = glob.glob("/usr/lib/postgresql/*/bin/initdb")

    def version(path: str) -> float:
        try:
            return float(Path(path).parts[-3])
        except ValueError:
            return 0.0

    candidates.sort(key=version)
    return str(Path(candidates[-1]).parent) if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresCluster:
    """`start()` brings up a cluster; `url` is what the gateway gets; `query()`/`execute()`
    run SQL through psql; `stop()` shuts it down and removes every file."""

    def __init__(self, dbname: str = "switchyard", bindir: str | None = None):
        self.bindir = bindir or find_bindir()
        if self.bindir is None:
            raise FileNotFoundError("PostgreSQL server binaries (initdb, pg_ctl) not found")
        self.dbname = dbname
        self.port = 0
        self.root = ""
        self.datadir = ""
        self.logfile = ""
        self.run_as: str | None = None  # user the server runs as, when we are root
        self.user = ""                  # database superuser name
        self.started = False

    # -- lifecycle ---------------------------------------------------------------------
    def _server_cmd(self, *argv: str) -> list[str]:
        if self.run_as is None:
            return list(argv)
        return ["runuser", "-u", self.run_as, "--", *argv]

    def _run(self, argv: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=self.root or None)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}\n{self.server_log()}")
        return r

    def start(self) -> "PostgresCluster":
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                try:
                    pwd.getpwnam(name)
                    self.run_as = name
                    break
                except KeyError:
                    continue
            if self.run_as is None:
                raise RuntimeError("running as root and neither a 'postgres' nor a 'nobody' user exists")
            self.user = self.run_as
        else:
            self.user = pwd.getpwuid(os.geteuid()).pw_name
        self.root = tempfile.mkdtemp(prefix="switchyard-pg-")
        os.chmod(self.root, 0o755)
        self.datadir = os.path.join(self.root, "data")
        self.logfile = os.path.join(self.root, "server.log")
        if self.run_as is not None:
            info = pwd.getpwnam(self.run_as)
            os.chown(self.root, info.pw_uid, info.pw_gid)
        try:
            self._initdb()
            self._start_server()
            self._run([os.path.join(self.bindir, "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                       "-U", self.user, self.dbname])
        except BaseException:
            self.stop()
            raise
        return self

    def _initdb(self) -> None:
        self._run(self._server_cmd(
            os.path.join(self.bindir, "initdb"), "-D", self.datadir, "-U", self.user, "--auth=trust",
            "-E", "UTF8", "--locale=C", "--no-sync"), timeout=120)

    def _start_server(self) -> None:
        # A port picked now may be taken by the time the server binds it: retry a few.
        last_error: Exception | None = None
        for _ in range(5):
            self.port = _free_port()
            options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                       f"-c unix_socket_directories={self.root} -c fsync=off -c synchronous_commit=off "
                       f"-c full_page_writes=off -c max_connections=200")
            self.started = True  # from here on stop() must try pg_ctl stop
            try:
                self._run(self._server_cmd(
                    os.path.join(self.bindir, "pg_ctl"), "-D", self.datadir, "-l", self.logfile,
                    "-o", options, "-w", "-t", "60", "start"), timeout=90)
                return
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                last_error = e
                self._pg_ctl_stop()
                time.sleep(0.2)
        raise RuntimeError(f"PostgreSQL did not start: {last_error}")

    def _pg_ctl_stop(self) -> None:
        subprocess.run(self._server_cmd(
            os.path.join(self.bindir, "pg_ctl"), "-D", self.datadir, "-m", "immediate", "-w", "stop"),
            capture_output=True, timeout=60, cwd=self.root)

    def stop(self) -> None:
        if self.started:
            self._pg_ctl_stop()
            self.started = False
        self._remove()

    def _remove(self) -> None:
        if self.root:
            shutil.rmtree(self.root, ignore_errors=True)

    def server_log(self) -> str:
        try:
            return Path(self.logfile).read_text()[-4000:]
        except (OSError, TypeError):
            return ""

    # -- access ------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"postgres://{self.user}@127.0.0.1:{self.port}/{self.dbname}?sslmode=disable"

    def _psql(self, sql: str) -> str:
        r = self._run([os.path.join(self.bindir, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                       "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, "-d", self.dbname,
                       "-c", sql])
        return r.stdout

    def execute(self, sql: str) -> str:
        """Runs statements; returns psql's unaligned output."""
        return self._psql(sql)

    def query(self, sql: str) -> list[dict]:
        """Runs one SELECT and returns its rows as dicts with JSON-typed values
        (numbers as int/float, NULL as None)."""
        wrapped = f"SELECT coalesce(json_agg(t), '[]'::json) FROM ({sql.strip().rstrip(';')}) AS t"
        return json.loads(self._psql(wrapped))

    def scalar(self, sql: str):
        rows = self.query(sql)
        return next(iter(rows[0].values())) if rows else None

    def tables(self) -> list[str]:
        return [r["tablename"] for r in self.query(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")]


if __name__ == "__main__":
    pg = PostgresCluster().start()
    try:
        print("url:", pg.url)
        pg.execute("CREATE TABLE t (id TEXT PRIMARY KEY, cost DOUBLE PRECISION, n INTEGER, note TEXT)")
        pg.execute("INSERT INTO t VALUES ('a', 0.5, 3, NULL), ('b', 1.25, 4, 'x''y')")
        rows = pg.query("SELECT * FROM t ORDER BY id")
        print(rows)
        assert rows == [{"id": "a", "cost": 0.5, "n": 3, "note": None},
                        {"id": "b", "cost": 1.25, "n": 4, "note": "x'y"}], rows
        assert pg.scalar("SELECT sum(n) AS s FROM t") == 7
        assert pg.query("SELECT * FROM t WHERE false") == []
        assert pg.tables() == ["t"]
        print("ok")
    finally:
        root = pg.root
        pg.stop()
        assert not os.path.exists(root)
