"""`harness serve` against a real HTTP server on 127.0.0.1, with a real HTTP client (urllib):
Argo Rollouts web-metric reads, Flagger webhooks, gate triggers, bearer-token auth."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from readiness_fixtures import make_run

from harness.service.server import check_binding, make_app, serving
from harness.service.verdicts import VerdictService

PHASE = "phase_1_parallel_testing"
GOOD = "20260101T000000Z-aaaaaaa"
BAD = "20260102T000000Z-bbbbbbb"  # newer, and the candidate loses events


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve") / "runs"
    make_run(root, GOOD)
    make_run(root, BAD, missing=40)
    return root


def _call(url, *, body=None, token=None, method=None):
    data = (
        None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    )
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read()), dict(resp.headers)
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read()), dict(err.headers)


def test_argo_web_metric_reads_the_verdict_of_a_named_run_and_of_the_latest(runs):
    with serving(make_app(VerdictService(runs))) as srv:
        code, doc, _ = _call(f"{srv.url}/api/v1/verdict?run={GOOD}&phase={PHASE}")
        assert code == 200 and doc["verdict"] == "pass" and doc["run"] == GOOD
        assert doc["gated_phase"] == PHASE and doc["check_results"]["missing_events"] == "PASS"
        assert all(c["status"] in ("PASS", "SKIP", "INFO") for c in doc["checks"]), doc["checks"]
        # the latest complete run of the recording is the failing one: a failed verdict is still
        # HTTP 200 (Argo's successCondition `result.verdict == "pass"` then fails the analysis)
        code, doc, _ = _call(f"{srv.url}/api/v1/verdict?recording=synthetic&phase={PHASE}")
        assert code == 200 and doc["run"] == BAD and doc["verdict"] == "fail"
        assert doc["check_results"]["missing_events"] == "FAIL"
        code, doc, _ = _call(
            f"{srv.url}/api/v1/verdict?recording=synthetic&candidate=other:stack&phase={PHASE}"
        )
        assert code == 404 and "no complete run of recording synthetic" in doc["error"]
        code, doc, _ = _call(f"{srv.url}/api/v1/verdict?run={GOOD}")
        assert code == 400 and "states no rollout phase" in doc["error"]
        code, doc, _ = _call(f"{srv.url}/api/v1/verdict?run=../../etc&phase={PHASE}")
        assert code == 400, doc  # a path is never a run id
        code, doc, _ = _call(f"{srv.url}/api/v1/verdict?run={GOOD}&phase=phase_9")
        assert code == 400 and "phase_9" in doc["error"]


def test_flagger_webhook_answers_200_on_pass_and_412_on_fail(runs):
    payload = {"name": "tickstock", "namespace": "md", "phase": "Progressing", "checksum": "x1"}
    with serving(make_app(VerdictService(runs))) as srv:
        url = f"{srv.url}/flagger/gate"
        code, doc, _ = _call(url, body={**payload, "metadata": {"run": GOOD, "phase": PHASE}})
        assert code == 200 and doc["verdict"] == "pass"
        assert doc["canary"] == {
            "name": "tickstock",
            "namespace": "md",
            "phase": "Progressing",
            "checksum": "x1",
        }
        code, doc, _ = _call(
            url, body={**payload, "metadata": {"recording": "synthetic", "phase": PHASE}}
        )
        assert code == 412 and doc["verdict"] == "fail" and doc["run"] == BAD
        assert _call(url, body=b"{not json")[0] == 400
        assert _call(url, body={**payload, "metadata": {}})[0] == 400
        assert (
            _call(
                url,
                body={**payload, "metadata": {"run": "20990101T000000Z-fffffff", "phase": PHASE}},
            )[0]
            == 404
        )


def test_post_gate_gates_now_and_writes_verdict_and_junit(runs):
    (runs / GOOD / "verdict.json").unlink(missing_ok=True)
    with serving(make_app(VerdictService(runs))) as srv:
        code, doc, _ = _call(f"{srv.url}/api/v1/gate", body={"run": GOOD, "phase": PHASE})
    assert code == 200 and doc["verdict"] == "pass"
    stored = json.loads((runs / GOOD / "verdict.json").read_text())
    assert stored["verdict"] == "pass" and stored["phase"] == PHASE
    assert (runs / GOOD / "junit.xml").read_text().count("<testcase") == len(doc["checks"])


def test_a_token_guards_every_route_but_healthz(runs):
    with serving(make_app(VerdictService(runs), token="s3cret-token")) as srv:
        q = f"{srv.url}/api/v1/verdict?run={GOOD}&phase={PHASE}"
        code, doc, headers = _call(q)
        assert code == 401 and doc["error"] == "missing bearer token"
        assert headers["WWW-Authenticate"].startswith("Bearer")
        assert _call(q, token="wrong")[:2] == (401, {"error": "wrong bearer token"})
        assert (
            _call(f"{srv.url}/flagger/gate", body={"metadata": {"run": GOOD}}, token="nope")[0]
            == 401
        )
        assert _call(q, token="s3cret-token")[0] == 200
        flagger = {"metadata": {"run": GOOD, "phase": PHASE, "token": "s3cret-token"}}
        code, doc, _ = _call(f"{srv.url}/flagger/gate", body=flagger)
        assert code == 200 and "s3cret-token" not in json.dumps(doc)
        flagger["metadata"]["token"] = "guess"
        assert _call(f"{srv.url}/flagger/gate", body=flagger)[0] == 401
        assert _call(f"{srv.url}/healthz") == (
            200,
            {"status": "ok"},
            _call(f"{srv.url}/healthz")[2],
        )


def test_binding_off_loopback_needs_a_token():
    check_binding("127.0.0.1", None, "T")
    check_binding("::1", None, "T")
    check_binding("0.0.0.0", "tok", "T")
    with pytest.raises(
        Exception, match=r"--host 0.0.0.0 is not loopback: set a bearer token in \$T"
    ):
        check_binding("0.0.0.0", None, "T")


def test_cli_serves_until_sigterm_and_never_prints_the_token(runs):
    env = {**os.environ, "HARNESS_SERVE_TOKEN": "tok-123-secret"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "serve", "--port", "0", "--runs-dir", str(runs)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        first = proc.stdout.readline()
        assert "serving verdicts of runs under" in first and "$HARNESS_SERVE_TOKEN" in first, first
        url = first.split(" on ")[1].split(" ")[0]
        assert url.startswith("http://127.0.0.1:")
        assert _call(f"{url}/api/v1/verdict?run={GOOD}&phase={PHASE}")[0] == 401
        code, doc, _ = _call(
            f"{url}/api/v1/verdict?run={GOOD}&phase={PHASE}", token="tok-123-secret"
        )
        assert code == 200 and doc["verdict"] == "pass"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "stopped" in out and "tok-123-secret" not in out + err + first
    refused = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness",
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            "0",
            "--token-env",
            "NO_SUCH_TOKEN_VAR",
            "--runs-dir",
            str(runs),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 5 and "is not loopback" in refused.stderr
