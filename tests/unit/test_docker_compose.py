"""docker/: the compose file, its .env.example and the Dockerfile agree with each other and the repo."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"
COMPOSE_FILE = DOCKER / "docker-compose.yml"
DOCKERFILE = DOCKER / "Dockerfile"
ENV_EXAMPLE = DOCKER / ".env.example"

AIRFLOW_COMMANDS = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
    "airflow-worker": "celery worker --queues default",
    "airflow-extract-worker": "celery worker --queues vk,ok,telegram",
}
CONTROL_PLANE = {"airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"}
AIRFLOW_SERVICES = {*AIRFLOW_COMMANDS, "airflow-init"}
# Bind-mount sources that do not exist in a fresh clone: the reports folder, which is git-ignored,
# created by Docker on first start and handed to the Airflow user by airflow-init.
CREATED_AT_RUN_TIME = {"../out": "/opt/airflow/out"}
# Bind-mount sources the operator provides, named by a required variable: the warehouse's TLS files.
PROVIDED_BY_THE_OPERATOR = {"WAREHOUSE_TLS_DIR"}
# A variable whose name says it holds a secret must be required (`${NAME:?message}`), never defaulted.
SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|PSEUDONYM_KEY|^AIRFLOW_CONN_")
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}; `$${...}` is an escaped dollar
VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?+][^}]*)?\}")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict) -> dict:
    return compose["services"]


def _env_example_names() -> list[str]:
    names = []
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            names.append(line.split("=", 1)[0].strip())
    return names


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def _first_field(mapping: str) -> str:
    """`a:b[:c]` → `a`, where `a` may be a `${NAME:-default}` holding colons itself."""
    return re.match(r"(\$\{[^}]*\}|[^:]*)", mapping).group(1)


def _build_context(services: dict) -> Path:
    [context] = {(DOCKER / s["build"]["context"]).resolve() for s in services.values() if "build" in s}
    return context


def test_the_celery_topology_and_both_databases_exist(services: dict) -> None:
    assert services.keys() >= AIRFLOW_SERVICES | {"redis", "postgres", "warehouse"}
    for name, command in AIRFLOW_COMMANDS.items():
        assert services[name]["command"] == command, name
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["warehouse"]["image"] == "postgres:15"
    assert services["redis"]["image"].startswith("redis:7.2")
    for worker in ("airflow-worker", "airflow-extract-worker"):
        assert "ports" not in services[worker] and "container_name" not in services[worker], (
            f"{worker} must scale: docker compose up --scale {worker}=N"
        )


def test_the_extraction_queues_are_the_cluster_policys(services: dict) -> None:
    from socmon.policy import PLATFORM_QUEUES

    served = {
        queue
        for name in ("airflow-worker", "airflow-extract-worker")
        for queue in services[name]["command"].split("--queues ")[1].split(",")
    }
    assert served == {"default", *PLATFORM_QUEUES}


def test_airflow_settings_follow_the_conventions(services: dict) -> None:
    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__CORE__AUTH_MANAGER"].endswith(".FabAuthManager"), (
            "SimpleAuthManager is for development"
        )
        assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "false", name
        assert "session" in env["AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES"].split(","), "Telegram's session"
        assert VARIABLE.fullmatch(env["AIRFLOW__API_AUTH__JWT_SECRET"]), "the JWT secret comes from .env"
        for key in (key for key in env if key.startswith("AIRFLOW_CONN_")):
            [(variable, guard)] = VARIABLE.findall(env[key])
            assert variable == key and guard.startswith(":?"), f"{key} must come from .env, required"
    assert services["airflow-init"]["environment"]["_AIRFLOW_DB_MIGRATE"] == "true"


def test_each_service_gets_only_the_secrets_of_its_job(services: dict) -> None:
    def secrets_of(name: str) -> set[str]:
        env = services[name]["environment"]
        return {
            key
            for key in env
            if key.startswith(("AIRFLOW_CONN_", "SOCMON_PG_PASSWORD__", "SOCMON_PSEUDONYM"))
        }

    for name in CONTROL_PLANE:
        assert secrets_of(name) == set(), f"{name} needs no warehouse password and no API credentials"
    assert secrets_of("airflow-extract-worker") == {
        "AIRFLOW_CONN_VK_DEFAULT",
        "AIRFLOW_CONN_OK_DEFAULT",
        "AIRFLOW_CONN_TELEGRAM_DEFAULT",
        "AIRFLOW_CONN_SOCMON_WAREHOUSE_LOADER",
    }
    assert {
        key for key in secrets_of("airflow-worker") if key.startswith("AIRFLOW_CONN_SOCMON_WAREHOUSE_")
    } == {
        "AIRFLOW_CONN_SOCMON_WAREHOUSE_TRANSFORM",
        "AIRFLOW_CONN_SOCMON_WAREHOUSE_OFFICER",
        "AIRFLOW_CONN_SOCMON_WAREHOUSE_LOADER",
        "AIRFLOW_CONN_SOCMON_WAREHOUSE_ADMIN",
    }
    # the warehouse's roles come from their Airflow connections, not from passwords in the environment
    passwords = {
        name: {k for k in secrets_of(name) if k.startswith("SOCMON_PG_PASSWORD__")} for name in services
    }
    assert {name: keys for name, keys in passwords.items() if keys} == {
        "airflow-init": {"SOCMON_PG_PASSWORD__POSTGRES"}
    }
    assert not any(
        key in secrets_of("airflow-worker") for key in ("AIRFLOW_CONN_VK_DEFAULT", "SOCMON_PSEUDONYM_KEY")
    )
    assert "SOCMON_PSEUDONYM_KEY" in secrets_of("airflow-init")


def test_the_warehouse_superuser_only_bootstraps(services: dict) -> None:
    """The image's superuser is `postgres`; only airflow-init (`socmon db init`) holds its password,
    and the owner `socmon` it creates is no superuser (tests/integration/test_warehouse.py)."""
    from socmon.warehouse.credentials import OWNER, SUPERUSER

    warehouse = services["warehouse"]["environment"]
    assert warehouse["POSTGRES_USER"] == SUPERUSER != OWNER
    [(variable, _)] = VARIABLE.findall(warehouse["POSTGRES_PASSWORD"])
    holders = [
        name
        for name, service in services.items()
        if f"SOCMON_PG_PASSWORD__{SUPERUSER.upper()}" in service.get("environment", {})
    ]
    assert holders == ["airflow-init"]
    [(given, _)] = VARIABLE.findall(
        services["airflow-init"]["environment"][f"SOCMON_PG_PASSWORD__{SUPERUSER.upper()}"]
    )
    assert given == variable


def test_every_secret_is_required_and_nothing_is_left_unguarded() -> None:
    referenced = VARIABLE.findall(COMPOSE_FILE.read_text())
    assert referenced
    for name, guard in referenced:
        assert guard, f"${{{name}}} has neither a default nor a :? guard"
        if SECRET_NAME.search(name) or name in PROVIDED_BY_THE_OPERATOR:
            assert guard.startswith(":?") and len(guard) > 2, f"{name} must be ${{{name}:?message}}"


def test_airflow_init_refuses_a_secret_left_at_change_me(services: dict, tmp_path: Path) -> None:
    script = services["airflow-init"]["command"][1]
    check = script.split("mkdir -p", 1)[0].replace("$$", "$")  # compose turns $$ into $
    assert "CHANGE_ME" in check
    base = {"PATH": "/usr/bin:/bin"}

    refused = subprocess.run(
        ["bash", "-c", check],
        env={**base, "AIRFLOW__CORE__FERNET_KEY": "CHANGE_ME"},
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 1
    assert "AIRFLOW__CORE__FERNET_KEY" in refused.stderr
    assert "CHANGE_ME" not in refused.stderr.replace("replace CHANGE_ME", ""), (
        "it names the variable, not its value"
    )

    accepted = subprocess.run(
        ["bash", "-c", check], env={**base, "AIRFLOW__CORE__FERNET_KEY": "a-real-key"}, capture_output=True
    )
    assert accepted.returncode == 0


def test_airflow_init_creates_the_pools_users_and_warehouse_roles(services: dict) -> None:
    from socmon.cli import build_parser

    script = services["airflow-init"]["command"][1]
    env = services["airflow-init"]["environment"]
    assert "socmon pools" in script and "socmon db init" in script
    assert env["_AIRFLOW_WWW_USER_CREATE"] == "true"
    assert VARIABLE.fullmatch(env["_AIRFLOW_WWW_USER_PASSWORD"])
    assert "airflow users create" in script
    build_parser().parse_args(["pools"])  # the command the script runs exists


def test_the_ui_and_the_warehouse_are_published_on_localhost_only(services: dict) -> None:
    for name in ("airflow-apiserver", "warehouse"):
        [port] = services[name]["ports"]
        address = _first_field(port)
        assert re.fullmatch(r"\$\{[A-Z_]+:-127\.0\.0\.1\}", address), f"{name} publishes {port}"
    for name, service in services.items():
        if name not in ("airflow-apiserver", "warehouse"):
            assert "ports" not in service, name


def test_the_warehouse_admits_the_compose_network_and_bi_over_tls_only(compose: dict, services: dict) -> None:
    [subnet] = [config["subnet"] for config in compose["networks"]["socmon"]["ipam"]["config"]]
    hba_mount = next(v for v in services["warehouse"]["volumes"] if v.endswith(":/etc/socmon/pg_hba.conf:ro"))
    rules = [
        line.split()
        for line in (DOCKER / hba_mount.split(":")[0]).read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert "hba_file=/etc/socmon/pg_hba.conf" in services["warehouse"]["command"]
    assert "ssl=on" in services["warehouse"]["command"]
    for rule in rules:
        kind, method = rule[0], rule[-1]
        if kind == "local":
            continue
        address = rule[3]
        if method == "reject":
            continue
        if kind == "host":
            assert address in (subnet, "127.0.0.1/32"), f"plain-text access from {address}: {rule}"
        else:
            assert kind == "hostssl" and rule[2] == "socmon_bi", f"only BI reads from outside: {rule}"
    assert ["host", "socmon", "all", subnet, "scram-sha-256"] in rules


def test_long_running_services_have_healthchecks(services: dict) -> None:
    for name, service in services.items():
        if name != "airflow-init":
            assert service["healthcheck"]["test"], name


def test_build_context_and_dockerfile_exist(services: dict) -> None:
    builds = [service["build"] for service in services.values() if "build" in service]
    assert builds, "the Airflow services build the socmon image"
    for build in builds:
        context = DOCKER / build["context"]
        assert context.is_dir(), context
        # compose resolves `dockerfile` against the build context, not against the compose file
        assert (context / build["dockerfile"]).resolve() == DOCKERFILE


def test_volume_sources_exist_or_are_named_volumes(compose: dict, services: dict) -> None:
    named = set(compose.get("volumes") or {})
    for name, service in services.items():
        for volume in service.get("volumes", []):
            if isinstance(volume, dict):
                source, target, kind = volume.get("source"), volume["target"], volume["type"]
            else:
                source = _first_field(volume)
                target = volume[len(source) + 1 :].split(":")[0]
                kind = "bind" if source.startswith((".", "/", "~")) else "volume"
            if source.startswith("${"):
                [(variable, guard)] = VARIABLE.findall(source)
                assert variable in PROVIDED_BY_THE_OPERATOR and guard.startswith(":?"), f"{name}: {source}"
            elif kind == "volume":
                assert source in named, f"{name}: named volume {source} is not declared"
            elif source in CREATED_AT_RUN_TIME:
                assert target == CREATED_AT_RUN_TIME[source], name
            else:
                assert (DOCKER / source).exists(), f"{name}: {source} does not exist"


def test_the_reports_folder_is_git_ignored_and_prepared_by_airflow_init(services: dict) -> None:
    gitignore = (REPO / ".gitignore").read_text().split()
    for source, target in CREATED_AT_RUN_TIME.items():
        relative = (DOCKER / source).resolve().relative_to(REPO)
        assert f"{relative}/" in gitignore or str(relative) in gitignore
        init_script = " ".join(services["airflow-init"]["command"])
        assert f"mkdir -p /opt/airflow/logs {target}" in init_script
        assert target in init_script.split("chown", 1)[1]


def test_every_variable_of_the_compose_file_is_in_env_example() -> None:
    referenced = VARIABLE.findall(COMPOSE_FILE.read_text())
    listed = _env_example_names()
    assert len(listed) == len(set(listed)), "a variable is listed twice in .env.example"
    required = {name for name, default in referenced if not default or default.startswith(("?", ":?"))}
    assert required <= set(listed), f"missing from .env.example: {sorted(required - set(listed))}"
    assert {name for name, _ in referenced} == set(listed), "every variable, with a default or not"


def _locked(name: str) -> set[str]:
    lock = (REPO / "requirements" / name).read_text()
    return {
        line.split("==")[0].lower() for line in lock.splitlines() if "==" in line and not line.startswith(" ")
    }


def test_the_image_installs_the_runtime_lock_without_test_tools_or_the_sandbox() -> None:
    runtime, dev = _locked("runtime.lock"), _locked("dev.lock")
    for tool in ("pytest", "pytest-timeout", "ruff", "mypy", "selenium", "aiosmtpd", "socmon-sandbox"):
        assert tool not in runtime, f"{tool} is in the production image's lock"
    for unused in ("astronomer-cosmos", "apache-airflow-providers-postgres"):
        assert unused not in runtime, f"nothing imports {unused}"
    assert {"apache-airflow-providers-celery", "apache-airflow-providers-fab", "redis"} <= runtime
    assert {"pytest", "selenium"} <= dev
    copies = " ".join(arg for keyword, arg in _dockerfile_instructions() if keyword in ("COPY", "RUN"))
    assert "requirements/runtime.lock" in copies and "dev.lock" not in copies
    assert "sandbox" not in copies


def test_dockerfile_builds_on_airflow_3_3_with_python_3_11() -> None:
    [base] = [arg for keyword, arg in _dockerfile_instructions() if keyword == "FROM"]
    match = re.fullmatch(r"apache/airflow:(3\.3\.\d+)-python3\.11", base)
    assert match, base
    lock = (REPO / "requirements" / "runtime.lock").read_text()
    assert f"\napache-airflow=={match.group(1)}\n" in lock, "the image and the lock pin the same Airflow"


def test_every_copy_source_exists(services: dict) -> None:
    context = _build_context(services)
    copies = [arg for keyword, arg in _dockerfile_instructions() if keyword == "COPY"]
    assert copies
    for arguments in copies:
        *sources, _destination = [word for word in shlex.split(arguments) if not word.startswith("--")]
        for source in sources:
            assert (context / source).exists(), f"COPY {source}: not in the build context {context}"


def test_build_context_keeps_secrets_and_state_out() -> None:
    ignored = (DOCKER / "Dockerfile.dockerignore").read_text().split()
    assert {".socmon", ".venv", "out", "docker/.env"} <= set(ignored)


def test_the_warehouse_gets_the_embedded_servers_settings(services: dict) -> None:
    from socmon.config import PG_SERVER_SETTINGS

    command = services["warehouse"]["command"]
    options = [option for option, flag in zip(command[1:], command[:-1], strict=True) if flag == "-c"]
    given = dict(option.split("=", 1) for option in options)
    for name, default in PG_SERVER_SETTINGS.items():
        assert given.get(name) == f"${{SOCMON_PG_{name.upper()}:-{default}}}", name
