"""The Helm chart and the Dockerfile, checked without a cluster: Helm's own lint and render (the
Helm Go library, through helm-python-sdk), every rendered object validated against the
Kubernetes schemas (kubernetes-validate), values.schema.json, and the commands the image runs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from helm_python.chart import Chart, lint
from kubernetes_validate import validate

from cachemeter.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[1]
CHART = ROOT / "helm" / "cachemeter"
KUBE_VERSION = "1.30.0"
CUSTOM_KINDS = {"ServiceMonitor", "PrometheusRule", "Cluster"}
VARIANTS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "everything": {
        "ingress": {"enabled": True, "className": "nginx", "tls": [{"hosts": ["cm.example"]}]},
        "cloudnativepg": {"enabled": True, "instances": 3},
        "api": {"autoscaling": {"enabled": True}},
        "dashboard": {"autoscaling": {"enabled": True}, "podDisruptionBudget": {"enabled": True}},
        "collectors": {"openai": {"enabled": True}, "anthropic": {"enabled": True}},
        "maintenance": {"retentionMonths": 13, "retentionRawDays": 30},
        "metrics": {"serviceMonitor": {"enabled": True}, "prometheusRule": {"enabled": True}},
    },
    "api-only": {
        "dashboard": {"enabled": False},
        "ingress": {"enabled": True},
        "grafana": {"dashboard": {"enabled": False}},
        "maintenance": {"enabled": False},
        "migrations": {"enabled": False},
        "serviceAccount": {"create": False, "name": "existing"},
    },
}


def _render(values: dict[str, Any]) -> list[dict[str, Any]]:
    chart = Chart.load(CHART)
    manifests = chart.render(values, name="cm", namespace="llm", is_install=True)
    objects = []
    for path, text in manifests.items():
        if path.endswith("NOTES.txt"):
            continue
        objects += [doc for doc in yaml.safe_load_all(text) if doc]
    return objects


def _by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = obj["spec"]
    if obj["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    containers: list[dict[str, Any]] = spec["template"]["spec"]["containers"]
    return containers


def _commands() -> set[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return set(sub.choices)  # type: ignore[arg-type]


@pytest.mark.parametrize("variant", VARIANTS)
def test_chart_lints_clean_with_each_variant(variant: str) -> None:
    report = lint(CHART, VARIANTS[variant], strict=True, kube_version=f"v{KUBE_VERSION}")
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


@pytest.mark.parametrize("variant", VARIANTS)
def test_rendered_objects_are_valid_kubernetes(variant: str) -> None:
    objects = _render(VARIANTS[variant])
    assert objects
    for obj in objects:
        assert obj["metadata"]["name"]
        labels = obj["metadata"].get("labels", {})
        for label in ("name", "instance", "component", "version", "managed-by"):
            assert f"app.kubernetes.io/{label}" in labels, (obj["kind"], label)
        if obj["kind"] in CUSTOM_KINDS:
            continue  # no published schema; checked by the tests below
        validate(obj, KUBE_VERSION, strict=True)


def test_default_workloads_are_probed_non_root_and_secret_free() -> None:
    objects = _render({})
    deployments = {d["metadata"]["name"]: d for d in _by_kind(objects, "Deployment")}
    assert set(deployments) == {"cm-cachemeter-api", "cm-cachemeter-dashboard"}
    commands = _commands()
    workloads = [*deployments.values(), *_by_kind(objects, "Job"), *_by_kind(objects, "CronJob")]
    for workload in workloads:
        pod = (
            workload["spec"]["jobTemplate"]["spec"]["template"]["spec"]
            if workload["kind"] == "CronJob"
            else workload["spec"]["template"]["spec"]
        )
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in _containers(workload):
            assert container["args"][0] in commands, container["args"]
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            env = {e["name"]: e for e in container["env"]}
            # The database URL (and so its password) only ever comes from a Secret.
            assert set(env["DATABASE_URL"]) == {"name", "valueFrom"}
            assert not any("password" in str(e.get("value", "")).lower() for e in env.values())
    for deployment in deployments.values():
        [container] = _containers(deployment)
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert float(env["CACHEMETER_SHUTDOWN_TIMEOUT_SECONDS"]) < grace
    [job] = _by_kind(objects, "Job")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert _containers(job)[0]["args"] == ["migrate"]
    [maintenance] = _by_kind(objects, "CronJob")
    assert _containers(maintenance)[0]["args"] == ["retention"]


def test_a_tls_ingress_makes_the_session_cookie_secure() -> None:
    tls = {"ingress": {"enabled": True, "tls": [{"hosts": ["cm.example.com"], "secretName": "t"}]}}

    def secure(values: dict[str, Any]) -> set[str | None]:
        return {
            next(
                (
                    e.get("value")
                    for e in c.get("env", [])
                    if e["name"] == "CACHEMETER_SESSION_COOKIE_SECURE"
                ),
                None,
            )
            for d in _by_kind(_render(values), "Deployment")
            for c in _containers(d)
        }

    assert secure(tls) == {"true"}
    assert secure({}) == {None}


def test_everything_variant_wires_prometheus_grafana_and_the_database() -> None:
    objects = _render(VARIANTS["everything"])
    [rule] = _by_kind(objects, "PrometheusRule")
    rules_file = yaml.safe_load((CHART / "files" / "prometheus-rules.yml").read_text())
    assert rule["spec"] == rules_file
    [monitor] = _by_kind(objects, "ServiceMonitor")
    api_service = next(
        s for s in _by_kind(objects, "Service") if s["metadata"]["name"] == "cm-cachemeter-api"
    )
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= api_service["metadata"]["labels"].items()
    assert monitor["spec"]["endpoints"][0]["port"] in {
        p["name"] for p in api_service["spec"]["ports"]
    }
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    [dashboard] = _by_kind(objects, "ConfigMap")
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    shipped = json.loads((CHART / "files" / "grafana-dashboard.json").read_text())
    assert json.loads(dashboard["data"]["cachemeter.json"]) == shipped
    [cluster] = _by_kind(objects, "Cluster")
    assert cluster["apiVersion"] == "postgresql.cnpg.io/v1" and cluster["spec"]["instances"] == 3
    assert (
        "GRANT cachemeter_app TO app"
        in cluster["spec"]["bootstrap"]["initdb"]["postInitApplicationSQL"]
    )
    api = next(d for d in _by_kind(objects, "Deployment") if d["metadata"]["name"].endswith("api"))
    url = next(e for e in _containers(api)[0]["env"] if e["name"] == "DATABASE_URL")
    assert url["valueFrom"]["secretKeyRef"] == {"name": "cm-cachemeter-db-app", "key": "uri"}
    assert "replicas" not in api["spec"]  # the HPA owns it
    assert {
        h["spec"]["scaleTargetRef"]["name"] for h in _by_kind(objects, "HorizontalPodAutoscaler")
    } == {
        "cm-cachemeter-api",
        "cm-cachemeter-dashboard",
    }
    [job] = _by_kind(objects, "Job")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "post-install,pre-upgrade"
    collectors = {c["metadata"]["name"]: c for c in _by_kind(objects, "CronJob")}
    openai = collectors["cm-cachemeter-collect-openai"]
    assert _containers(openai)[0]["args"] == ["collect", "openai", "--tenant", "default"]
    assert openai["spec"]["concurrencyPolicy"] == "Forbid"
    maintenance = collectors["cm-cachemeter-maintenance"]
    assert _containers(maintenance)[0]["args"] == [
        "retention",
        "--months",
        "13",
        "--raw-days",
        "30",
    ]
    [ingress] = _by_kind(objects, "Ingress")
    paths = {
        p["path"]: p["backend"]["service"]["name"]
        for p in ingress["spec"]["rules"][0]["http"]["paths"]
    }
    assert paths == {"/v1": "cm-cachemeter-api", "/dashboard": "cm-cachemeter-dashboard"}


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"image": {"pullPolicy": "Sometimes"}}, "pullPolicy"),
        ({"api": {"replicas": -1}}, "replicas"),
        ({"database": {"password": "hunter2"}}, "password"),
        ({"config": {"CACHEMETER_SECRET_KEY": "inline"}}, "CACHEMETER_SECRET_KEY"),
        ({"podSecurityContext": {"runAsNonRoot": False}}, "runAsNonRoot"),
        ({"collectors": {"openai": {"schedule": "every hour"}}}, "schedule"),
        ({"ingress": {"enabled": "yes"}}, "enabled"),
        ({"terminationGracePeriodSeconds": 3}, "terminationGracePeriodSeconds"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_values_schema_rejects_bad_values(values: dict[str, Any], field: str) -> None:
    chart = Chart.load(CHART)
    chart.validate_schema({})  # the defaults pass
    with pytest.raises(Exception, match=field):
        chart.validate_schema(values)


def _value_paths(values: Any, prefix: str = "") -> set[str]:
    paths = {prefix} if prefix else set()
    if isinstance(values, dict):
        for key, child in values.items():
            paths |= _value_paths(child, f"{prefix}.{key}" if prefix else key)
    return paths


def test_every_value_a_template_reads_is_defined() -> None:
    defined = _value_paths(yaml.safe_load((CHART / "values.yaml").read_text()))
    templates = "\n".join(p.read_text() for p in (CHART / "templates").iterdir())
    used = set(re.findall(r"\.Values\.([A-Za-z0-9_.]+)", templates))
    assert used and {u.rstrip(".") for u in used} <= defined
    # The shared workload template reads `.spec.x` from both the api and dashboard blocks.
    workload = (CHART / "templates" / "_workload.tpl").read_text()
    for path in set(re.findall(r"\.spec\.([A-Za-z0-9_.]+)", workload)):
        for component in ("api", "dashboard"):
            assert f"{component}.{path}" in defined, (component, path)


def test_dockerfile_is_multi_stage_non_root_and_runs_the_cli() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM python:3\.\d+-slim", dockerfile, re.M)) == 2
    [user] = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert user.split(":")[0] not in ("0", "root") and user.split(":")[0].isdigit()
    assert re.search(r'^ENTRYPOINT \["cachemeter"\]', dockerfile, re.M)
    [cmd] = re.findall(r'^CMD \["(\w+)"\]', dockerfile, re.M)
    assert cmd in _commands()
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'cachemeter = "cachemeter.cli:main"' in pyproject
    for source in re.findall(r"^COPY (?!--)(\S+)", dockerfile, re.M):
        assert (ROOT / source).exists(), source
    # Every role the chart gives the image is a CLI command.
    assert {"serve", "dashboard", "migrate", "collect", "retention", "keys"} <= _commands()
