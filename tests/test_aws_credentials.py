"""The stack program's AWS credential check resolves through botocore's real credential chain, with the stack's
`aws:` settings; and those settings are read the way pulumi-aws 7 reads them."""

import json
import os
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from gpu_node_pools.aws.provider_settings import (
    AwsProviderSettings,
    aws_provider_settings,
)
from stack_config import aws_credentials_problem

SSO_PROFILE = """
[profile sso]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = PlatformAdmin
region = us-west-2

[sso-session corp]
sso_start_url = https://example.awsapps.com/start
sso_region = us-west-2
"""


@pytest.fixture
def aws_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No AWS setting at all: empty environment, config files in a temp folder, instance metadata off."""
    for var in [v for v in os.environ if v.startswith("AWS_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return tmp_path


def credential_process_profile(home: Path, name: str, *, exit_code: int = 0) -> None:
    """A profile whose credential_process is a tiny script botocore really runs."""
    script = home / f"{name}.py"
    script.write_text(
        "import json, sys\n"
        'print(json.dumps({"Version": 1, "AccessKeyId": "AKIAPROCESS", "SecretAccessKey": "secret"}))\n'
        f"sys.exit({exit_code})\n"
    )
    with (home / "config").open("a") as config:
        config.write(f"\n[profile {name}]\ncredential_process = {sys.executable} {script}\n")


def test_nothing_at_all_is_refused_with_a_clear_message(aws_home: Path) -> None:
    problem = aws_credentials_problem(AwsProviderSettings())
    assert problem and problem.startswith("no AWS credentials") and "aws:profile" in problem


def test_an_empty_config_file_is_not_credentials(aws_home: Path) -> None:
    (aws_home / "config").write_text("[default]\nregion = us-west-2\n")
    assert aws_credentials_problem(AwsProviderSettings()).startswith("no AWS credentials")


def test_environment_keys_count(aws_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    assert aws_credentials_problem(AwsProviderSettings()) is None


def test_stack_config_keys_count(aws_home: Path) -> None:
    assert aws_credentials_problem(aws_provider_settings({"accessKey": "AKIAEXAMPLE", "secretKey": "s"})) is None


@pytest.mark.parametrize("via", ["aws:profile", "AWS_PROFILE"])
def test_a_credential_process_profile_counts(aws_home: Path, monkeypatch: pytest.MonkeyPatch, via: str) -> None:
    credential_process_profile(aws_home, "ci")
    settings = AwsProviderSettings(profile="ci")
    if via == "AWS_PROFILE":
        monkeypatch.setenv("AWS_PROFILE", "ci")
        settings = AwsProviderSettings()
    assert aws_credentials_problem(settings) is None


def test_a_failing_credential_process_is_reported(aws_home: Path) -> None:
    credential_process_profile(aws_home, "broken", exit_code=1)
    problem = aws_credentials_problem(AwsProviderSettings(profile="broken"))
    assert problem and problem.startswith("AWS credentials could not be loaded")


def test_an_sso_profile_counts_without_signing_in(aws_home: Path) -> None:
    (aws_home / "config").write_text(SSO_PROFILE)
    assert aws_credentials_problem(AwsProviderSettings(profile="sso")) is None


@pytest.mark.parametrize(("via", "source"), [("aws:profile", "aws:profile"), ("AWS_PROFILE", "AWS_PROFILE")])
def test_a_missing_profile_is_named(aws_home: Path, monkeypatch: pytest.MonkeyPatch, via: str, source: str) -> None:
    settings = AwsProviderSettings(profile="nope")
    if via == "AWS_PROFILE":
        monkeypatch.setenv("AWS_PROFILE", "nope")
        settings = AwsProviderSettings()
    problem = aws_credentials_problem(settings)
    assert problem == f"AWS profile 'nope' (from {source}) is not in the AWS config or credentials file"


class FakeInstanceMetadata(BaseHTTPRequestHandler):
    """IMDSv2 as an EC2 instance with a role answers it: a session token, the role's name, its credentials."""

    def do_PUT(self) -> None:
        self._answer("token" if self.path == "/latest/api/token" else None)

    def do_GET(self) -> None:
        expires = (datetime.now(timezone.utc) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        answers = {
            "/latest/meta-data/iam/security-credentials/": "node-role",
            "/latest/meta-data/iam/security-credentials/node-role": json.dumps({
                "Code": "Success", "AccessKeyId": "ASIAINSTANCE", "SecretAccessKey": "secret", "Token": "t",
                "Expiration": expires,
            }),
        }
        self._answer(answers.get(self.path))

    def _answer(self, body: str | None) -> None:
        self.send_response(200 if body is not None else 404)
        self.end_headers()
        self.wfile.write((body or "").encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def instance_metadata() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), FakeInstanceMetadata)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


def test_an_instance_role_counts(aws_home: Path, monkeypatch: pytest.MonkeyPatch, instance_metadata: str) -> None:
    """A CI runner on EC2 with an instance profile; the metadata service is a local fake, never the real one."""
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "false")
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", instance_metadata)
    assert aws_credentials_problem(AwsProviderSettings()) is None


ROLE_A = "arn:aws:iam::111122223333:role/a"
ROLE_B = "arn:aws:iam::444455556666:role/b"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, AwsProviderSettings()),
        ({"profile": "ci", "region": "us-west-2"}, AwsProviderSettings(profile="ci")),
        ({"accessKey": "AKIA", "secretKey": "s"}, AwsProviderSettings(static_keys=True)),
        ({"accessKey": "AKIA"}, AwsProviderSettings()),
        ({"assumeRoles": json.dumps([{"roleArn": ROLE_A}])}, AwsProviderSettings(role_arn=ROLE_A)),
        ({"assumeRoles": json.dumps([{"roleArn": ROLE_A}, {"roleArn": ROLE_B, "sessionName": "x"}])},
         AwsProviderSettings(role_arn=ROLE_B)),
        ({"assumeRoles": [{"roleArn": ROLE_A}]}, AwsProviderSettings(role_arn=ROLE_A)),
        ({"assumeRoles": "[]"}, AwsProviderSettings()),
    ],
)
def test_provider_settings_from_the_stacks_aws_keys(values: dict, expected: AwsProviderSettings) -> None:
    assert aws_provider_settings(values) == expected


@pytest.mark.parametrize("bad", ["arn:aws:iam::111122223333:role/a", json.dumps([{"sessionName": "x"}]), "[1]"])
def test_malformed_assume_roles_is_named(bad: str) -> None:
    with pytest.raises(ValueError, match="aws:assumeRoles must be a list of objects with a roleArn"):
        aws_provider_settings({"assumeRoles": bad})


def test_a_missing_aws_cli_is_named() -> None:
    from stack_config import aws_cli_problem

    assert aws_cli_problem(lambda name: f"/usr/bin/{name}") is None
    problem = aws_cli_problem(lambda name: None)
    assert problem and "AWS CLI ('aws') is not on PATH" in problem and "aws eks get-token" in problem


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_an_eks_stack_without_the_aws_cli_stops_before_any_resource(stack: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from pulumi_harness import run_program

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "example")
    with pytest.raises(Exception, match=r"AWS CLI \('aws'\) is not on PATH"):
        run_program(stack, aws_cli=False)


def test_the_local_stack_needs_no_aws_cli() -> None:
    from pulumi_harness import run_program

    assert run_program("local", aws_cli=False)
