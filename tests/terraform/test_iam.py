"""The module's IAM policies, evaluated from the HCL (tests/terraform/hcl_eval.py), allow every
S3 path and API call of the documented flows and deny what they should.

The flows: the README's commands (each `terraform plan/apply` of the README, with the values
of terraform.tfvars.example it starts from, and every s3:// URI of the AWS section that a
cluster or a Glue job reads or writes), the Airflow example's constants, `spark-lester emr
submit` (bundle, uploaded inputs, step results next to the warehouse, step logs) and the Glue
jobs (scripts, modules, TempDir, the staged pipeline files, logs, metrics). A small IAM
evaluator decides each call: an identity-policy Allow that matches action and resource (IAM
wildcards), no explicit Deny in the identity or bucket policy (requests go over TLS).
``test_planted_mistakes_are_caught`` narrows the policy in the HCL text and shows the check
failing.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from spark_lester.config import project_root

pytest.importorskip("hcl2", reason="python-hcl2 is in the dev extra")

from tests.terraform.hcl_eval import ACCOUNT, REGION, Module  # noqa: E402

REPO = project_root()
ROOT = REPO / "terraform"
MODULE = ROOT / "modules" / "lester"
README = REPO / "README.md"
DAG = REPO / "examples" / "airflow" / "spark_lester_dags.py"
ROLES = {"emr": "emr_ec2", "glue": "glue"}
POLICIES = {**ROLES, "emr-service": "emr_service"}
BUNDLE_FILES = ("manifest.json", "requirements.txt", "spark_lester-0.1.0-py3-none-any.whl",
                "deps-pyfiles.zip", "emr/bootstrap/install_lester.sh",
                "emr/steps/lester_step.py", "emr/configurations.json",
                "glue_jobs/run_pipeline.py", "glue_jobs/apply_deletion.py")

# What the module reads from the bundle (file(); no bundle is built here): the manifest's Glue
# arguments, as spark_lester.aws.package writes them.
BUNDLE_TEXT = {"manifest.json": json.dumps({"glue": {"default_arguments": {
    "--additional-python-modules": "{code_uri}/spark_lester-0.1.0-py3-none-any.whl",
    "--datalake-formats": "delta"}}}), "configurations.json": "[]"}


@dataclass(frozen=True)
class Call:
    """One API call a role makes: ``action`` on ``resource``, and where the flow is stated."""

    role: str
    action: str
    resource: str
    origin: str
    context: tuple[tuple[str, str], ...] = ()


# --- a small IAM evaluator -------------------------------------------------------------------

def _wildcard(pattern: str, text: str, *, case: bool) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, text, 0 if case else re.IGNORECASE) is not None


def _matches(statement: Mapping[str, Any], call: Call) -> bool:
    if not any(_wildcard(a, call.action, case=False) for a in statement.get("actions", [])):
        return False
    if not any(_wildcard(r, call.resource, case=True) for r in statement.get("resources", [])):
        return False
    context = dict(call.context)
    for cond in statement["conditions"]:
        value = context.get(cond["variable"])
        if value is None:
            return False
        if cond["test"] in ("StringEquals", "Bool"):
            if value not in [str(v).lower() if cond["test"] == "Bool" else v
                             for v in cond["values"]]:
                return False
        elif cond["test"] in ("StringLike", "ArnLike"):
            if not any(_wildcard(v, value, case=True) for v in cond["values"]):
                return False
        else:
            raise AssertionError(f"condition test {cond['test']} is not evaluated here")
    return True


def decide(identity: list[dict[str, Any]], bucket_policies: Iterable[dict[str, Any]],
           call: Call) -> bool:
    """Allowed: some identity Allow matches and no Deny (identity or bucket) does."""
    context = dict(call.context)
    context.setdefault("aws:SecureTransport", "true")
    call = Call(call.role, call.action, call.resource, call.origin, tuple(context.items()))
    statements = [*identity, *bucket_policies]
    if any(s["effect"] == "Deny" and _matches(s, call) for s in statements):
        return False
    return any(s["effect"] == "Allow" and _matches(s, call) for s in identity)


def denied(module: Module, calls: Iterable[Call]) -> list[Call]:
    policies = {role: module.policy(name) for role, name in POLICIES.items()}
    buckets = module.instances("aws_s3_bucket", "this")
    bucket_statements = [s for key, bucket in buckets.items()
                         for s in module.policy("bucket", each={"key": key, "value": bucket})]
    return [c for c in calls if not decide(policies[c.role], bucket_statements, c)]


# --- the calls of each flow ------------------------------------------------------------------

def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def reads(roles: Iterable[str], uri: str, origin: str) -> list[Call]:
    """Reading an object, or a prefix (a folder of files, as Spark reads one)."""
    bucket, key = _split(uri)
    keys = [key + "part-00000.parquet"] if key.endswith("/") or not key else [key]
    return [Call(r, a, res, origin) for r in roles
            for a, res in [("s3:ListBucket", f"arn:aws:s3:::{bucket}"),
                           *(("s3:GetObject", f"arn:aws:s3:::{bucket}/{k}") for k in keys)]]


def writes(roles: Iterable[str], uri: str, origin: str, *, delete: bool = False) -> list[Call]:
    bucket, key = _split(uri)
    key = key + "part-00000.parquet" if key.endswith("/") else key
    actions = ["s3:PutObject", "s3:GetObject"] + (["s3:DeleteObject"] if delete else [])
    return [Call(r, a, f"arn:aws:s3:::{bucket}/{key}", origin) for r in roles for a in actions] \
        + [Call(r, "s3:ListBucket", f"arn:aws:s3:::{bucket}", origin) for r in roles]


def warehouse(roles: Iterable[str], uri: str, origin: str) -> list[Call]:
    base = uri.rstrip("/")
    return (writes(roles, f"{base}/runs/_delta_log/00000000000000000000.json", origin,
                   delete=True)
            + writes(roles, f"{base}/_lester/pipelines/ab12/running_example/pipeline.py", origin)
            + reads(roles, f"{base}/runs/", origin))


def bundle(roles: Iterable[str], code_uri: str, origin: str) -> list[Call]:
    return [c for rel in BUNDLE_FILES for c in reads(roles, f"{code_uri.rstrip('/')}/{rel}",
                                                         origin)]


def module_uris(module: Module) -> dict[str, str]:
    return {name: module.local(name) for name in ("code_uri", "warehouse_uri", "results_uri",
                                                  "log_uri")}


def submit_calls(module: Module) -> list[Call]:
    """What `spark-lester emr submit` makes the cluster do (paths from spark_lester.aws)."""
    from spark_lester.aws.s3 import join_uri
    from spark_lester.aws.submit import _default_results

    uris = module_uris(module)
    origin = "emr submit"
    results = join_uri(_default_results(uris["warehouse_uri"]), "20250101T000000Z-abc123")
    inputs = join_uri(uris["code_uri"], "inputs", "20250101T000000Z-abc123")
    return (bundle(["emr"], uris["code_uri"], origin)
            + reads(["emr"], f"{inputs}/pipeline.py", origin)
            + reads(["emr"], f"{inputs}/request.json", origin)
            + writes(["emr"], f"{results}/1-run.json", origin)
            + warehouse(["emr"], uris["warehouse_uri"], origin)
            + [Call("emr", "s3:PutObject",
                    "arn:aws:s3:::" + "/".join(_split(uris["log_uri"])).rstrip("/")
                    + "/j-1ABC/steps/s-1ABC/stderr.gz", origin),
               # RunJobFlow: EMR's service role hands the instance role to the nodes.
               Call("emr-service", "iam:PassRole",
                    module.instances("aws_iam_role", "emr_ec2").get("arn"), origin,
                    (("iam:PassedToService", "ec2.amazonaws.com"),))])


def glue_calls(module: Module) -> list[Call]:
    """What the Glue jobs do: scripts and modules from the code bucket, TempDir, the staged
    pipeline files under the warehouse, continuous logs and metrics."""
    uris = module_uris(module)
    origin = "Glue jobs"
    temp = module.local("glue_arguments")["--TempDir"]
    logs = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws-glue/jobs/logs-v2:log-stream:jr_1"
    return (bundle(["glue"], uris["code_uri"], origin)
            + writes(["glue"], temp, origin, delete=True)
            + warehouse(["glue"], uris["warehouse_uri"], origin)
            + [Call("glue", a, logs, origin) for a in ("logs:CreateLogStream", "logs:PutLogEvents")]
            + [Call("glue", "cloudwatch:PutMetricData", "*", origin,
                    (("cloudwatch:namespace", "Glue"),))])


def dag_calls() -> tuple[dict[str, Any], list[Call]]:
    """The Airflow example's clusters, for the module deployed with the DAG's bucket names."""
    consts = {t.id: ast.literal_eval(node.value) for node in ast.parse(DAG.read_text()).body
              if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)
              and isinstance(node.value, ast.Constant)}
    code_bucket, code_prefix = _split(consts["CODE_URI"])
    wh_bucket, wh_prefix = _split(consts["WAREHOUSE"])
    variables = {"code_bucket_name": code_bucket, "code_prefix": code_prefix,
                 "artifacts_bucket_name": wh_bucket, "warehouse_prefix": wh_prefix,
                 "logs_bucket_name": _split(consts["LOG_URI"])[0],
                 "source_bucket_names": sorted({_split(consts[n])[0]
                                                for n in ("CUSTOMERS", "MAILS")})}
    origin = "examples/airflow"
    request = f"s3://{consts['REQUESTS_BUCKET']}/{consts['REQUESTS_INCOMING']}r1.json"
    calls = (bundle(["emr"], consts["CODE_URI"], origin)
             + reads(["emr"], consts["PIPELINE"], origin)
             + reads(["emr"], consts["CUSTOMERS"], origin) + reads(["emr"], consts["MAILS"], origin)
             + reads(["emr"], request, origin)
             + warehouse(["emr"], consts["WAREHOUSE"], origin)
             + writes(["emr"], f"{consts['RESULTS']}/20250101/run.json", origin)
             + writes(["emr"], f"{consts['RESULTS']}/deletions/r1.json", origin)
             + [Call("emr", "s3:PutObject", "arn:aws:s3:::" + "/".join(_split(consts["LOG_URI"]))
                     .rstrip("/") + "/j-1/node/i-1/applications/spark.gz", origin)])
    return variables, calls


# --- the README ------------------------------------------------------------------------------

def _aws_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Running on AWS")
    return text[start:text.index("\n## ", start + 1)]


def _commands(section: str) -> list[list[str]]:
    """The shell commands of the section's bash blocks (continuations joined; a quoted
    argument may span lines, as the Glue JSON does)."""
    blocks = re.findall(r"```bash\n(.*?)```", section, re.S)
    lines = "\n".join(blocks).replace("\\\n", " ").splitlines()
    out, pending = [], ""
    for line in lines:
        pending = f"{pending}\n{line}" if pending else line
        try:
            argv = shlex.split(pending, comments=True)
        except ValueError:  # an open quote: the command goes on
            continue
        if argv:
            out.append(argv)
        pending = ""
    return out


def _hcl_value(text: str) -> Any:
    import hcl2

    from tests.terraform.test_terraform_structure import _clean

    return _clean(hcl2.loads(f"v = {text}\n"))["v"]


def readme_terraform_runs() -> list[tuple[str, dict[str, Any]]]:
    """Each `terraform plan|apply` of the README with the variables it runs with: the
    tfvars the README has the user copy (terraform.tfvars.example), then its -var flags."""
    import hcl2

    from tests.terraform.test_terraform_structure import _clean

    section = _aws_section()
    assert "terraform.tfvars.example terraform/terraform.tfvars" in section, \
        "the README flow must start from terraform.tfvars.example"
    base = _clean(hcl2.loads((ROOT / "terraform.tfvars.example").read_text()))
    runs = []
    for argv in _commands(section):
        if not argv or argv[0] != "terraform":
            continue
        sub = [a for a in argv[1:] if not a.startswith("-chdir")]
        if not sub or sub[0] not in ("plan", "apply") or (len(sub) == 2 and
                                                          sub[1].endswith(".tfplan")):
            continue
        assert "-chdir=terraform" in argv, f"run terraform with -chdir=terraform: {argv}"
        values = dict(base)
        for i, arg in enumerate(argv):
            if arg == "-var":
                name, _, value = argv[i + 1].partition("=")
                values[name] = _hcl_value(value) if value[:1] in "[{" else value
        runs.append((" ".join(argv), values))
    return runs


def readme_calls(placeholders: Mapping[str, str]) -> list[Call]:
    """The README's s3:// URIs that clusters and Glue jobs read or write. What a URI is for
    comes from the flag (or Glue argument) before it: --upload is the bundle, --result-uri
    and --json are written, --warehouse is read-written, anything else (pipelines, sources,
    requests) is read."""
    import json

    calls: list[Call] = []

    def add(flag: str, text: str) -> None:
        for uri in re.findall(r"s3://[A-Z_]+[^\s\"',}]*", text):
            bucket, key = _split(uri)
            if bucket not in placeholders:
                raise AssertionError(f"README names an unknown bucket {bucket} ({uri}); "
                                     f"use one of {sorted(placeholders)}")
            real, origin = f"s3://{placeholders[bucket]}/{key}", f"README: {uri}"
            if flag == "--upload":
                calls.extend(bundle(ROLES, real, origin))
            elif flag in ("--result-uri", "--json"):
                calls.extend(writes(ROLES, real, origin))
            elif flag == "--warehouse":
                calls.extend(warehouse(ROLES, real, origin))
            else:
                calls.extend(reads(ROLES, real, origin))

    for argv in _commands(_aws_section()):
        for i, arg in enumerate(argv):
            if arg.lstrip().startswith("{") and "s3://" in arg:  # Glue --arguments JSON
                for key, value in json.loads(arg).items():
                    add(key, value)
            else:
                add(argv[i - 1] if i and argv[i - 1].startswith("-") else "", arg)
    return calls


def _module_for(root_values: Mapping[str, Any], *, text_override=None) -> Module:
    """The module as the root configuration instantiates it for ``root_values``."""
    root = Module(ROOT, {k: v for k, v in root_values.items()})
    attrs, _ = root.block("module", "lester", "lester")
    args = {k: root.eval(v, {}) for k, v in attrs.items() if k != "source"}
    return Module(MODULE, args, text_override=text_override, files=BUNDLE_TEXT)


def _placeholders(module: Module) -> dict[str, str]:
    names = module.local("bucket_names")
    return {"CODE_BUCKET": names["code"], "ARTIFACTS_BUCKET": names["artifacts"],
            "LOGS_BUCKET": names["logs"], "RAW_BUCKET": "RAW_BUCKET"}


def _report(calls: list[Call]) -> str:
    return "\n".join(f"  {c.role}: {c.action} {c.resource}  ({c.origin})" for c in calls[:40])


# --- tests -----------------------------------------------------------------------------------

def test_readme_flow_allows_every_documented_call():
    runs = readme_terraform_runs()
    assert len(runs) >= 3, runs  # plan, the ephemeral cluster, and the apply after it
    for command, values in runs:
        module = _module_for(values)
        calls = (readme_calls(_placeholders(module)) + submit_calls(module)
                 + glue_calls(module))
        bad = denied(module, calls)
        assert not bad, f"{command}\nwould be denied:\n{_report(bad)}"


def test_airflow_example_is_allowed():
    variables, calls = dag_calls()
    module = Module(MODULE, {"name_prefix": "lester", "bundle_dir": "dist", **variables},
                    files=BUNDLE_TEXT)
    bad = denied(module, calls)
    assert not bad, f"would be denied:\n{_report(bad)}"


def test_what_must_stay_denied_is_denied():
    module = _module_for({"region": "REGION", "source_bucket_names": ["RAW_BUCKET"]})
    names = module.local("bucket_names")
    never = [
        Call("emr", "s3:PutObject", f"arn:aws:s3:::{names['code']}/spark_lester/x.whl", "code"),
        Call("glue", "s3:DeleteObject", f"arn:aws:s3:::{names['code']}/pipelines/p.py", "code"),
        Call("emr", "s3:PutObject", "arn:aws:s3:::RAW_BUCKET/customers/x.csv", "read-only"),
        Call("emr", "s3:GetObject", "arn:aws:s3:::some-other-bucket/x", "unnamed bucket"),
        Call("glue", "s3:DeleteBucket", f"arn:aws:s3:::{names['artifacts']}", "bucket admin"),
        Call("emr", "s3:GetObject", f"arn:aws:s3:::{names['artifacts']}/warehouse/x",
             "plain HTTP", (("aws:SecureTransport", "false"),)),
        Call("glue", "cloudwatch:PutMetricData", "*", "other namespace",
             (("cloudwatch:namespace", "AWS/EC2"),)),
        Call("emr-service", "iam:PassRole", module.instances("aws_iam_role", "glue").get("arn"),
             "another role", (("iam:PassedToService", "ec2.amazonaws.com"),)),
        Call("emr-service", "iam:PassRole",
             module.instances("aws_iam_role", "emr_ec2").get("arn"), "another service",
             (("iam:PassedToService", "lambda.amazonaws.com"),)),
    ]
    wrongly_allowed = [c for c in never if c not in denied(module, never)]
    assert not wrongly_allowed, _report(wrongly_allowed)


PLANTED = {
    "pipelines outside the code prefix": ('"${local.bucket_arns["code"]}/*"',
                                          '"${local.bucket_arns["code"]}/${local.code_prefix}/*"'),
    "no delete on the warehouse": ('      "s3:DeleteObject",\n', ""),
    "logs bucket not writable": ('resources = ["${local.bucket_arns["logs"]}/*"]',
                                 'resources = ["${local.bucket_arns["logs"]}/glue/*"]'),
}


@pytest.mark.parametrize("mistake", sorted(PLANTED))
def test_planted_mistakes_are_caught(mistake):
    """Each planted narrowing of iam.tf makes some documented call denied."""
    old, new = PLANTED[mistake]
    text = (MODULE / "iam.tf").read_text(encoding="utf-8")
    assert old in text, f"the planted mistake {mistake!r} no longer applies to iam.tf"
    values = {"region": "REGION", "source_bucket_names": ["RAW_BUCKET"]}
    planted = _module_for(values, text_override={"iam.tf": text.replace(old, new)})
    calls = (readme_calls(_placeholders(planted)) + submit_calls(planted) + glue_calls(planted))
    assert denied(planted, calls), f"{mistake}: no documented call denied"
    assert not denied(_module_for(values), calls)


def test_an_apply_without_source_buckets_is_caught():
    """The README's old flow: source_bucket_names given to one apply only. An apply without
    it takes the roles' read access to the raw bucket away; the check sees that."""
    command, values = readme_terraform_runs()[-1]
    values = {k: v for k, v in values.items() if k != "source_bucket_names"}
    module = _module_for(values)
    bad = denied(module, readme_calls(_placeholders(module)))
    assert bad and all("RAW_BUCKET" in c.resource for c in bad), _report(bad)
