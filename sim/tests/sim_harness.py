"""Start/stop a simulator subprocess for tests (`Sim`), shared by conftest and tests.

Each simulator is started with --port 0 and its `listening on URL` line is read
back, so tests never race for ports.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import httpx

SIM = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "provider_sim.py")
KEYS = {"openai": "sk-test-key-123", "anthropic": "sk-ant-test-key", "gemini": "gm-test-key"}


class Sim:
    def __init__(self, provider: str, *extra: str):
        self.provider = provider
        self.key = KEYS[provider]
        # stderr goes to a file: an unread pipe could fill up and block the simulator
        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [sys.executable, SIM, "--provider", provider, "--port", "0", "--api-key", self.key,
             *extra],
            stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("listening on "):
            self.proc.kill()
            raise RuntimeError(f"simulator failed to start: {line!r} {self._stderr()}")
        self.url = line[len("listening on "):]
        # The control endpoints of an HTTPS simulator run behind its self-signed certificate.
        self.http = httpx.Client(base_url=self.url, timeout=10, verify=not self.url.startswith("https"))

    def faults(self, *faults: dict) -> None:
        r = self.http.post("/_sim/faults", json=list(faults))
        assert r.status_code == 200, r.text

    def requests(self) -> list[dict]:
        return self.http.get("/_sim/requests").json()

    def reset(self) -> None:
        assert self.http.post("/_sim/reset").status_code == 200

    def stop(self) -> None:
        self.http.close()
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        stderr = self._stderr()
        # the simulator must never have hit an unexpected exception
        assert "Traceback" not in stderr, stderr


    def _stderr(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read()
