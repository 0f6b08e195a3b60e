"""Several gateway processes, one database: budgets and rate limits hold across replicas
sharing PostgreSQL, no request-log row is lost under concurrent load, and a SIGTERM'd
gateway finishes its in-flight requests and flushes their rows before exiting 0."""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from conftest import Sim, SqliteDB, avoid_minute_boundary, sql_quote, wait_for
from configs import SIM_ENV

OAI_IN, OAI_OUT = 2000.0, 4000.0  # USD per Mtok: one request costs cents
MSG = "hello there"
MAX_TOKENS = 10
REQUEST_COST = (5 * OAI_IN + 3 * OAI_OUT) / 1e6  # simulator usage: 2 words + 3 prompt, 3 completion


def reservation(messages: list[str], max_tokens: int, priciest_per_mtok: float) -> float:
    """An upper bound of the gateway's reservation: its prompt estimate (ceil(UTF-8 bytes / 3)
    + 8 per message + 8) plus max output tokens, all at the priciest per-token price."""
    est_prompt = math.ceil(sum(len(m.encode()) for m in messages) / 3) + 8 * len(messages) + 8
    return (est_prompt + max_tokens) * priciest_per_mtok / 1e6


MAX_RESERVATION = reservation([MSG], MAX_TOKENS, max(OAI_IN, OAI_OUT))


def replica_config(database_url: str, sim_url: str, flush: str = "100ms") -> str:
    return f"""
server: {{host: 127.0.0.1, port: 0}}
database: {{url: "{database_url}", flush_interval: {flush}}}
auth: {{require_keys: true}}
accounting: {{key_cache: 200ms}}
models:
  - name: oai
    provider: openai
    base_url: {sim_url}/v1
    upstream_model: gpt-sim
    api_key: ${{OPENAI_API_KEY}}
    openness: closed
    hosting: cloud
    price: {{input_per_mtok: {OAI_IN}, output_per_mtok: {OAI_OUT}}}
    timeouts: {{connect: 2s, first_byte: 10s, idle: 10s, total: 30s}}
    retry: {{max_retries: 0}}
"""


@pytest.fixture(scope="module")
def slow_sim():
    """An OpenAI simulator that holds every response head for 150 ms, so requests overlap."""
    sim = Sim("openai", "--latency-ms", "150")
    yield sim
    sim.stop()


@pytest.fixture
def replicas(gateway_factory, postgres, slow_sim):
    slow_sim.reset()
    cfg = replica_config(postgres.url, slow_sim.url)
    first = gateway_factory(cfg, SIM_ENV)   # creates the schema
    second = gateway_factory(cfg, SIM_ENV)  # finds it there
    return first, second


def new_key(gw, name: str, *opts: str) -> dict:
    created = json.loads(gw.cli("keys", "create", "--name", name, *opts, "--json").stdout)
    assert created["key"].startswith("sk-sy-") and created["id"], created
    return created


def send(url: str, key: str, stream: bool, include_usage: bool = False) -> dict:
    """One chat request; returns status, request id, error code and the answer text."""
    body = {"model": "oai", "messages": [{"role": "user", "content": MSG}], "max_tokens": MAX_TOKENS}
    if stream:
        body["stream"] = True
        if include_usage:
            body["stream_options"] = {"include_usage": True}
    with httpx.Client(timeout=60) as http:
        r = http.post(url + "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"})
    out = {"status": r.status_code, "id": r.headers.get("x-request-id"), "stream": stream, "code": None, "text": None}
    if r.status_code != 200:
        out["code"] = (r.json().get("error") or {}).get("code")
        out["type"] = (r.json().get("error") or {}).get("type")
        return out
    if stream:
        assert r.text.rstrip().endswith("data: [DONE]"), r.text
        text = ""
        for line in r.text.splitlines():
            if line.startswith("data: {"):
                for choice in json.loads(line[6:]).get("choices") or []:
                    text += (choice.get("delta") or {}).get("content") or ""
        out["text"] = text
    else:
        out["text"] = r.json()["choices"][0]["message"]["content"]
    return out


def ids_in(pg, key_id: str) -> set[str]:
    return {r["id"] for r in pg.query(f"SELECT id FROM request_log WHERE key_id = {sql_quote(key_id)}")}


def test_budget_holds_across_two_replicas(replicas, postgres, slow_sim):
    gw1, gw2 = replicas
    budget = 0.3
    key = new_key(gw1, "shared-budget", "--budget", str(budget))
    # the other replica sees the key created through the first one's config: same database
    jobs = [((gw1, gw2)[i % 2].url, i % 3 != 0, i % 3 == 1) for i in range(40)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda j: send(j[0], key["key"], j[1], j[2]), jobs))

    statuses = sorted({r["status"] for r in results})
    assert set(statuses) <= {200, 429}, [r for r in results if r["status"] not in (200, 429)]
    ok = [r for r in results if r["status"] == 200]
    refused = [r for r in results if r["status"] == 429]
    assert ok, "no request was admitted"
    assert refused, "the budget never refused anything"
    assert all(r["code"] == "budget_exceeded" and r["type"] == "insufficient_quota" for r in refused), refused
    assert all(r["text"] == "Echo: hello there" for r in ok), ok
    assert all(r["id"] for r in ok)
    assert len(slow_sim.requests()) == len(ok)

    # every answered request has its row (no lost rows), from both replicas
    wanted = {r["id"] for r in ok}
    wait_for(lambda: wanted <= ids_in(postgres, key["id"]), timeout=15, what="all admitted requests logged")
    rows = postgres.query(f"SELECT * FROM request_log WHERE key_id = {sql_quote(key['id'])}")
    spent = sum(r["cost_usd"] for r in rows)
    assert spent <= budget + MAX_RESERVATION + 1e-9, (spent, budget, MAX_RESERVATION)
    # each admitted request reserved more than it cost, so the atomic check keeps spent <= budget
    assert spent <= budget + 1e-9, (spent, len(ok))
    assert spent == pytest.approx(len(ok) * REQUEST_COST, rel=1e-9)
    ok_rows = [r for r in rows if r["id"] in wanted]
    assert all(r["usage_source"] == "provider" and r["status"] == 200 for r in ok_rows), ok_rows
    assert {r["stream"] for r in ok_rows} <= {0, 1}

    def settled():
        usage = postgres.query("SELECT coalesce(sum(spent_usd), 0) AS spent, coalesce(sum(reserved_usd), 0) AS reserved "
                               f"FROM budget_usage WHERE key_id = {sql_quote(key['id'])}")[0]
        return usage if abs(usage["reserved"]) < 1e-12 else None
    usage = wait_for(settled, timeout=10, what="budget reservations released")
    assert usage["spent"] == pytest.approx(spent, rel=1e-9)
    assert usage["spent"] <= budget + 1e-9

    # The report and the key listing read the same PostgreSQL database.
    report = json.loads(gw2.cli("report", "--since", "1h", "--json").stdout)
    all_rows = postgres.query("SELECT count(*) AS n, coalesce(sum(cost_usd), 0) AS cost, "
                              "coalesce(sum(prompt_tokens), 0) AS p FROM request_log")[0]
    assert report["requests"] == all_rows["n"]
    assert report["cost_usd"] == pytest.approx(all_rows["cost"], rel=1e-9)
    assert report["prompt_tokens"] == all_rows["p"]
    top = {k["key_id"]: k for k in report["top_keys"]}
    assert top[key["id"]]["name"] == "shared-budget" and top[key["id"]]["cost_usd"] == pytest.approx(spent, rel=1e-9)
    listed = {k["id"]: k for k in json.loads(gw1.cli("keys", "list", "--json").stdout)}
    assert listed[key["id"]]["spent_usd"] == pytest.approx(spent, rel=1e-9)


def test_rpm_is_shared_across_replicas(replicas, postgres, slow_sim):
    gw1, gw2 = replicas
    key = new_key(gw2, "shared-rpm", "--rpm", "5")
    avoid_minute_boundary(margin=6)
    results = [send((gw1, gw2)[i % 2].url, key["key"], stream=bool(i % 3 == 2)) for i in range(10)]
    ok = [r for r in results if r["status"] == 200]
    limited = [r for r in results if r["status"] == 429]
    assert len(ok) == 5, [(r["status"], r["code"]) for r in results]
    assert len(limited) == 5
    assert all(r["code"] == "rate_limit_exceeded" for r in limited), limited
    # alternating replicas: per-process counting would have admitted all 10
    wanted = {r["id"] for r in ok}
    wait_for(lambda: wanted <= ids_in(postgres, key["id"]), timeout=15, what="rows of the admitted requests")


def test_revocation_reaches_every_replica(replicas, postgres, slow_sim):
    gw1, gw2 = replicas
    key = new_key(gw1, "revoked-everywhere")
    assert send(gw1.url, key["key"], stream=False)["status"] == 200
    assert send(gw2.url, key["key"], stream=False)["status"] == 200
    gw2.cli("keys", "revoke", key["id"])
    assert postgres.query(f"SELECT revoked_at FROM api_keys WHERE id = {sql_quote(key['id'])}")[0]["revoked_at"] is not None
    time.sleep(0.4)  # both replicas cache keys for 200 ms (accounting.key_cache)
    for gw in (gw1, gw2):
        r = send(gw.url, key["key"], stream=False)
        assert r["status"] == 401 and r["code"] == "api_key_revoked", r
    # No plaintext key in the database: only the hash of the secret.
    secret = key["key"].rsplit("-", 1)[1]
    stored = postgres.query(f"SELECT secret_hash FROM api_keys WHERE id = {sql_quote(key['id'])}")[0]["secret_hash"]
    assert stored == hashlib.sha256(secret.encode()).hexdigest()


def test_sigterm_finishes_in_flight_requests_and_flushes(gateway_factory):
    """A slow upstream holds 10 requests in flight; SIGTERM; every one of them completes with
    200 and is in the request log after the process exits 0. The flush interval is long, so
    only the shutdown flush can have written the rows."""
    sim = Sim("openai", "--latency-ms", "1200")
    try:
        cfg = replica_config("switchyard.db", sim.url, flush="30s").replace(
            "auth: {require_keys: true}\n", "")
        gw = gateway_factory(cfg, SIM_ENV)
        n = 10
        results: list[dict | BaseException] = [None] * n  # type: ignore[list-item]

        def worker(i: int) -> None:
            try:
                results[i] = send(gw.url, "unused", stream=bool(i % 2), include_usage=bool(i % 4 == 1))
            except BaseException as e:  # noqa: BLE001 - reported below
                results[i] = e

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        wait_for(lambda: len(sim.requests()) == n, timeout=10, interval=0.02, what="all requests upstream")
        started = time.time()
        code = gw.sigterm(timeout=30)
        for t in threads:
            t.join(30)
        assert code == 0, gw.logs()[-3000:]
        assert time.time() - started < 20
        failed = [r for r in results if not isinstance(r, dict) or r["status"] != 200]
        assert not failed, failed
        assert all(r["text"] == "Echo: hello there" for r in results), results
        db = SqliteDB(Path(gw.dir) / "switchyard.db")
        logged = {r["id"]: r for r in db.query("SELECT * FROM request_log")}
        missing = [r["id"] for r in results if r["id"] not in logged]
        assert not missing, (missing, sorted(logged))
        assert all(logged[r["id"]]["status"] == 200 and logged[r["id"]]["cost_usd"] > 0 for r in results)
    finally:
        sim.stop()
