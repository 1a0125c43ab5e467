"""deploy/k8s: every overlay renders with kustomize and validates against Kubernetes' schemas;
production refuses the placeholder secrets, and each pod reaches only what it needs.

Objects of custom resources (KEDA's ScaledObject, the External Secrets Operator's
ExternalSecret, the Prometheus Operator's ServiceMonitor and PrometheusRule) have no bundled
schema; their structure is checked here instead (the rules and the dashboard in
test_monitoring.py).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]  # the package ships no type hints
import pytest
import yaml
from pydantic import ValidationError
from pydantic_settings import BaseSettings

from koppel.secret_policy import weakness
from koppel_intake.settings import Settings as IntakeSettings
from koppel_matcher.settings import Settings as MatcherSettings
from koppel_notifier.settings import Settings as NotifierSettings
from koppel_testing.configuration import PRODUCTION_DATABASE_URL, STRONG_SECRET

REPO = Path(__file__).resolve().parents[3]
K8S = REPO / "deploy" / "k8s"
KUBERNETES_VERSION = "1.30.0"
SERVICES = {"intake": 8000, "matcher": 8001, "notifier": 8002}
CONSUMERS = ("matcher", "notifier")
CUSTOM_KINDS = {"ScaledObject", "ExternalSecret", "ServiceMonitor", "PrometheusRule"}
SECRET_KEYS = {
    "INTAKE_API_TOKENS",
    "MATCHER_API_TOKENS",
    "INTAKE_MATCHER_API_TOKEN",
    "DATABASE_URL",
    "NOTIFIER_UNSUBSCRIBE_SECRET",
    "KOPPEL_SECRET_KEYS",
}
# prod with the optional KEDA component, composed in a temporary kustomization.
VARIANTS = ("dev", "prod", "prod+keda")
# The variants with components/monitoring (Prometheus scrapes from the namespace `monitoring`).
MONITORED = ("prod", "prod+keda")
SECRET_FILES = "/var/run/secrets/koppel/app"

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


def services_config(manifests: list[Manifest]) -> Manifest:
    """The services' ConfigMap `koppel-config-<hash>` (the dashboard's is another)."""
    (config,) = (
        m
        for name, m in of_kind(manifests, "ConfigMap").items()
        if name.startswith("koppel-config-")
    )
    return config


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
        for volume in workload["spec"]["template"]["spec"]["volumes"]:
            if "secret" in volume:
                keys = {item["key"] for item in volume["secret"]["items"]}
                assert keys <= provided[volume["secret"]["secretName"]], volume["name"]


def secrets_read(container: Manifest, pod: Manifest) -> dict[str, str]:
    """Each secret the container reads, and how: `env` (a secretKeyRef) or `file` (a key of
    a mounted Secret whose path its `<NAME>_FILE` variable names)."""
    mounts = {mount["name"]: mount["mountPath"] for mount in container["volumeMounts"]}
    files = {
        f"{mounts[volume['name']]}/{item['path']}": item["key"]
        for volume in pod["volumes"]
        if "secret" in volume
        for item in volume["secret"]["items"]
    }
    read: dict[str, str] = {}
    for variable in container.get("env", []):
        if "secretKeyRef" in variable.get("valueFrom", {}):
            read[variable["name"]] = "env"
        elif variable["name"].endswith("_FILE"):
            key = files[variable["value"]]
            assert variable["name"] == f"{key}_FILE"
            read[key] = "file"
    assert set(files.values()) <= {key for key, how in read.items() if how == "file"}, (
        "a mounted secret no variable names"
    )
    return read


@pytest.mark.parametrize("variant", VARIANTS)
def test_secrets_are_files_except_the_database_url(
    rendered: dict[str, list[Manifest]], variant: str
) -> None:
    """Every secret the services can read from `<NAME>_FILE` comes as a read-only file;
    DATABASE_URL has no `_FILE` variant and stays a secretKeyRef."""
    for workload in workloads(rendered[variant]):
        if workload["metadata"]["name"] not in {*SERVICES, "koppel-setup"}:
            continue
        pod = workload["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        for key, how in secrets_read(container, pod).items():
            assert how == ("env" if key == "DATABASE_URL" else "file"), key
        (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == SECRET_FILES]
        assert mount["readOnly"] is True
        (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
        assert volume["secret"]["defaultMode"] == 0o440


def test_prod_takes_its_secret_from_an_external_store(rendered: dict[str, list[Manifest]]) -> None:
    assert "koppel-secrets" not in of_kind(rendered["prod"], "Secret")
    external = of_kind(rendered["prod"], "ExternalSecret")["koppel-secrets"]
    assert external["apiVersion"] == "external-secrets.io/v1"
    assert external["spec"]["secretStoreRef"]["name"]


def test_the_base_secret_holds_only_placeholders(rendered: dict[str, list[Manifest]]) -> None:
    secret = of_kind(rendered["dev"], "Secret")["koppel-secrets"]
    assert all("change-me" in value for value in secret["stringData"].values())


def test_production_would_refuse_every_placeholder_secret(
    rendered: dict[str, list[Manifest]],
) -> None:
    """A forgotten Secret fails loudly: the services start in production and refuse these."""
    secret = of_kind(rendered["dev"], "Secret")["koppel-secrets"]
    for key, value in secret["stringData"].items():
        if key == "DATABASE_URL":
            continue
        parts = (
            [entry.partition(":")[2] for entry in value.split(",")] if "TOKENS" in key else [value]
        )
        assert all(weakness(part) for part in parts), key
    for variant in ("prod", "prod+keda"):
        config = services_config(rendered[variant])
        assert config["data"]["KOPPEL_ENVIRONMENT"] == "production"


# The settings each pod builds (the setup Job runs both services' migrations).
SETTINGS: dict[str, tuple[type[BaseSettings], ...]] = {
    "intake": (IntakeSettings,),
    "matcher": (MatcherSettings,),
    "notifier": (NotifierSettings,),
    "koppel-setup": (MatcherSettings, NotifierSettings),
}


def variables_read(settings: type[BaseSettings]) -> set[str]:
    return {
        field.validation_alias
        for field in settings.model_fields.values()
        if isinstance(field.validation_alias, str)
    }


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_every_secret_file_variable_is_one_the_pod_reads(
    rendered: dict[str, list[Manifest]], variant: str, name: str
) -> None:
    workload = {**of_kind(rendered[variant], "Deployment"), **of_kind(rendered[variant], "Job")}
    (container,) = containers(workload[name])
    read = set().union(*(variables_read(settings) for settings in SETTINGS[name]))
    files = {v["name"] for v in container["env"] if v["name"].endswith("_FILE")}
    assert files
    assert files <= read


def strong(key: str) -> str:
    """A value of the secret `key` that production accepts."""
    if key == "KOPPEL_SECRET_KEYS":
        return "k1:" + base64.b64encode(hashlib.sha256(STRONG_SECRET.encode()).digest()).decode()
    return f"ops:{STRONG_SECRET}" if key.endswith("_TOKENS") else STRONG_SECRET


def pod_environment(manifests: list[Manifest], name: str, files: Path) -> dict[str, str]:
    """The pod's variables as its settings see them: the ConfigMap, its literal values, and
    each `<NAME>_FILE` pointing into `files`, where the mounted Secret's keys would be."""
    workload = {**of_kind(manifests, "Deployment"), **of_kind(manifests, "Job")}[name]
    (container,) = containers(workload)
    env: dict[str, str] = dict(services_config(manifests)["data"])
    env.update({v["name"]: v["value"] for v in container["env"] if "value" in v})
    env["DATABASE_URL"] = PRODUCTION_DATABASE_URL
    for variable, path in list(env.items()):
        if variable.endswith("_FILE") and path.startswith(f"{SECRET_FILES}/"):
            env[variable] = str(files / path.removeprefix(f"{SECRET_FILES}/"))
    return env


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_production_reads_every_secret_from_its_mounted_file(
    rendered: dict[str, list[Manifest]], name: str, tmp_path: Path, empty_shell: None
) -> None:
    """The prod pod's settings start from the files; a placeholder in one file is refused,
    naming its variable, so the files are what the settings read."""
    env = pod_environment(rendered["prod"], name, tmp_path)
    keys = [v.removesuffix("_FILE") for v in env if env[v].startswith(f"{tmp_path}/")]
    assert keys
    for key in keys:
        (tmp_path / key).write_text(strong(key) + "\n", encoding="utf-8")
    values: dict[str, Any] = dict(env)  # field values only, never BaseSettings' `_` options
    for settings in SETTINGS[name]:
        settings(**values)
    for key in keys:
        (tmp_path / key).write_text("change-me\n", encoding="utf-8")
        readers = [s for s in SETTINGS[name] if f"{key}_FILE" in variables_read(s)]
        assert readers, key
        for settings in readers:
            with pytest.raises(ValidationError, match=key):
                settings(**values)
        (tmp_path / key).write_text(strong(key) + "\n", encoding="utf-8")


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_setup_job_gets_the_secrets_its_migrations_check(
    rendered: dict[str, list[Manifest]], variant: str
) -> None:
    job = of_kind(rendered[variant], "Job")["koppel-setup"]
    (container,) = containers(job)
    read = secrets_read(container, job["spec"]["template"]["spec"])
    assert set(read) == {
        "DATABASE_URL",
        "MATCHER_API_TOKENS",
        "NOTIFIER_UNSUBSCRIBE_SECRET",
        "KOPPEL_SECRET_KEYS",
    }


@pytest.mark.parametrize("variant", VARIANTS)
def test_services_get_only_the_secrets_they_read(
    rendered: dict[str, list[Manifest]], variant: str
) -> None:
    deployments = of_kind(rendered[variant], "Deployment")

    def secret_keys(name: str) -> set[str]:
        pod = deployments[name]["spec"]["template"]["spec"]
        return set(secrets_read(pod["containers"][0], pod))

    assert secret_keys("intake") == {
        "INTAKE_API_TOKENS",
        "INTAKE_MATCHER_API_TOKEN",
        "KOPPEL_SECRET_KEYS",
    }
    assert secret_keys("matcher") == {"DATABASE_URL", "MATCHER_API_TOKENS"}
    assert secret_keys("notifier") == {
        "DATABASE_URL",
        "NOTIFIER_UNSUBSCRIBE_SECRET",
        "KOPPEL_SECRET_KEYS",
    }


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_config_map_carries_the_domain_settings(
    rendered: dict[str, list[Manifest]], variant: str
) -> None:
    config = services_config(rendered[variant])
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


def test_prod_refuses_private_webhook_targets_and_dev_allows_the_cluster_ranges_only(
    rendered: dict[str, list[Manifest]],
) -> None:
    def setting(variant: str, key: str) -> str:
        config = services_config(rendered[variant])
        value: str = config["data"][key]
        return value

    assert setting("prod", "WEBHOOK_ALLOW_PRIVATE_TARGETS") == "false"
    assert setting("prod", "WEBHOOK_ALLOWED_NETWORKS") == ""
    assert setting("prod", "KOPPEL_ENVIRONMENT") == "production"
    assert setting("dev", "WEBHOOK_ALLOW_PRIVATE_TARGETS") == "false"
    assert setting("dev", "WEBHOOK_ALLOWED_NETWORKS") == "10.244.0.0/16,10.96.0.0/12"
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
    config = services_config(manifests)
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


# --- network policies --------------------------------------------------------------------------

PRIVATE_V4 = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "127.0.0.0/8")
# What each pod may reach besides DNS (53): Kafka (9092 plain, 9093 TLS), PostgreSQL (5432).
EGRESS_PORTS = {
    "intake": {9092, 9093, 8001},
    "matcher": {9092, 9093, 5432},
    "notifier": {9092, 9093, 5432, 25, 465, 587, 443},
    "koppel-setup": {9092, 9093, 5432},
}


def policies_for(manifests: list[Manifest], pod_labels: dict[str, str]) -> list[Manifest]:
    return [
        policy
        for policy in of_kind(manifests, "NetworkPolicy").values()
        if policy["spec"]["podSelector"].get("matchLabels", {}).items() <= pod_labels.items()
    ]


def pod_labels(manifests: list[Manifest], name: str) -> dict[str, str]:
    workload = {**of_kind(manifests, "Deployment"), **of_kind(manifests, "Job")}[name]
    labels: dict[str, str] = workload["spec"]["template"]["metadata"]["labels"]
    return labels


def rules(policies: list[Manifest], direction: str) -> list[Manifest]:
    return [rule for policy in policies for rule in policy["spec"].get(direction, [])]


def ports(rule: Manifest) -> set[int]:
    return {int(port["port"]) for port in rule.get("ports", [])}


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_namespace_denies_what_no_policy_allows(
    rendered: dict[str, list[Manifest]], variant: str
) -> None:
    deny = of_kind(rendered[variant], "NetworkPolicy")["default-deny"]
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", sorted(SERVICES))
def test_each_service_has_a_policy_admitting_only_its_port(
    rendered: dict[str, list[Manifest]], variant: str, name: str
) -> None:
    manifests = rendered[variant]
    own = of_kind(manifests, "NetworkPolicy")[name]
    assert own["spec"]["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": name}}
    assert own["spec"]["policyTypes"] == ["Ingress", "Egress"]
    ingress = rules(policies_for(manifests, pod_labels(manifests, name)), "ingress")
    assert ingress
    assert all(ports(rule) == {SERVICES[name]} for rule in ingress)
    sources = [source for rule in ingress for source in rule["from"]]
    # From the namespace, and for the public APIs from the ingress controller; never any IP.
    assert {"podSelector": {}} in sources
    assert not any("ipBlock" in source for source in sources)
    from_other_namespaces = [source for source in sources if "namespaceSelector" in source]
    expected = [] if name == "matcher" else [namespace_peer("ingress-nginx")]
    if variant in MONITORED:
        expected.append(
            {
                **namespace_peer("monitoring"),
                "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
            }
        )
    assert from_other_namespaces == expected


def namespace_peer(namespace: str) -> Manifest:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}


@pytest.mark.parametrize("variant", ["prod", "prod+keda"])
@pytest.mark.parametrize("name", sorted(EGRESS_PORTS))
def test_each_pod_reaches_only_dns_and_what_it_uses(
    rendered: dict[str, list[Manifest]], variant: str, name: str
) -> None:
    manifests = rendered[variant]
    egress = rules(policies_for(manifests, pod_labels(manifests, name)), "egress")
    assert all(rule.get("ports") for rule in egress), "an egress rule without ports opens all"
    dns = [rule for rule in egress if ports(rule) == {53}]
    assert len(dns) == 1
    assert {port["protocol"] for port in dns[0]["ports"]} == {"UDP", "TCP"}
    assert dns[0]["to"][0]["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}
    assert set().union(*(ports(rule) for rule in egress)) == {53} | EGRESS_PORTS[name]
    for rule in egress:
        if ports(rule) & {9092, 5432}:
            (peer,) = rule["to"]
            assert set(peer) == {"namespaceSelector"}
            namespace = peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
            assert namespace == ("postgres" if ports(rule) == {5432} else "kafka")


@pytest.mark.parametrize("variant", VARIANTS)
def test_webhooks_reach_the_internet_but_no_cluster_private_or_metadata_address(
    rendered: dict[str, list[Manifest]], variant: str
) -> None:
    manifests = rendered[variant]
    base = of_kind(manifests, "NetworkPolicy")["notifier"]
    (https,) = [rule for rule in base["spec"]["egress"] if 443 in ports(rule)]
    assert ports(https) == {443}
    blocks = [peer["ipBlock"] for peer in https["to"]]
    assert all(set(peer) == {"ipBlock"} for peer in https["to"])
    v4 = next(block for block in blocks if block["cidr"] == "0.0.0.0/0")
    excluded = [ipaddress.IPv4Network(cidr) for cidr in v4["except"]]
    for cidr in PRIVATE_V4:
        assert any(ipaddress.IPv4Network(cidr).subnet_of(net) for net in excluded), cidr
    metadata = ipaddress.ip_address("169.254.169.254")
    assert any(metadata in net for net in excluded)
    v6 = next(block for block in blocks if block["cidr"] == "::/0")
    assert {"fc00::/7", "fe80::/10", "::1/128"} <= set(v6["except"])


def test_only_the_dev_cluster_lets_the_notifier_reach_its_own_namespace(
    rendered: dict[str, list[Manifest]],
) -> None:
    """Mailpit and in-cluster webhook receivers exist in dev only."""
    assert "notifier-to-the-namespace" in of_kind(rendered["dev"], "NetworkPolicy")
    assert "mailpit" in of_kind(rendered["dev"], "NetworkPolicy")
    for variant in ("prod", "prod+keda"):
        assert set(of_kind(rendered[variant], "NetworkPolicy")) == {
            "default-deny",
            *SERVICES,
            "koppel-setup",
            *(f"{name}-metrics" for name in SERVICES),
        }


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_pod_of_the_namespace_has_a_policy_of_its_own(
    rendered: dict[str, list[Manifest]], variant: str
) -> None:
    """Under the default deny, a pod without a policy could neither serve nor connect."""
    manifests = rendered[variant]
    for workload in workloads(manifests):
        name = workload["metadata"]["name"]
        own = [
            policy
            for policy in policies_for(manifests, pod_labels(manifests, name))
            if policy["spec"]["podSelector"]
        ]
        assert own, name


# --- autoscaling, the setup Job, monitoring objects --------------------------------------------


@pytest.mark.parametrize("variant", ["dev", "prod"])
def test_the_matcher_scales_down_slowly(rendered: dict[str, list[Manifest]], variant: str) -> None:
    """Each replica leaving rebalances every shard, whose index then reloads."""
    hpa = of_kind(rendered[variant], "HorizontalPodAutoscaler")["matcher"]
    scale_down = hpa["spec"]["behavior"]["scaleDown"]
    assert scale_down["stabilizationWindowSeconds"] >= 300
    assert scale_down["policies"] == [{"type": "Pods", "value": 1, "periodSeconds": 300}]


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_setup_job_runs_again_at_the_next_deploy(
    rendered: dict[str, list[Manifest]], variant: str
) -> None:
    """A finished Job removes itself, so the next apply creates it anew (its pod template
    cannot change in place); Argo CD and Flux recreate it by their annotations."""
    job = of_kind(rendered[variant], "Job")["koppel-setup"]
    assert 60 <= job["spec"]["ttlSecondsAfterFinished"] <= 600
    assert job["spec"]["ttlSecondsAfterFinished"] < job["spec"]["activeDeadlineSeconds"]
    assert job["metadata"]["annotations"] == {
        "argocd.argoproj.io/hook": "Sync",
        "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation",
        "kustomize.toolkit.fluxcd.io/force": "Enabled",
    }


def test_only_monitored_variants_carry_the_monitoring_objects(
    rendered: dict[str, list[Manifest]],
) -> None:
    for variant in VARIANTS:
        kinds = {m["kind"] for m in rendered[variant]}
        has = {"ServiceMonitor", "PrometheusRule"} <= kinds
        assert has is (variant in MONITORED), variant


@pytest.mark.parametrize("variant", MONITORED)
def test_the_service_monitor_scrapes_each_service_on_its_http_port(
    rendered: dict[str, list[Manifest]], variant: str
) -> None:
    manifests = rendered[variant]
    (monitor,) = of_kind(manifests, "ServiceMonitor").values()
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    (expression,) = monitor["spec"]["selector"]["matchExpressions"]
    selected = {
        name
        for name, service in of_kind(manifests, "Service").items()
        if expression["operator"] == "In"
        and service["metadata"]["labels"].get(expression["key"]) in expression["values"]
    }
    assert selected == set(SERVICES)
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics"
    for name in SERVICES:
        ports = {port["name"] for port in of_kind(manifests, "Service")[name]["spec"]["ports"]}
        assert endpoint["port"] in ports


@pytest.mark.parametrize("variant", MONITORED)
def test_grafana_loads_the_dashboard_from_its_config_map(
    rendered: dict[str, list[Manifest]], variant: str
) -> None:
    config_map = of_kind(rendered[variant], "ConfigMap")["koppel-grafana-dashboard"]
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert set(config_map["data"]) == {"koppel.json"}
    dashboard = (K8S / "components" / "monitoring" / "dashboard.json").read_text(encoding="utf-8")
    assert config_map["data"]["koppel.json"] == dashboard
    rule = of_kind(rendered[variant], "PrometheusRule")["koppel"]
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["spec"]["groups"]
