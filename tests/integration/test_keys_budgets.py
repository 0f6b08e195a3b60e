"""Virtual keys, budgets, rate limits, the admin API, reports and /metrics, end to end on
SQLite. Keys are made with the CLI (`switchyard keys create`) and the admin API; the
upstreams are the OpenAI simulator (priced high so budgets run out in a few requests) and
the real llama.cpp server (the open/local model a degrading budget falls back to)."""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from pathlib import Path

import httpx
import openai
import pytest

from conftest import SqliteDB, avoid_minute_boundary, sql_quote, wait_for
from configs import SIM_ENV

ADMIN = "admin-token-for-tests-0123"
ENV = {**SIM_ENV, "SWITCHYARD_ADMIN_TOKEN": ADMIN}
KEY_RE = re.compile(r"^sk-sy-([0-9a-f]{12})-([0-9A-Za-z]{40})$")
KEY_FIELDS = {"id", "key", "name", "profile", "budget_usd", "budget_period", "rpm", "tpm", "created_at"}
LIST_FIELDS = {"id", "name", "profile", "budget_usd", "budget_period", "rpm", "tpm", "created_at", "revoked_at",
               "spent_usd"}
KEY_CACHE_S = 0.2

# USD per million tokens. oai is expensive on purpose: one request costs cents.
OAI_IN, OAI_OUT = 2000.0, 4000.0
REF_IN, REF_OUT = 5000.0, 8000.0
MSG = "hello there"
MAX_TOKENS = 10
# simulator usage for MSG: 2 words + 3 prompt tokens; "Echo: hello there" = 3 completion tokens
REQUEST_COST = (5 * OAI_IN + 3 * OAI_OUT) / 1e6


def reservation(messages: list[str], max_tokens: int, priciest_per_mtok: float) -> float:
    """An upper bound of the gateway's reservation: its prompt estimate (ceil(UTF-8 bytes / 3)
    + 8 per message + 8) plus max output tokens, all at the priciest per-token price."""
    est_prompt = math.ceil(sum(len(m.encode()) for m in messages) / 3) + 8 * len(messages) + 8
    return (est_prompt + max_tokens) * priciest_per_mtok / 1e6


MAX_RESERVATION = reservation([MSG], MAX_TOKENS, max(OAI_IN, OAI_OUT))
# What the gateway reserves exactly: the prompt estimate at the input price, max_tokens at the output price.
EXACT_RESERVATION = ((math.ceil(len(MSG.encode()) / 3) + 8 + 8) * OAI_IN + MAX_TOKENS * OAI_OUT) / 1e6


def keys_config(sims, llama) -> str:
    return f"""
server: {{host: 127.0.0.1, port: 0}}
database: {{url: switchyard.db, flush_interval: 100ms}}
admin: {{token: "${{SWITCHYARD_ADMIN_TOKEN}}"}}
auth: {{require_keys: true}}
accounting: {{reference_model: ref, key_cache: 200ms}}
routing:
  default_profile: balanced
  profiles:
    - {{name: frugal, on_budget_exceeded: degrade}}
models:
  - name: oai
    provider: openai
    base_url: {sims['openai'].url}/v1
    upstream_model: gpt-sim
    api_key: ${{OPENAI_API_KEY}}
    openness: closed
    hosting: cloud
    price: {{input_per_mtok: {OAI_IN}, output_per_mtok: {OAI_OUT}}}
    timeouts: {{connect: 1s, first_byte: 5s, idle: 5s, total: 30s}}
    retry: {{max_retries: 0}}
  - name: local-small
    provider: openai
    base_url: {llama}
    upstream_model: smollm2-135m
    openness: open
    hosting: local
    context_window: 2048
    capabilities: {{tools: false, json_schema: false}}
    price: {{input_per_mtok: 0, output_per_mtok: 0}}
    timeouts: {{connect: 2s, first_byte: 120s, idle: 60s, total: 300s}}
  - name: ref
    provider: openai
    base_url: {sims['openai'].url}/v1
    upstream_model: gpt-ref
    api_key: ${{OPENAI_API_KEY}}
    openness: closed
    hosting: cloud
    price: {{input_per_mtok: {REF_IN}, output_per_mtok: {REF_OUT}}}
"""


@pytest.fixture
def gw(gateway_factory, fresh_sims, llama):
    return gateway_factory(keys_config(fresh_sims, llama), ENV)


def db(gw) -> SqliteDB:
    return SqliteDB(Path(gw.dir) / "switchyard.db")


def admin(token: str = ADMIN) -> dict:
    return {"Authorization": f"Bearer {token}"}


def cli_key(gw, name: str, *opts: str) -> dict:
    r = gw.cli("keys", "create", "--name", name, *opts, "--json")
    created = json.loads(r.stdout)
    assert set(created) >= KEY_FIELDS, created
    m = KEY_RE.match(created["key"])
    assert m, created["key"]
    assert created["id"] == m.group(1)
    assert created["name"] == name
    return created


def chat(gw, key: str | None, *, model: str = "oai", stream: bool = False, content: str = MSG,
         max_tokens: int = MAX_TOKENS, header: str = "authorization") -> httpx.Response:
    headers = {}
    if key is not None:
        headers = {"Authorization": f"Bearer {key}"} if header == "authorization" else {"x-api-key": key}
    body = {"model": model, "messages": [{"role": "user", "content": content}], "max_tokens": max_tokens}
    if stream:
        body["stream"] = True
    r = gw.http.post("/v1/chat/completions", json=body, headers=headers)
    r.read()
    return r


def sse_text(r: httpx.Response) -> str:
    """The concatenated delta contents of an OpenAI-style SSE body."""
    out = []
    for line in r.text.splitlines():
        if line.startswith("data: ") and line != "data: [DONE]":
            chunk = json.loads(line[6:])
            for choice in chunk.get("choices") or []:
                out.append((choice.get("delta") or {}).get("content") or "")
    return "".join(out)


def error_of(r: httpx.Response) -> dict:
    body = r.json()
    assert set(body) == {"error"}, body
    assert {"message", "type", "code", "param"} <= set(body["error"]), body
    return body["error"]


def rows_for_key(gw, key_id: str) -> list[dict]:
    return db(gw).query("SELECT * FROM request_log WHERE key_id = ?", (key_id,))


def wait_rows(gw, ids: list[str]) -> dict[str, dict]:
    """Waits until every request id is in request_log; returns the rows by id."""
    def fetch():
        marks = ",".join("?" * len(ids))
        found = {r["id"]: r for r in db(gw).query(f"SELECT * FROM request_log WHERE id IN ({marks})", tuple(ids))}
        return found if len(found) == len(set(ids)) else None
    return wait_for(fetch, what=f"{len(ids)} request_log rows")


def keys_list_cli(gw) -> list[dict]:
    listed = json.loads(gw.cli("keys", "list", "--json").stdout)
    assert isinstance(listed, list)
    for k in listed:
        assert set(k) >= LIST_FIELDS, k
    return listed


# ---------------------------------------------------------------------------------------


def test_cli_keys_authenticate_by_bearer_and_x_api_key(gw, fresh_sims):
    a = cli_key(gw, "team-a")
    plain = gw.cli("keys", "create", "--name", "team-b").stdout
    lines = [ln for ln in plain.splitlines() if ln.strip()]
    assert len(lines) == 1, plain
    key_b = lines[0].strip()
    m_b = KEY_RE.match(key_b)
    assert m_b, plain

    r1 = chat(gw, a["key"])
    assert r1.status_code == 200, r1.text
    r2 = chat(gw, key_b, header="x-api-key", stream=True)
    assert r2.status_code == 200, r2.text
    assert sse_text(r2) == "Echo: hello there"
    # the official SDK sends its api_key as a Bearer token
    sdk = openai.OpenAI(base_url=gw.url + "/v1", api_key=a["key"], max_retries=0)
    assert sdk.chat.completions.create(model="oai", messages=[{"role": "user", "content": MSG}],
                                       max_tokens=MAX_TOKENS).choices[0].message.content == "Echo: hello there"

    rows = wait_rows(gw, [r1.headers["x-request-id"], r2.headers["x-request-id"]])
    assert rows[r1.headers["x-request-id"]]["key_id"] == a["id"]
    assert rows[r2.headers["x-request-id"]]["key_id"] == m_b.group(1)

    listed = {k["id"]: k for k in keys_list_cli(gw)}
    assert listed[a["id"]]["name"] == "team-a" and listed[m_b.group(1)]["name"] == "team-b"
    assert listed[a["id"]]["revoked_at"] is None
    assert all(k["spent_usd"] >= 0 for k in listed.values())


def test_missing_wrong_and_unknown_keys_are_401(gw, fresh_sims):
    a = cli_key(gw, "real")
    key_id = a["id"]
    cases = {
        "missing": None,
        "not a switchyard key": "sk-some-other-provider-key",
        "unknown id": "sk-sy-" + "0" * 12 + "-" + "A" * 40,
        "wrong secret": f"sk-sy-{key_id}-" + ("B" * 40 if not a["key"].endswith("B" * 40) else "C" * 40),
        "truncated": a["key"][:-1],
    }
    for what, key in cases.items():
        for stream in (False, True):
            r = chat(gw, key, stream=stream)
            assert r.status_code == 401, (what, r.status_code, r.text)
            assert error_of(r)["code"] == "invalid_api_key", (what, r.text)
    assert fresh_sims["openai"].requests() == []
    assert chat(gw, a["key"]).status_code == 200


def test_admin_api_keys_create_list_revoke(gw, fresh_sims):
    # wrong or missing admin token
    for headers in ({}, admin("wrong-token"), {"Authorization": f"Bearer {ADMIN}x"}):
        for method, path, body in (("GET", "/admin/keys", None), ("POST", "/admin/keys", {"name": "x"}),
                                   ("GET", "/admin/report", None), ("DELETE", "/admin/keys/000000000000", None)):
            r = gw.http.request(method, path, json=body, headers=headers)
            assert r.status_code == 401, (method, path, headers, r.status_code, r.text)
            error_of(r)
    r = gw.http.get("/admin/keys", headers=admin())
    assert r.status_code == 200 and r.json()["data"] == [], r.text  # the rejected POST created nothing

    r = gw.http.post("/admin/keys", headers=admin(), json={"name": "svc", "budget": "5/day", "rpm": 100})
    assert r.status_code == 201, r.text
    created = r.json()
    assert set(created) >= KEY_FIELDS, created
    m = KEY_RE.match(created["key"])
    assert m and created["id"] == m.group(1)
    assert created["name"] == "svc" and created["rpm"] == 100
    assert created["budget_usd"] == pytest.approx(5) and created["budget_period"] == "day"

    ok = chat(gw, created["key"])
    assert ok.status_code == 200, ok.text

    listed = gw.http.get("/admin/keys", headers=admin()).json()["data"]
    mine = [k for k in listed if k["id"] == created["id"]]
    assert len(mine) == 1 and set(mine[0]) >= LIST_FIELDS and "key" not in mine[0]
    assert mine[0]["revoked_at"] is None
    assert created["id"] in {k["id"] for k in keys_list_cli(gw)}  # the CLI sees the same database

    assert gw.http.delete("/admin/keys/ffffffffffff", headers=admin()).status_code == 404
    r = gw.http.delete(f"/admin/keys/{created['id']}", headers=admin())
    assert r.status_code == 200, r.text
    assert r.json() == {"id": created["id"], "revoked": True} or (
        r.json()["id"] == created["id"] and r.json()["revoked"] is True)

    time.sleep(KEY_CACHE_S + 0.3)
    for stream in (False, True):
        r = chat(gw, created["key"], stream=stream)
        assert r.status_code == 401, r.text
        assert error_of(r)["code"] == "api_key_revoked"
    listed = gw.http.get("/admin/keys", headers=admin()).json()["data"]
    assert [k for k in listed if k["id"] == created["id"]][0]["revoked_at"] is not None


def test_cli_revoke_takes_effect_after_key_cache(gw, fresh_sims):
    a = cli_key(gw, "to-revoke")
    assert chat(gw, a["key"]).status_code == 200  # now cached by the gateway
    gw.cli("keys", "revoke", a["id"])
    time.sleep(KEY_CACHE_S + 0.4)
    r = chat(gw, a["key"])
    assert r.status_code == 401, r.text
    assert error_of(r)["code"] == "api_key_revoked"
    listed = {k["id"]: k for k in keys_list_cli(gw)}
    assert listed[a["id"]]["revoked_at"] is not None
    assert len(fresh_sims["openai"].requests()) == 1


def test_rpm_limit(gw, fresh_sims):
    a = cli_key(gw, "slow", "--rpm", "2")
    assert a["rpm"] == 2
    avoid_minute_boundary()
    first, second = chat(gw, a["key"]), chat(gw, a["key"], stream=True)
    assert first.status_code == 200 and second.status_code == 200, (first.text, second.text)
    third = chat(gw, a["key"])
    assert third.status_code == 429, third.text
    err = error_of(third)
    assert err["type"] == "rate_limit_error" and err["code"] == "rate_limit_exceeded", err
    retry_after = third.headers.get("retry-after")
    assert retry_after is not None and retry_after.isdigit(), third.headers
    assert 1 <= int(retry_after) <= 60
    assert len(fresh_sims["openai"].requests()) == 2
    # another key is not affected
    assert chat(gw, cli_key(gw, "other")["key"]).status_code == 200


def test_budget_refuses_once_spent(gw, fresh_sims):
    budget = 0.25
    a = cli_key(gw, "capped", "--budget", str(budget))
    assert a["budget_usd"] == pytest.approx(budget)
    accepted: list[str] = []
    refused = None
    for i in range(40):
        r = chat(gw, a["key"], stream=bool(i % 2))
        if r.status_code == 429:
            refused = r
            break
        assert r.status_code == 200, r.text
        accepted.append(r.headers["x-request-id"])
    assert refused is not None, f"never refused after {len(accepted)} requests"
    err = error_of(refused)
    assert err["type"] == "insufficient_quota" and err["code"] == "budget_exceeded", err
    assert len(accepted) >= 2
    # with the spec's reservation the n-th request is admitted iff spent + reservation <= budget
    expected = math.floor((budget - EXACT_RESERVATION) / REQUEST_COST + 1e-9) + 1
    assert len(accepted) == expected, (len(accepted), expected)
    assert chat(gw, a["key"], stream=True).status_code == 429  # stays refused
    assert len(fresh_sims["openai"].requests()) == len(accepted)  # refused requests never went upstream

    rows = wait_rows(gw, accepted)
    spent = sum(r["cost_usd"] for r in rows.values())
    assert all(r["cost_usd"] == pytest.approx(REQUEST_COST, rel=1e-9) for r in rows.values())
    assert spent <= budget + MAX_RESERVATION + 1e-9
    all_rows_spent = sum(r["cost_usd"] for r in rows_for_key(gw, a["id"]))
    assert all_rows_spent == pytest.approx(spent, rel=1e-9)  # refused requests cost nothing

    def settled():
        usage = db(gw).query("SELECT sum(spent_usd) AS s, sum(reserved_usd) AS r FROM budget_usage WHERE key_id = ?",
                             (a["id"],))[0]
        return usage if usage["s"] is not None and abs(usage["r"]) < 1e-12 else None
    usage = wait_for(settled, what="budget_usage settled")
    assert usage["s"] == pytest.approx(spent, rel=1e-9)
    assert usage["s"] <= budget + 1e-9
    listed = {k["id"]: k for k in keys_list_cli(gw)}
    assert listed[a["id"]]["spent_usd"] == pytest.approx(spent, rel=1e-9)


@pytest.mark.parametrize("profile", ["frugal", "budget"])  # a configured profile; the built-in one
def test_budget_degrades_to_local_model(gw, fresh_sims, profile):
    budget = 0.09  # the first request fits (reservation 0.080), the second no longer does
    assert EXACT_RESERVATION <= budget < REQUEST_COST + EXACT_RESERVATION
    a = cli_key(gw, f"{profile}-team", "--profile", profile, "--budget", f"{budget}/month")
    assert a["profile"] == profile and a["budget_period"] == "month"
    c = openai.OpenAI(base_url=gw.url + "/v1", api_key=a["key"], max_retries=0, timeout=120)

    first = c.chat.completions.with_raw_response.create(
        model="oai", messages=[{"role": "user", "content": MSG}], max_tokens=MAX_TOKENS)
    assert first.headers["x-switchyard-model"] == "oai"
    assert "budget:degraded" not in first.headers.get("x-switchyard-decision", "")

    for stream in (False, True):
        raw = c.chat.completions.with_raw_response.create(
            model="oai", messages=[{"role": "user", "content": MSG}], max_tokens=MAX_TOKENS, stream=stream)
        parsed = raw.parse()
        text = ("".join(ch.choices[0].delta.content or "" for ch in parsed if ch.choices) if stream
                else parsed.choices[0].message.content)
        assert raw.headers["x-switchyard-model"] == "local-small", raw.headers
        decision = raw.headers["x-switchyard-decision"]
        assert "budget" in decision and "degraded" in decision, decision
        assert text.strip()
        r = wait_rows(gw, [raw.headers["x-request-id"]])[raw.headers["x-request-id"]]
        assert r["model"] == "local-small" and r["key_id"] == a["id"] and r["cost_usd"] == 0
        assert "budget" in r["decision"]
    assert len(fresh_sims["openai"].requests()) == 1


def test_database_never_holds_key_text(gw, fresh_sims):
    made = [cli_key(gw, "cli-key", "--budget", "1")]
    r = gw.http.post("/admin/keys", headers=admin(), json={"name": "api-key", "budget": "1/week"})
    assert r.status_code == 201
    made.append(r.json())
    for k in made:
        assert chat(gw, k["key"]).status_code == 200
        assert chat(gw, k["key"], stream=True).status_code == 200
    assert chat(gw, made[0]["key"][:-3] + "xyz").status_code == 401
    wait_for(lambda: len(db(gw).query("SELECT id FROM request_log")) >= 4, what="rows flushed")

    stored = {r["id"]: r for r in db(gw).query("SELECT * FROM api_keys")}
    everything = db(gw).all_bytes()
    for k in made:
        secret = KEY_RE.match(k["key"]).group(2)
        assert stored[k["id"]]["secret_hash"] == hashlib.sha256(secret.encode()).hexdigest()
        for text in (k["key"], secret, secret[:20], secret[20:]):
            assert text.encode() not in everything, f"key material {text!r} found in the database files"
    assert (made[0]["key"][:-3] + "xyz").encode() not in everything


def test_report_and_metrics_agree_with_the_log(gw, fresh_sims):
    a = cli_key(gw, "reporter-a")
    b = gw.http.post("/admin/keys", headers=admin(), json={"name": "reporter-b"}).json()
    ids = []
    for i in range(3):
        r = chat(gw, a["key"], stream=(i == 2))
        assert r.status_code == 200, r.text
        ids.append(r.headers["x-request-id"])
    for i in range(2):
        r = chat(gw, b["key"], model="local-small", content="Say hi.", max_tokens=4, stream=(i == 1))
        assert r.status_code == 200, r.text
        ids.append(r.headers["x-request-id"])
    assert chat(gw, "sk-sy-000000000000-" + "Z" * 40).status_code == 401
    wait_rows(gw, ids)
    time.sleep(0.3)  # anything else (e.g. the 401) flushed too
    rows = db(gw).query("SELECT * FROM request_log")
    assert len(rows) >= 5

    r = gw.http.get("/admin/report", params={"since": "1h"}, headers=admin())
    assert r.status_code == 200, r.text
    report = r.json()
    check_report(report, rows, {a["id"]: "reporter-a", b["id"]: "reporter-b"})

    cli = json.loads(gw.cli("report", "--since", "1h", "--json").stdout)
    check_report(cli, rows, {a["id"]: "reporter-a", b["id"]: "reporter-b"})
    for field in ("requests", "errors", "prompt_tokens", "completion_tokens"):
        assert cli[field] == report[field]
    assert gw.cli("report", "--since", "1h").stdout.strip()  # the human-readable form

    # Prometheus metrics: no auth, and consistent with the log
    m = gw.http.get("/metrics")
    assert m.status_code == 200, m.text
    text = m.text
    assert sum_metric(text, "switchyard_requests_total", {"model": "oai"}) == 3, text
    assert sum_metric(text, "switchyard_requests_total", {"model": "local-small"}) == 2
    assert sum_metric(text, "switchyard_requests_total", {"status": "200"}) == 5
    assert "gen_ai_client_token_usage_bucket" in text
    assert sum_metric(text, "gen_ai_client_token_usage_sum", {"gen_ai_token_type": "input"}) == \
        sum(r["prompt_tokens"] for r in rows)
    assert sum_metric(text, "gen_ai_client_token_usage_sum", {"gen_ai_token_type": "output"}) == \
        sum(r["completion_tokens"] for r in rows)
    assert sum_metric(text, "switchyard_cost_usd_total", {}) == pytest.approx(sum(r["cost_usd"] for r in rows),
                                                                               rel=1e-6)
    assert sum_metric(text, "switchyard_savings_usd_total", {}) == pytest.approx(
        sum(r["counterfactual_cost_usd"] - r["cost_usd"] for r in rows), rel=1e-6)
    for name in ("switchyard_gateway_overhead_seconds", "switchyard_upstream_latency_seconds",
                 "gen_ai_server_time_to_first_token_seconds", "switchyard_inter_token_gap_seconds",
                 "gen_ai_server_time_per_output_token_seconds",
                 "switchyard_inflight_requests"):
        assert name in text, name


def check_report(report: dict, rows: list[dict], names: dict[str, str]) -> None:
    for field in ("since", "until", "requests", "errors", "error_rate", "cost_usd", "counterfactual_cost_usd",
                  "savings_usd", "prompt_tokens", "completion_tokens", "tiers", "models", "top_keys"):
        assert field in report, (field, report)
    n = len(rows)
    errors = sum(1 for r in rows if r["status"] >= 400)
    cost_sum = sum(r["cost_usd"] for r in rows)
    cf_sum = sum(r["counterfactual_cost_usd"] for r in rows)
    assert report["requests"] == n
    assert report["errors"] == errors
    assert report["error_rate"] == pytest.approx(errors / n, abs=1e-6)
    assert report["cost_usd"] == pytest.approx(cost_sum, rel=1e-6)
    assert report["counterfactual_cost_usd"] == pytest.approx(cf_sum, rel=1e-6)
    assert report["savings_usd"] == pytest.approx(cf_sum - cost_sum, rel=1e-6, abs=1e-12)
    assert report["savings_usd"] > 0
    assert report["prompt_tokens"] == sum(r["prompt_tokens"] for r in rows)
    assert report["completion_tokens"] == sum(r["completion_tokens"] for r in rows)

    by_model = {m["model"]: m for m in report["models"]}
    for model in ("oai", "local-small"):
        mine = [r for r in rows if r["model"] == model]
        assert by_model[model]["requests"] == len(mine)
        assert by_model[model]["tokens"] == sum(r["prompt_tokens"] + r["completion_tokens"] for r in mine)
        assert by_model[model]["cost_usd"] == pytest.approx(sum(r["cost_usd"] for r in mine), rel=1e-6, abs=1e-12)

    tiers = {(t["openness"], t["hosting"]): t for t in report["tiers"]}
    for (openness, hosting), model in ((("closed", "cloud"), "oai"), (("open", "local"), "local-small")):
        mine = [r for r in rows if r["openness"] == openness and r["hosting"] == hosting]
        t = tiers[(openness, hosting)]
        assert t["requests"] == len(mine)
        assert t["cost_usd"] == pytest.approx(sum(r["cost_usd"] for r in mine), rel=1e-6, abs=1e-12)
        assert t["tokens"] == sum(r["prompt_tokens"] + r["completion_tokens"] for r in mine)
        assert 0 < t["share_requests"] <= 1 and 0 <= t["share_tokens"] <= 1
    assert sum(t["share_requests"] for t in report["tiers"]) <= 1 + 1e-6
    assert tiers[("closed", "cloud")]["share_requests"] > 0 and tiers[("open", "local")]["share_requests"] > 0

    top = {k["key_id"]: k for k in report["top_keys"]}
    for key_id, name in names.items():
        mine = [r for r in rows if r["key_id"] == key_id]
        assert top[key_id]["name"] == name
        assert top[key_id]["requests"] == len(mine)
        assert top[key_id]["cost_usd"] == pytest.approx(sum(r["cost_usd"] for r in mine), rel=1e-6, abs=1e-12)
    costs = [k["cost_usd"] for k in report["top_keys"]]
    assert costs == sorted(costs, reverse=True)


def sum_metric(text: str, name: str, labels: dict[str, str]) -> float:
    """Sum of every sample of metric `name` whose labels include `labels`."""
    total = 0.0
    pattern = re.compile(rf"^{re.escape(name)}(\{{(?P<labels>[^}}]*)\}})?\s+(?P<value>\S+)", re.M)
    for m in pattern.finditer(text):
        have = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group("labels") or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            total += float(m.group("value"))
    return total


def test_client_leaving_mid_stream_is_charged_for_what_was_streamed(gw, fresh_sims):
    """The reservation is settled when the client disconnects mid-stream: to the cost of
    what the upstream produced until then (estimated, as no usage chunk came), never left
    reserved and never zero."""
    a = cli_key(gw, "leaver", "--budget", "5")
    fresh_sims["openai"].faults({"stall_after_chunks": 2, "stall_ms": 5000, "count": 1})
    body = {"model": "oai", "stream": True, "max_tokens": MAX_TOKENS,
            "messages": [{"role": "user", "content": "one two three four five six"}]}
    with httpx.Client(base_url=gw.url, timeout=30) as c:
        with c.stream("POST", "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {a['key']}"}) as r:
            assert r.status_code == 200
            request_id = r.headers["x-request-id"]
            for line in r.iter_lines():
                if line.startswith("data: ") and '"content"' in line:
                    break  # got content; hang up while the upstream stalls
    rows = wait_for(lambda: db(gw).query(f"SELECT * FROM request_log WHERE id = {sql_quote(request_id)}"),
                    timeout=15, what="row of the abandoned stream")
    row = rows[0]
    assert row["stream"] == 1 and row["status"] == 200
    assert row["error"] == "client closed the stream", row
    assert row["usage_source"] == "estimated"
    assert row["completion_tokens"] >= 1 and row["cost_usd"] > 0
    usage = wait_for(lambda: (lambda rs: rs[0] if rs and abs(rs[0]["reserved_usd"]) < 1e-12 else None)(
        db(gw).query(f"SELECT spent_usd, reserved_usd FROM budget_usage WHERE key_id = {sql_quote(a['id'])}")),
        timeout=10, what="reservation released")
    assert usage["spent_usd"] == pytest.approx(row["cost_usd"], rel=1e-9)
    # The upstream request was cancelled rather than left running for the stall.
    assert gw.alive()


def test_expired_keys_are_refused(gw, fresh_sims):
    r = gw.http.post("/admin/keys", json={"name": "short-lived", "expires_in": "0.02m"}, headers=admin())
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["expires_at"] is not None
    assert chat(gw, created["key"]).status_code == 200
    time.sleep(1.5)  # past the expiry (1.2 s) and the key cache (200 ms)
    expired = chat(gw, created["key"])
    assert expired.status_code == 401
    assert error_of(expired)["code"] == "api_key_expired"
    listed = {k["id"]: k for k in keys_list_cli(gw)}
    assert listed[created["id"]]["expires_at"] == created["expires_at"]
    bad = gw.http.post("/admin/keys", json={"name": "x", "expires_in": "soon"}, headers=admin())
    assert bad.status_code == 400 and "expiry" in bad.json()["error"]["message"]
    cli = gw.cli("keys", "create", "--name", "cli-expiring", "--expires", "30d", "--json")
    assert json.loads(cli.stdout)["expires_at"] is not None
