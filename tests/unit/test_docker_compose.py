"""docker/: the compose file, its .env.example and the Dockerfile agree with each other and the repo."""

from __future__ import annotations

import re
import shlex
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
}
AIRFLOW_SERVICES = {*AIRFLOW_COMMANDS, "airflow-init"}
# Bind-mount sources that do not exist in a fresh clone: the reports folder, which is git-ignored,
# created by Docker on first start and handed to the Airflow user by airflow-init.
CREATED_AT_RUN_TIME = {"../out": "/opt/airflow/out"}
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


def _build_context(services: dict) -> Path:
    [context] = {(DOCKER / s["build"]["context"]).resolve() for s in services.values() if "build" in s}
    return context


def test_the_five_airflow_services_and_both_databases_exist(services: dict) -> None:
    assert services.keys() >= AIRFLOW_SERVICES
    for name, command in AIRFLOW_COMMANDS.items():
        assert services[name]["command"] == command, name
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["warehouse"]["image"] == "postgres:15"


def test_airflow_settings_follow_the_conventions(services: dict) -> None:
    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor", name
        assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "false", name
        assert VARIABLE.fullmatch(env["AIRFLOW__API_AUTH__JWT_SECRET"]), "the JWT secret comes from .env"
        connections = [key for key in env if key.startswith("AIRFLOW_CONN_")]
        assert connections, name
        for key in connections:
            assert env[key] == f"${{{key}}}", f"{key} must come from .env, never from the compose file"
    assert services["airflow-init"]["environment"]["_AIRFLOW_DB_MIGRATE"] == "true"


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
                source, target = volume.split(":")[:2]
                kind = "bind" if source.startswith((".", "/", "~")) else "volume"
            if kind == "volume":
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


def test_dockerfile_builds_on_airflow_3_3_with_python_3_11() -> None:
    [base] = [arg for keyword, arg in _dockerfile_instructions() if keyword == "FROM"]
    match = re.fullmatch(r"apache/airflow:(3\.3\.\d+)-python3\.11", base)
    assert match, base
    lock = (REPO / "requirements" / "requirements.lock").read_text()
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
