"""`https://` upstreams (the transport's TLS path, AsyncHTTPClient): an OpenAI simulator
serving HTTPS with a throwaway self-signed certificate, trusted through the model's
`tls_ca_file`; without it the certificate is refused and the answer says which deployment
failed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import openai
import pytest

from conftest import Sim
from configs import SIM_ENV, config


@pytest.fixture(scope="module")
def tls_sim(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True)
    sim = Sim("openai", "--tls-cert", str(cert), "--tls-key", str(key))
    assert sim.url.startswith("https://")
    yield sim, cert
    sim.stop()


def tls_models(sim, cert: Path) -> str:
    return f"""
  - name: tls-oai
    provider: openai
    base_url: {sim.url}/v1
    upstream_model: gpt-sim
    api_key: ${{OPENAI_API_KEY}}
    openness: closed
    hosting: cloud
    tls_ca_file: {cert}
    retry: {{max_retries: 0}}
  - name: untrusted
    provider: openai
    base_url: {sim.url}/v1
    upstream_model: gpt-sim
    api_key: ${{OPENAI_API_KEY}}
    openness: closed
    hosting: cloud
    retry: {{max_retries: 0}}
"""


def test_https_upstream_with_private_ca(gateway_factory, tls_sim):
    sim, cert = tls_sim
    gw = gateway_factory(config(tls_models(sim, cert)), SIM_ENV)
    client = openai.OpenAI(base_url=gw.url + "/v1", api_key="unused", max_retries=0, timeout=30)
    raw = client.chat.completions.with_raw_response.create(
        model="tls-oai", messages=[{"role": "user", "content": "hello over tls"}])
    assert raw.headers["x-switchyard-model"] == "tls-oai"
    answer = raw.parse()
    assert answer.choices[0].message.content
    assert answer.usage.prompt_tokens > 0
    chunks = list(client.chat.completions.create(
        model="tls-oai", messages=[{"role": "user", "content": "stream over tls"}], stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text
    # The simulator saw both requests, with the key.
    seen = sim.requests()
    assert len(seen) >= 2


def test_untrusted_certificate_is_a_502_naming_the_deployment(gateway_factory, tls_sim):
    sim, cert = tls_sim
    gw = gateway_factory(config(tls_models(sim, cert)), SIM_ENV)
    r = gw.http.post("/v1/chat/completions", json={"model": "untrusted", "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 502, r.text
    error = r.json()["error"]
    assert "untrusted" in error["message"]
    assert "certificate is not trusted" in error["message"] and "tls_ca_file" in error["message"]
    assert gw.alive()


def test_tls_ca_file_is_checked_at_start(tmp_path):
    from conftest import run_cli
    cfg = tmp_path / "c.yaml"
    cfg.write_text(config("""
  - name: m
    provider: openai
    base_url: https://127.0.0.1:9/v1
    openness: closed
    hosting: cloud
    tls_ca_file: missing.pem
"""))
    result = run_cli("check-config", "--config", str(cfg), check=False)
    assert result.returncode == 2
    assert "tls_ca_file" in result.stderr and "missing.pem" in result.stderr
