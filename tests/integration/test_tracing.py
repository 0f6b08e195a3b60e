"""OTLP tracing end to end: the gateway exports one server span per request and one client
span per upstream attempt to an OTLP/HTTP receiver, decoded with the official
opentelemetry-proto messages."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from openai import OpenAI
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from configs import SIM_ENV, config, sim_models
from conftest import wait_for


class Collector:
    """A minimal OTLP/HTTP trace receiver (protobuf bodies on POST /v1/traces)."""

    def __init__(self):
        self.spans = []
        self.paths = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                collector.paths.append((self.path, self.headers.get("content-type")))
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                for resource_spans in request.resource_spans:
                    service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}.get("service.name")
                    for scope in resource_spans.scope_spans:
                        for span in scope.spans:
                            collector.spans.append((service, span))
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


def attrs(span) -> dict:
    out = {}
    for a in span.attributes:
        v = a.value
        out[a.key] = v.string_value if v.HasField("string_value") else v.int_value if v.HasField("int_value") else v.double_value if v.HasField("double_value") else v.bool_value
    return out


def test_request_and_attempt_spans_reach_an_otlp_collector(fresh_sims, gateway_factory):
    collector = Collector()
    try:
        fresh_sims["openai"].faults({"status": 500, "count": 1})
        extra = f"\ntracing: {{otlp_endpoint: {collector.url}, service_name: sy-test}}\n"
        gw = gateway_factory(config(sim_models(fresh_sims), extra), env=SIM_ENV)
        client = OpenAI(base_url=gw.url + "/v1", api_key="unused", max_retries=0)
        trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
        response = client.chat.completions.with_raw_response.create(
            model="oai", messages=[{"role": "user", "content": "trace me"}], max_tokens=5,
            extra_headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"})
        assert response.http_response.status_code == 200
        request_id = response.headers["x-request-id"]
        assert wait_for(lambda: any(s.kind == s.SPAN_KIND_SERVER for _, s in collector.spans), timeout=15)
        wait_for(lambda: len(collector.spans) >= 3, timeout=5)
        assert all(path == "/v1/traces" and ctype == "application/x-protobuf" for path, ctype in collector.paths)
        server = [s for _, s in collector.spans if s.kind == s.SPAN_KIND_SERVER]
        clients = [s for _, s in collector.spans if s.kind == s.SPAN_KIND_CLIENT]
        assert {svc for svc, _ in collector.spans} == {"sy-test"}
        assert len(server) == 1
        root = server[0]
        assert root.name == "chat oai"
        # The request joined the caller's trace (W3C traceparent).
        assert root.trace_id.hex() == trace_id
        a = attrs(root)
        assert a["gen_ai.request.model"] == "oai" and a["gen_ai.response.model"] == "oai"
        assert a["gen_ai.usage.input_tokens"] > 0 and a["gen_ai.usage.output_tokens"] > 0
        assert a["http.response.status_code"] == 200
        assert a["switchyard.request_id"] == request_id
        # The first attempt got the injected 500 and was retried: two client spans, children of the request.
        assert len(clients) == 2
        assert all(c.trace_id == root.trace_id and c.parent_span_id == root.span_id for c in clients)
        assert all(c.name == "upstream oai" for c in clients)
        codes = sorted(attrs(c)["http.response.status_code"] for c in clients)
        assert codes == [200, 500]
        failed = [c for c in clients if attrs(c)["http.response.status_code"] == 500][0]
        assert failed.status.code == failed.status.STATUS_CODE_ERROR
        assert all(attrs(c)["gen_ai.request.model"] == "gpt-sim" for c in clients)
    finally:
        collector.stop()


def test_refused_requests_get_error_spans(fresh_sims, gateway_factory):
    collector = Collector()
    try:
        extra = f"\ntracing: {{otlp_endpoint: {collector.url}}}\n"
        gw = gateway_factory(config(sim_models(fresh_sims), extra), env=SIM_ENV)
        r = httpx.post(gw.url + "/v1/chat/completions", json={"model": "nope", "messages": [{"role": "user", "content": "x"}]})
        assert r.status_code == 404
        assert wait_for(lambda: len(collector.spans) >= 1, timeout=15)
        _, span = collector.spans[0]
        assert span.status.code == span.status.STATUS_CODE_ERROR
        assert attrs(span)["http.response.status_code"] == 404
        assert attrs(span)["switchyard.request_id"] == r.headers["x-request-id"]
    finally:
        collector.stop()
