"""deploy/k8s/components/monitoring: the alerting rules pass `promtool check rules` and their
unit tests (`promtool test rules`), the Grafana dashboard is well formed, and every query of
both names a metric the services export, with labels it has.

promtool is Debian's (package `prometheus`, installed by deploy/local/promtool.sh, which
.ci/run calls); outside CI its tests skip when it is missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase

import koppel_intake.metrics
import koppel_matcher.metrics
from koppel.consumer_lag import CONSUMER_LAG
from koppel_notifier.metrics import NotifierMetrics

REPO = Path(__file__).resolve().parents[3]
MONITORING = REPO / "deploy" / "k8s" / "components" / "monitoring"
RULE = MONITORING / "prometheus-rule.yaml"
RULE_TESTS = MONITORING / "alerts.test.yaml"
DASHBOARD = MONITORING / "dashboard.json"
# Labels Prometheus adds to every scraped series (the ServiceMonitor's target labels).
TARGET_LABELS = {"namespace", "pod", "job", "instance", "service", "endpoint", "container"}
# Prometheus' own series about each scrape.
SCRAPE_METRICS = {"up": frozenset[str]()}
_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "bool", "offset"}
_KEYWORDS |= {"group_left", "group_right"}

Json = dict[str, Any]


def exported_metrics() -> dict[str, frozenset[str]]:
    """Every series name the three services expose, with its labels."""
    collectors: list[MetricWrapperBase] = [CONSUMER_LAG]
    for module in (koppel_intake.metrics, koppel_matcher.metrics):
        collectors += [c for c in vars(module).values() if isinstance(c, MetricWrapperBase)]
    collectors += [c for c in vars(NotifierMetrics()).values() if isinstance(c, MetricWrapperBase)]
    names: dict[str, frozenset[str]] = {}
    for collector in collectors:
        (family,) = collector.describe()
        # prometheus_client keeps the label names of a metric without children only here.
        labels = frozenset(collector._labelnames)
        if isinstance(collector, Counter):
            names[f"{family.name}_total"] = labels
        elif isinstance(collector, Gauge):
            names[family.name] = labels
        elif isinstance(collector, Histogram):
            names[f"{family.name}_bucket"] = labels | {"le"}
            names[f"{family.name}_count"] = labels
            names[f"{family.name}_sum"] = labels
    return names


EXPORTED = exported_metrics()


def selectors(expr: str) -> tuple[dict[str, set[str]], set[str]]:
    """The metric names of a PromQL expression with the label names matched on each, and
    the label names it groups or matches by."""
    without_strings = re.sub(r'"[^"]*"', '""', expr)
    metrics: dict[str, set[str]] = {}
    for name, body in re.findall(r"([a-zA-Z_:][\w:]*)\s*\{([^}]*)\}", without_strings):
        metrics.setdefault(name, set()).update(re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", body))
    rest = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", without_strings)
    grouping: set[str] = set()
    for labels in re.findall(
        r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)", rest
    ):
        grouping.update(label.strip() for label in labels.split(",") if label.strip())
    rest = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", rest)
    for name in re.findall(r"(?<![\w$.])([a-zA-Z_:][\w:]*)\b(?!\s*\()", rest):
        if name not in _KEYWORDS:
            metrics.setdefault(name, set())
    return metrics, grouping


def unknown_in(expr: str) -> list[str]:
    """What `expr` names that no service exports: metrics, and labels they lack."""
    known = {**EXPORTED, **SCRAPE_METRICS}
    metrics, grouping = selectors(expr)
    problems = [f"metric {name}" for name in metrics if name not in known]
    available = set(TARGET_LABELS)
    for name, labels in metrics.items():
        have = known.get(name, frozenset()) | TARGET_LABELS
        available |= have
        problems += [f"label {label} of {name}" for label in sorted(labels - have)]
    problems += [f"grouping label {label}" for label in sorted(grouping - available)]
    return problems


def alerts() -> list[Json]:
    rule = yaml.safe_load(RULE.read_text(encoding="utf-8"))
    return [r for group in rule["spec"]["groups"] for r in group["rules"] if "alert" in r]


def dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]


# --- the metric check itself ------------------------------------------------------------------


def test_the_catalogue_holds_each_kind_of_series() -> None:
    assert EXPORTED["koppel_consumer_lag"] == {"topic", "partition", "group"}
    assert EXPORTED["koppel_matcher_matches_emitted_total"] == {"type"}
    assert EXPORTED["koppel_intake_http_requests_total"] == {"route", "method", "status"}
    assert "le" in EXPORTED["koppel_notifier_delivery_latency_seconds_bucket"]
    assert EXPORTED["koppel_matcher_next_wakeup_timestamp_seconds"] == {"shard"}


@pytest.mark.parametrize(
    ("expr", "problem"),
    [
        ("rate(koppel_notifier_deliveries[5m])", "metric koppel_notifier_deliveries"),
        ('koppel_consumer_lag{consumer_group="x"}', "label consumer_group of koppel_consumer_lag"),
        ("sum by (shard) (koppel_consumer_lag)", "grouping label shard"),
        ("koppel_intake_dead_letters_total offset 15m > 0 or koppel_lag", "metric koppel_lag"),
    ],
)
def test_the_metric_check_finds_unknown_names_and_labels(expr: str, problem: str) -> None:
    assert problem in unknown_in(expr)


# --- alerting rules ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def promtool() -> Path:
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("no promtool in CI: .ci/run installs it with deploy/local/promtool.sh")
        pytest.skip("no promtool: run deploy/local/promtool.sh (CI installs it and runs this)")
    return Path(found)


def run_promtool(promtool: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=120
    )


def rule_files(directory: Path, rule_text: str) -> Path:
    """The PrometheusRule's `spec` as the plain rule file alerts.test.yaml loads, beside a
    copy of the tests; returns the tests' path."""
    spec = yaml.safe_load(rule_text)["spec"]
    (directory / "koppel.rules.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    tests = directory / RULE_TESTS.name
    shutil.copyfile(RULE_TESTS, tests)
    return tests


def test_promtool_accepts_the_rules(promtool: Path, tmp_path: Path) -> None:
    rule_files(tmp_path, RULE.read_text(encoding="utf-8"))
    result = run_promtool(promtool, "check", "rules", "koppel.rules.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alerts())} rules found" in result.stdout


def test_the_alerts_pass_their_unit_tests(promtool: Path, tmp_path: Path) -> None:
    tests = rule_files(tmp_path, RULE.read_text(encoding="utf-8"))
    result = run_promtool(promtool, "test", "rules", tests.name, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize(
    ("correct", "mistake"),
    [
        (
            "sum by (namespace, group) (koppel_consumer_lag) > 1000",
            "sum (koppel_consumer_lag) > 1000",
        ),
        ("koppel_matcher_dead_letters_total > 0\n", "koppel_matcher_dead_letters_total > 5\n"),
        (
            'koppel_matcher_http_request_duration_seconds_count{route="/readyz", status="503"}',
            'koppel_matcher_http_request_duration_seconds_count{route="/readyz", status="500"}',
        ),
    ],
)
def test_the_unit_tests_catch_a_broken_rule(
    promtool: Path, tmp_path: Path, correct: str, mistake: str
) -> None:
    text = RULE.read_text(encoding="utf-8")
    assert correct in text
    tests = rule_files(tmp_path, text.replace(correct, mistake, 1))
    result = run_promtool(promtool, "test", "rules", tests.name, cwd=tmp_path)
    assert result.returncode != 0, result.stdout


def test_every_alert_is_unit_tested_firing() -> None:
    tests = yaml.safe_load(RULE_TESTS.read_text(encoding="utf-8"))["tests"]
    firing = {
        case["alertname"]
        for test in tests
        for case in test["alert_rule_test"]
        if case.get("exp_alerts")
    }
    assert firing == {rule["alert"] for rule in alerts()}


def anchors(markdown: str) -> set[str]:
    """GitHub's anchors of the headings of a Markdown file."""
    headings = re.findall(r"^#+ (.+)$", markdown, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-") for h in headings}


@pytest.mark.parametrize("rule", alerts(), ids=lambda rule: str(rule["alert"]))
def test_each_alert_names_its_severity_and_runbook_on_real_metrics(rule: Json) -> None:
    assert rule["labels"]["severity"] in {"warning", "critical"}
    assert rule["annotations"]["summary"]
    page, _, anchor = rule["annotations"]["runbook"].partition("#")
    assert anchor in anchors((REPO / page).read_text(encoding="utf-8")), anchor
    assert unknown_in(rule["expr"]) == []


# --- the Grafana dashboard ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def dashboard() -> Json:
    loaded: Json = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return loaded


def test_the_dashboard_is_a_grafana_dashboard_with_a_datasource_choice(dashboard: Json) -> None:
    assert dashboard["uid"] == "koppel-overview"
    assert dashboard["title"]
    assert isinstance(dashboard["schemaVersion"], int)
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    found = re.fullmatch(r"label_values\((\w+), (\w+)\)", variables["namespace"]["definition"])
    assert found is not None
    metric, label = found.groups()
    assert label in EXPORTED[metric] | TARGET_LABELS


def test_every_panel_has_a_place_and_queries(dashboard: Json) -> None:
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    boxes: list[tuple[int, int, int, int]] = []
    for panel in dashboard["panels"]:
        position = panel["gridPos"]
        x, y, w, h = position["x"], position["y"], position["w"], position["h"]
        assert x >= 0, panel["title"]
        assert x + w <= 24, panel["title"]
        assert h > 0, panel["title"]
        for ox, oy, ow, oh in boxes:
            assert x >= ox + ow or ox >= x + w or y >= oy + oh or oy >= y + h, panel["title"]
        boxes.append((x, y, w, h))
        if panel["type"] == "row":
            continue
        assert panel["title"]
        assert panel["description"]
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        targets = panel["targets"]
        assert targets, panel["title"]
        assert len({t["refId"] for t in targets}) == len(targets)
        assert all(t["expr"].strip() for t in targets)


def test_the_dashboard_shows_rates_latency_lag_and_deliveries(dashboard: Json) -> None:
    queries = "\n".join(dashboard_queries())
    for needed in (
        "rate(koppel_intake_events_published_total",
        "rate(koppel_matcher_matches_emitted_total",
        "histogram_quantile(0.95, sum by (le, channel) (rate(koppel_notifier_delivery_latency",
        "sum by (group) (koppel_consumer_lag",
        "sum by (channel, outcome) (rate(koppel_notifier_deliveries_total",
    ):
        assert needed in queries


@pytest.mark.parametrize("expr", dashboard_queries())
def test_every_dashboard_query_uses_exported_metrics_and_labels(expr: str) -> None:
    assert unknown_in(expr) == []


def test_promtool_parses_every_dashboard_query(promtool: Path, tmp_path: Path) -> None:
    """Each query, with Grafana's variables filled in, as a recording rule promtool checks."""
    rules = [
        {"record": f"koppel:dashboard_query_{number}", "expr": expr}
        for number, expr in enumerate(dashboard_queries())
    ]
    filled = yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]})
    filled = filled.replace("$__rate_interval", "5m").replace("$namespace", "koppel")
    (tmp_path / "dashboard.rules.yaml").write_text(filled, encoding="utf-8")
    result = run_promtool(promtool, "check", "rules", "dashboard.rules.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


# --- how CI gets promtool ----------------------------------------------------------------------

PROMTOOL_SCRIPT = REPO / "deploy" / "local" / "promtool.sh"


def test_ci_installs_promtool_before_the_tests() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert ci.index("bash deploy/local/promtool.sh") < ci.index("make test")
    script = PROMTOOL_SCRIPT.read_text(encoding="utf-8")
    assert 'ensure_debian_package prometheus "$PROMTOOL"' in script
    assert "PROMTOOL=/usr/bin/promtool" in script


def test_the_script_keeps_an_installed_promtool(promtool: Path) -> None:
    result = subprocess.run(
        ["bash", str(PROMTOOL_SCRIPT)], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "[prometheus] /usr/bin/promtool present" in result.stderr
    assert "promtool, version" in result.stderr
