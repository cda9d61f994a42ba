"""Every Kubernetes manifest parses, and the workloads have probes, resources and no literal secrets."""

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
SERVICES = {"threads": 8001, "blocking": 8002, "announcements": 8003, "notify": 8004}
KINDS = {
    "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Job",
    "ConfigMap", "Namespace", "Kustomization",
    "Kafka", "KafkaNodePool", "KafkaUser", "MongoDBCommunity",
}  # fmt: skip
# Environment variables that hold secrets: they must come from a Secret.
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|_KEYS$|_KEY$|MONGODB_URL|CREDENTIAL")


def documents() -> list[tuple[Path, dict[str, Any]]]:
    found = []
    for path in sorted(K8S.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc is not None:
                found.append((path, doc))
    return found


def by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {
        d["metadata"]["name"]: d
        for path, d in documents()
        if isinstance(d, dict) and d.get("kind") == kind and "examples" not in path.parts
    }


def containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    spec = workload["spec"]["template"]["spec"]
    return list(spec["containers"]) + list(spec.get("initContainers", []))


def test_every_manifest_parses_and_has_a_known_kind() -> None:
    docs = documents()
    assert len(docs) > 15
    for path, doc in docs:
        if isinstance(doc, list):  # a JSON patch
            assert all("op" in op and "path" in op for op in doc), path
            continue
        assert doc.get("kind") in KINDS, (path, doc.get("kind"))
        if doc["kind"] != "Kustomization":
            assert doc.get("apiVersion") and doc.get("metadata", {}).get("name"), path


def test_kustomizations_list_only_files_that_exist() -> None:
    for path in K8S.rglob("kustomization.yaml"):
        doc = yaml.safe_load(path.read_text())
        for entry in doc.get("resources", []):
            assert (path.parent / entry).exists(), (path, entry)
        for generator in doc.get("configMapGenerator", []):
            for file in generator.get("files", []):
                assert (path.parent / file).exists(), (path, file)
        for patch in doc.get("patches", []):
            assert (path.parent / patch["path"]).exists(), (path, patch)


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_each_service_has_deployment_service_autoscaler_and_disruption_budget(
    service: str,
) -> None:
    deployment = by_kind("Deployment")[service]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert by_kind("Service")[service]["spec"]["ports"][0]["port"] == SERVICES[service]
    hpa = by_kind("HorizontalPodAutoscaler")[service]
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": service,
    }
    assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    pdb = by_kind("PodDisruptionBudget")[service]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/path"] == "/metrics"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_service_probes_use_the_health_endpoints(service: str) -> None:
    [container] = containers(by_kind("Deployment")[service])
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["startupProbe"]["httpGet"]["path"] == "/health/live"


def test_every_workload_container_has_requests_and_limits() -> None:
    workloads = {**by_kind("Deployment"), **by_kind("Job")}
    assert {"gateway", "messaging-topics", *SERVICES} <= set(workloads)
    for name, workload in workloads.items():
        for container in containers(workload):
            resources = container["resources"]
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources[bound]), (name, bound)
            assert container["securityContext"]["allowPrivilegeEscalation"] is False


def test_secrets_come_only_from_secret_references() -> None:
    for path, doc in documents():
        if not isinstance(doc, dict):
            continue
        assert doc.get("kind") != "Secret", f"{path}: a Secret with data does not belong here"
        if doc.get("kind") == "ConfigMap":
            for key in doc.get("data", {}):
                assert not SECRET_NAME.search(key) or key.endswith("_ACTIVE_KEY"), (path, key)
        if doc.get("kind") in {"Deployment", "Job"}:
            for container in containers(doc):
                for var in container.get("env", []):
                    if SECRET_NAME.search(var["name"]):
                        assert "value" not in var, (path, var["name"])
                        assert var["valueFrom"]["secretKeyRef"]["name"], (path, var["name"])


def test_topic_job_creates_the_topics() -> None:
    job = by_kind("Job")["messaging-topics"]
    [container] = containers(job)
    assert container["command"] == ["python", "-m", "shared.topics"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] in {"OnFailure", "Never"}


def test_gateway_config_is_the_one_in_deploy_gateway() -> None:
    for name in ("nginx.conf", "routes.conf", "tls.conf"):
        copy = K8S / "base" / "gateway" / name
        assert copy.read_text() == (ROOT / "deploy" / "gateway" / name).read_text(), name
    [nginx] = containers(by_kind("Deployment")["gateway"])
    assert nginx["readinessProbe"]["httpGet"]["path"] == "/gateway/health"
