"""Gateway configurations used by the end-to-end tests."""

from __future__ import annotations


def sim_models(sims, *, first_byte: str = "3s", idle: str = "2s", retries: int = 1,
               backoff: str = "20ms") -> str:
    o, a, g = sims["openai"], sims["anthropic"], sims["gemini"]
    common = (f"    timeouts: {{connect: 1s, first_byte: {first_byte}, idle: {idle}, total: 20s}}\n"
              f"    retry: {{max_retries: {retries}, initial_backoff: {backoff}, max_backoff: 100ms, max_retry_after: 2s}}\n")
    return f"""
  - name: oai
    provider: openai
    base_url: {o.url}/v1
    upstream_model: gpt-sim
    api_key: ${{OPENAI_API_KEY}}
    openness: closed
    hosting: cloud
    price: {{input_per_mtok: 1, output_per_mtok: 2}}
{common}
  - name: claude
    provider: anthropic
    base_url: {a.url}
    upstream_model: claude-sim
    api_key: ${{ANTHROPIC_API_KEY}}
    openness: closed
    hosting: cloud
    price: {{input_per_mtok: 15, output_per_mtok: 75}}
{common}
  - name: gem
    provider: gemini
    base_url: {g.url}
    upstream_model: gemini-sim
    api_key: ${{GEMINI_API_KEY}}
    openness: closed
    hosting: cloud
{common}
"""


SIM_ENV = {"OPENAI_API_KEY": "sk-test-key-123", "ANTHROPIC_API_KEY": "sk-ant-test-key", "GEMINI_API_KEY": "gm-test-key"}


def config(models: str, extra: str = "") -> str:
    return "server: {host: 127.0.0.1, port: 0}\nreliability: {breaker_failure_threshold: 3, breaker_cooldown: 30s}\nmodels:" + models + extra
