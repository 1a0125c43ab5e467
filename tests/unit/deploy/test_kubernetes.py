"""deploy/k8s: every overlay renders with kustomize and validates against Kubernetes' schemas.

Objects of custom resources (KEDA's ScaledObject, the External Secrets Operator's
ExternalSecret) have no bundled schema; their structure is checked here instead.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
K8S = REPO / "deploy" / "k8s"
KUBERNETES_VERSION = "1.30.0"
SERVICES = {"intake": 8000, "matcher": 8001, "notifier": 8002}
CONSUMERS = ("matcher", "notifier")
CUSTOM_KINDS = {"ScaledObject", "ExternalSecret"}
SECRET_KEYS = {"INTAKE_API_TOKENS", "DATABASE_URL", "NOTIFIER_UNSUBSCRIBE_SECRET"}
# prod with the optional KEDA component, composed in a temporary kustomization.
VARIANTS = ("dev", "prod", "prod+keda")

Manifest = dict[str, Any]


def render(kustomize: Path, variant: str, scratch: Path) -> list[Manifest]:
    if variant == "prod+keda":
        scratch.mkdir(parents=True, exist_ok=True)
        (scratch / "kustomization.yaml").write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "kustomize.config.k8s.io/v1beta1",
                    "kind": "Kustomization",
                    # kustomize takes only relative paths to other kustomizations.
                    "resources": [os.path.relpath(K8S / "overlays" / "prod", scratch)],
                    "components": [os.path.relpath(K8S / "components" / "keda", scratch)],
                }
            )
        )
        directory = scratch
    else:
        directory = K8S / "overlays" / variant
    result = subprocess.run(
        [kustomize, "build", directory], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module")
def rendered(
    kustomize: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, list[Manifest]]:
    scratch = tmp_path_factory.mktemp("kustomize")
    return {variant: render(kustomize, variant, scratch / "keda") for variant in VARIANTS}


def of_kind(manifests: list[Manifest], kind: str) -> dict[str, Manifest]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def containers(manifest: Manifest) -> list[Manifest]:
    spec: list[Manifest] = manifest["spec"]["template"]["spec"]["containers"]
    return spec


def workloads(manifests: list[Manifest]) -> Iterator[Manifest]:
    for manifest in manifests:
        if manifest["kind"] in {"Deployment", "Job"}:
            yield manifest


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_object_is_valid_for_kubernetes(
    rendered: dict[str, list[Manifest]], variant: str
) -> None:
    checked = 0
    for manifest in rendered[variant]:
        if manifest["kind"] in CUSTOM_KINDS:
            continue
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
        checked += 1
    assert checked >= 12


def test_the_validator_rejects_a_broken_object() -> None:
    broken = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {"replicas": "two", "selector": {}, "template": {}},
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("variant", VARIANTS)
def test_each_service_has_its_objects(rendered: dict[str, list[Manifest]], variant: str) -> None:
    manifests = rendered[variant]
    for kind in ("Deployment", "Service", "PodDisruptionBudget"):
        assert set(of_kind(manifests, kind)) >= set(SERVICES), kind
    assert "koppel-setup" in of_kind(manifests, "Job")
    (namespace,) = of_kind(manifests, "Namespace")
    assert {m["metadata"].get("namespace", namespace) for m in manifests} == {namespace}


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_pod_carries_the_part_of_label(
    rendered: dict[str, list[Manifest]], variant: str
) -> None:
    """`kubectl logs -l app.kubernetes.io/part-of=koppel` must find every Koppel pod."""
    ours = {*SERVICES, "koppel-setup"}
    pods = {
        workload["metadata"]["name"]: workload["spec"]["template"]["metadata"]["labels"]
        for workload in workloads(rendered[variant])
        if workload["metadata"]["name"] in ours
    }
    assert set(pods) == ours
    for name, labels in pods.items():
        assert labels.get("app.kubernetes.io/part-of") == "koppel", name


@pytest.mark.parametrize("variant", VARIANTS)
def test_services_route_to_their_pods(rendered: dict[str, list[Manifest]], variant: str) -> None:
    deployments = of_kind(rendered[variant], "Deployment")
    for name, service in of_kind(rendered[variant], "Service").items():
        pod_labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= pod_labels.items()
        if name in SERVICES:
            assert [p["port"] for p in service["spec"]["ports"]] == [SERVICES[name]]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", sorted(SERVICES))
def test_probes_ask_the_health_endpoints(
    rendered: dict[str, list[Manifest]], variant: str, name: str
) -> None:
    (container,) = containers(of_kind(rendered[variant], "Deployment")[name])
    assert container["ports"] == [{"name": "http", "containerPort": SERVICES[name]}]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert {"name": "PORT", "value": str(SERVICES[name])} in container["env"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_pods_are_locked_down(rendered: dict[str, list[Manifest]], variant: str) -> None:
    for workload in workloads(rendered[variant]):
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True
            assert security["allowPrivilegeEscalation"] is False
            assert security["capabilities"]["drop"] == ["ALL"]
            resources = container["resources"]
            assert set(resources["requests"]) == {"cpu", "memory"}
            assert set(resources["limits"]) == {"cpu", "memory"}


@pytest.mark.parametrize("variant", VARIANTS)
def test_images_are_pinned(rendered: dict[str, list[Manifest]], variant: str) -> None:
    for workload in workloads(rendered[variant]):
        for container in containers(workload):
            repository, _, tag = container["image"].rpartition(":")
            assert repository, container["image"]
            assert "/" not in tag
            assert tag not in {"", "latest"}


def test_prod_pulls_released_images_from_a_registry(rendered: dict[str, list[Manifest]]) -> None:
    for workload in workloads(rendered["prod"]):
        for container in containers(workload):
            assert "/" in container["image"].split(":")[0], container["image"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_secret_reference_is_provided(
    rendered: dict[str, list[Manifest]], variant: str
) -> None:
    manifests = rendered[variant]
    provided: dict[str, set[str]] = {
        name: set(secret.get("stringData", {})) | set(secret.get("data", {}))
        for name, secret in of_kind(manifests, "Secret").items()
    }
    for name, external in of_kind(manifests, "ExternalSecret").items():
        provided[external["spec"]["target"]["name"]] = {
            item["secretKey"] for item in external["spec"]["data"]
        }
        assert name == external["spec"]["target"]["name"]
    assert provided.get("koppel-secrets") == SECRET_KEYS
    config_maps = set(of_kind(manifests, "ConfigMap"))
    for workload in workloads(manifests):
        for container in containers(workload):
            for variable in container.get("env", []):
                reference = variable.get("valueFrom", {}).get("secretKeyRef")
                if reference:
                    assert reference["key"] in provided[reference["name"]]
                    assert reference["key"] == variable["name"]
            for source in container.get("envFrom", []):
                assert source["configMapRef"]["name"] in config_maps


def test_prod_takes_its_secret_from_an_external_store(rendered: dict[str, list[Manifest]]) -> None:
    assert "koppel-secrets" not in of_kind(rendered["prod"], "Secret")
    external = of_kind(rendered["prod"], "ExternalSecret")["koppel-secrets"]
    assert external["apiVersion"] == "external-secrets.io/v1"
    assert external["spec"]["secretStoreRef"]["name"]


def test_the_base_secret_holds_only_placeholders(rendered: dict[str, list[Manifest]]) -> None:
    secret = of_kind(rendered["dev"], "Secret")["koppel-secrets"]
    assert all("change-me" in value for value in secret["stringData"].values())


@pytest.mark.parametrize("variant", VARIANTS)
def test_services_get_only_the_secrets_they_read(
    rendered: dict[str, list[Manifest]], variant: str
) -> None:
    def secret_keys(container: Manifest) -> set[str]:
        return {
            variable["name"]
            for variable in container.get("env", [])
            if "secretKeyRef" in variable.get("valueFrom", {})
        }

    deployments = of_kind(rendered[variant], "Deployment")
    assert secret_keys(containers(deployments["intake"])[0]) == {"INTAKE_API_TOKENS"}
    assert secret_keys(containers(deployments["matcher"])[0]) == {"DATABASE_URL"}
    assert secret_keys(containers(deployments["notifier"])[0]) == {
        "DATABASE_URL",
        "NOTIFIER_UNSUBSCRIBE_SECRET",
    }


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_config_map_carries_the_domain_settings(
    rendered: dict[str, list[Manifest]], variant: str
) -> None:
    (config,) = of_kind(rendered[variant], "ConfigMap").values()
    assert {
        "KAFKA_BOOTSTRAP_SERVERS",
        "SMTP_HOST",
        "SMTP_PORT",
        "SMTP_FROM",
        "PUBLIC_BASE_URL",
        "WEBHOOK_ALLOW_PRIVATE_TARGETS",
        "LOG_JSON",
    } <= set(config["data"])
    assert not SECRET_KEYS & set(config["data"])
    assert config["data"]["LOG_JSON"] == "true"


def test_prod_refuses_private_webhook_targets_and_dev_allows_them(
    rendered: dict[str, list[Manifest]],
) -> None:
    def setting(variant: str, key: str) -> str:
        (config,) = of_kind(rendered[variant], "ConfigMap").values()
        value: str = config["data"][key]
        return value

    assert setting("prod", "WEBHOOK_ALLOW_PRIVATE_TARGETS") == "false"
    assert setting("prod", "KOPPEL_ENVIRONMENT") == "production"
    assert setting("dev", "WEBHOOK_ALLOW_PRIVATE_TARGETS") == "true"
    assert setting("dev", "KOPPEL_ENVIRONMENT") == "development"


@pytest.mark.parametrize("variant", VARIANTS)
def test_matcher_replicas_name_themselves_after_their_pod(
    rendered: dict[str, list[Manifest]], variant: str
) -> None:
    (container,) = containers(of_kind(rendered[variant], "Deployment")["matcher"])
    instance = next(v for v in container["env"] if v["name"] == "MATCHER_INSTANCE_ID")
    assert instance["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}


@pytest.mark.parametrize("variant", ["dev", "prod"])
def test_cpu_autoscalers_cover_every_service(
    rendered: dict[str, list[Manifest]], variant: str
) -> None:
    autoscalers = of_kind(rendered[variant], "HorizontalPodAutoscaler")
    assert set(autoscalers) == set(SERVICES)
    for name, hpa in autoscalers.items():
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": name,
        }
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    for name in CONSUMERS:
        # A consumer group of 6 partitions keeps a 7th replica idle.
        assert autoscalers[name]["spec"]["maxReplicas"] <= 6


def test_prod_runs_more_and_bigger_replicas_than_dev(rendered: dict[str, list[Manifest]]) -> None:
    dev = of_kind(rendered["dev"], "Deployment")
    prod = of_kind(rendered["prod"], "Deployment")
    for name in SERVICES:
        assert prod[name]["spec"]["replicas"] > dev[name]["spec"]["replicas"]
        assert memory_mib(containers(prod[name])[0]) > memory_mib(containers(dev[name])[0])
        assert "topologySpreadConstraints" in prod[name]["spec"]["template"]["spec"]


def memory_mib(container: Manifest) -> int:
    limit: str = container["resources"]["limits"]["memory"]
    return int(limit.removesuffix("Gi")) * 1024 if limit.endswith("Gi") else int(limit[:-2])


@pytest.mark.parametrize("variant", VARIANTS)
def test_disruption_budgets_let_one_pod_go(
    rendered: dict[str, list[Manifest]], variant: str
) -> None:
    deployments = of_kind(rendered[variant], "Deployment")
    for name, pdb in of_kind(rendered[variant], "PodDisruptionBudget").items():
        assert pdb["spec"]["maxUnavailable"] == 1
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_setup_job_runs_the_setup_image(
    rendered: dict[str, list[Manifest]], variant: str
) -> None:
    job = of_kind(rendered[variant], "Job")["koppel-setup"]
    (container,) = containers(job)
    assert "koppel-setup:" in container["image"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] in {"OnFailure", "Never"}
    assert job["spec"]["backoffLimit"] >= 1


def test_keda_scales_the_consumers_on_lag(rendered: dict[str, list[Manifest]]) -> None:
    manifests = rendered["prod+keda"]
    scaled = of_kind(manifests, "ScaledObject")
    assert set(scaled) == set(CONSUMERS)
    # KEDA owns the HPA of a scaled Deployment: the CPU ones must be gone.
    assert set(of_kind(manifests, "HorizontalPodAutoscaler")) == {"intake"}
    (config,) = of_kind(manifests, "ConfigMap").values()
    deployments = of_kind(manifests, "Deployment")
    for name, scaled_object in scaled.items():
        assert scaled_object["apiVersion"] == "keda.sh/v1alpha1"
        spec = scaled_object["spec"]
        assert spec["scaleTargetRef"]["name"] in deployments
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"] <= 6
        assert spec["triggers"]
        for trigger in spec["triggers"]:
            assert trigger["type"] == "kafka"
            metadata = trigger["metadata"]
            assert metadata["bootstrapServers"] == config["data"]["KAFKA_BOOTSTRAP_SERVERS"]
            assert metadata["consumerGroup"].startswith(f"koppel-{name}")
            assert int(metadata["lagThreshold"]) > 0
    matcher_groups = {t["metadata"]["consumerGroup"] for t in scaled["matcher"]["spec"]["triggers"]}
    assert matcher_groups == {f"koppel-matcher.shard-{shard}" for shard in range(6)}
