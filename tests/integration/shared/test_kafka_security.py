"""Koppel's Kafka clients over TLS with SASL, against a real broker (DOMAIN.md 8.6).

The shared broker of the other tests speaks PLAINTEXT only, so this module starts a second,
separate KRaft node of its own on free ports: the Kafka install of `deploy/local/kafka.sh`,
a CA and a broker certificate for 127.0.0.1 made here with `openssl`, a SASL_SSL listener
accepting SCRAM-SHA-512 (the credential is added when the storage is formatted) and PLAIN.
Its inter-broker listener (transaction markers go through it) is PLAINTEXT on 127.0.0.1;
the clients only ever see the SASL_SSL one.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ctypes
import logging
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import KafkaConnectionError
from pydantic import SecretStr

from koppel import kafka_clients
from koppel.kafka_clients import KafkaConnection
from koppel.settings import KafkaSettings
from koppel.topic_reconciliation import ensure_topics
from koppel.topics import TopicSpec
from koppel_demo.sandbox import free_ports
from koppel_intake.adapters.kafka_producer import KafkaEventPublisher
from koppel_intake.service_layer.ports import OutgoingRecord
from koppel_matcher.adapters.kafka_producer import transactional_producer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]
KAFKA_SH = REPO / "deploy" / "local" / "kafka.sh"
USER = "koppel"
PASSWORD = "Sasl-test-password-7c1f"
START_SECONDS = 60.0


@dataclass(frozen=True)
class SecureBroker:
    bootstrap: str
    cafile: Path

    def connection(
        self, mechanism: str = "SCRAM-SHA-512", password: str = PASSWORD
    ) -> KafkaConnection:
        return KafkaConnection.model_validate(
            {
                "bootstrap_servers": self.bootstrap,
                "security_protocol": "SASL_SSL",
                "sasl_mechanism": mechanism,
                "sasl_username": USER,
                "sasl_password": SecretStr(password),
                "ssl_cafile": self.cafile,
            }
        )


def _terminate_with_parent() -> None:
    """Linux: SIGTERM the broker when the test run dies, even by SIGKILL: no orphan JVM."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


_PR_SET_PDEATHSIG = 1


def _run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> None:
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,  # the first run of kafka.sh may fetch the jars
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} {command[1]} failed:\n{done.stderr[-3000:]}")


def _certificates(base: Path) -> tuple[Path, Path]:
    """A CA, and a PKCS#12 keystore with the broker's key and a certificate it signed."""
    (base / "broker.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for command in (
        "req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=koppel-test-ca "
        "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign "
        "-keyout ca.key -out ca.pem",
        "req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout broker.key -out broker.csr",
        "x509 -req -days 1 -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
        "-extfile broker.ext -out broker.pem",
        f"pkcs12 -export -in broker.pem -inkey broker.key -out broker.p12 -passout pass:{PASSWORD}",
    ):
        _run("openssl", *command.split(), cwd=base)
    return base / "ca.pem", base / "broker.p12"


def _server_properties(base: Path, keystore: Path, ports: list[int]) -> Path:
    client, internal, controller = ports
    properties = base / "server.properties"
    properties.write_text(
        f"""process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{controller}
listeners=SASL_SSL://127.0.0.1:{client},INTERNAL://127.0.0.1:{internal},CONTROLLER://127.0.0.1:{controller}
advertised.listeners=SASL_SSL://127.0.0.1:{client},INTERNAL://127.0.0.1:{internal}
listener.security.protocol.map=SASL_SSL:SASL_SSL,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=INTERNAL
sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=\
org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.plain.sasl.jaas.config=\
org.apache.kafka.common.security.plain.PlainLoginModule required user_{USER}="{PASSWORD}";
ssl.keystore.type=PKCS12
ssl.keystore.location={keystore}
ssl.keystore.password={PASSWORD}
log.dirs={base / "data"}
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
group.initial.rebalance.delay.ms=0
"""
    )
    return properties


async def _wait_ready(connection: KafkaConnection, broker: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_SECONDS
    while True:
        if broker.poll() is not None:
            raise RuntimeError(f"the SASL_SSL test broker exited with {broker.returncode}")
        admin = kafka_clients.admin(connection, request_timeout_ms=5000)
        try:
            await admin.start()
            await admin.describe_cluster()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)
        finally:
            await admin.close()


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    """A KRaft node with a SASL_SSL listener, stopped (and its files removed) at the end."""
    for program in ("java", "openssl"):
        if shutil.which(program) is None:
            pytest.skip(f"{program} is not installed")
    base = tmp_path_factory.mktemp("kafka-sasl-ssl")
    cafile, keystore = _certificates(base)
    ports = free_ports(3)
    properties = _server_properties(base, keystore, ports)
    environment = {
        **os.environ,
        "KOPPEL_KAFKA_DIR": str(base),  # kafka.sh writes its tools' log4j config here
        "KAFKA_TOOL_OPTS": "-Xms128m -Xmx384m -XX:+UseSerialGC -XX:TieredStopAtLevel=1",
    }
    cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
    _run(
        "bash",
        KAFKA_SH,
        "run",
        "kafka.tools.StorageTool",
        "format",
        "--cluster-id",
        cluster_id,
        "--config",
        properties,
        "--add-scram",
        f"SCRAM-SHA-512=[name={USER},password={PASSWORD}]",
        cwd=REPO,
        env=environment,
    )
    with (base / "broker.out").open("wb") as output:
        broker = subprocess.Popen(
            ["bash", str(KAFKA_SH), "run", "kafka.Kafka", str(properties)],
            cwd=REPO,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=_terminate_with_parent,
        )
    try:
        secure = SecureBroker(f"127.0.0.1:{ports[0]}", cafile)
        asyncio.run(_wait_ready(secure.connection(), broker))
        yield secure
    finally:
        broker.terminate()
        try:
            broker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            broker.kill()
            broker.wait()
        shutil.rmtree(base, ignore_errors=True)


async def test_scram_produces_in_transactions_and_consumes(
    secure_broker: SecureBroker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Consume, produce and commit the offsets in one transaction, as the matcher does,
    with the connection a service builds from its environment (password from a file)."""
    password_file = tmp_path / "kafka-password"
    password_file.write_text(f"{PASSWORD}\n")
    for name, value in {
        "KAFKA_BOOTSTRAP_SERVERS": secure_broker.bootstrap,
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "KAFKA_SASL_USERNAME": USER,
        "KAFKA_SASL_PASSWORD_FILE": str(password_file),
        "KAFKA_SSL_CAFILE": str(secure_broker.cafile),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("KAFKA_SASL_PASSWORD", raising=False)
    kafka = KafkaSettings().kafka
    source, sink, group = "secure.in", "secure.out", "secure-group"
    await ensure_topics(kafka, specs=(TopicSpec(source, 1, {}), TopicSpec(sink, 1, {})))

    producer = kafka_clients.producer(kafka, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(source, b"in-1", key=b"k")
    finally:
        await producer.stop()

    reader = kafka_clients.consumer(
        kafka, source, group_id=group, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    transactional = transactional_producer(kafka, transactional_id="secure-tx", client_id="t")
    await reader.start()
    await transactional.start()
    try:
        async with asyncio.timeout(30):
            record = await reader.getone()
        async with transactional.transaction():
            await transactional.send(sink, record.value.upper(), key=record.key)
            await transactional.send_offsets_to_transaction(
                {TopicPartition(source, record.partition): record.offset + 1}, group
            )
    finally:
        await transactional.stop()
        await reader.stop()
    assert await _committed_offset(kafka, group, TopicPartition(source, 0)) == 1

    committed = kafka_clients.consumer(
        kafka, sink, group_id=None, isolation_level="read_committed", auto_offset_reset="earliest"
    )
    await committed.start()
    try:
        async with asyncio.timeout(30):
            out = await committed.getone()
    finally:
        await committed.stop()
    assert (out.key, out.value) == (b"k", b"IN-1")


async def _committed_offset(kafka: KafkaConnection, group: str, partition: TopicPartition) -> int:
    """The group's offset once the transaction's markers are written (they follow the commit)."""
    admin = kafka_clients.admin(kafka)
    await admin.start()
    try:
        async with asyncio.timeout(15):
            while True:
                found = await admin.list_consumer_group_offsets(group, partitions=[partition])
                if partition in found and found[partition].offset >= 0:
                    return int(found[partition].offset)
                await asyncio.sleep(0.2)
    finally:
        await admin.close()


async def test_plain_over_tls_produces_and_consumes(secure_broker: SecureBroker) -> None:
    kafka = secure_broker.connection(mechanism="PLAIN")
    topic = "secure.plain"
    await ensure_topics(kafka, specs=(TopicSpec(topic, 1, {}),))
    producer = kafka_clients.producer(kafka, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"over-plain")
    finally:
        await producer.stop()
    consumer = kafka_clients.consumer(kafka, topic, group_id=None, auto_offset_reset="earliest")
    await consumer.start()
    try:
        async with asyncio.timeout(30):
            assert (await consumer.getone()).value == b"over-plain"
    finally:
        await consumer.stop()


async def test_intake_publishes_over_sasl_ssl(secure_broker: SecureBroker) -> None:
    """The intake's publisher, a service's own construction site, on the secure listener."""
    kafka = secure_broker.connection()
    topic = "secure.intake"
    await ensure_topics(kafka, specs=(TopicSpec(topic, 1, {}),))
    publisher = KafkaEventPublisher(kafka)
    try:
        async with asyncio.timeout(30):
            await publisher.connect(retry_seconds=0.5)
        assert await publisher.ready()
        await publisher.publish([OutgoingRecord(topic, b"id-1", b"published")])
    finally:
        await publisher.close()
    consumer = kafka_clients.consumer(kafka, topic, group_id=None, auto_offset_reset="earliest")
    await consumer.start()
    try:
        async with asyncio.timeout(30):
            assert (await consumer.getone()).value == b"published"
    finally:
        await consumer.stop()


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-512", "PLAIN"])
async def test_a_wrong_password_is_refused_at_once(
    secure_broker: SecureBroker, mechanism: str, caplog: pytest.LogCaptureFixture
) -> None:
    producer = kafka_clients.producer(
        secure_broker.connection(mechanism, password="not-the-password-3e9a")
    )
    started = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="aiokafka"), pytest.raises(KafkaConnectionError):
        async with asyncio.timeout(15):
            await producer.start()
    await producer.stop()
    assert time.monotonic() - started < 15
    said = " ".join(record.getMessage() for record in caplog.records)
    assert "Authentication failed" in said
    assert "not-the-password-3e9a" not in said


async def test_a_broker_certificate_from_another_ca_is_refused(
    secure_broker: SecureBroker, caplog: pytest.LogCaptureFixture
) -> None:
    """Without the CA file the system's CAs are trusted, and they did not sign this broker."""
    kafka = secure_broker.connection().model_copy(update={"ssl_cafile": None})
    admin = kafka_clients.admin(kafka, request_timeout_ms=5000)
    with caplog.at_level(logging.ERROR, logger="aiokafka"), pytest.raises(KafkaConnectionError):
        async with asyncio.timeout(15):
            await admin.start()
    await admin.close()
    assert "CERTIFICATE_VERIFY_FAILED" in " ".join(r.getMessage() for r in caplog.records)
