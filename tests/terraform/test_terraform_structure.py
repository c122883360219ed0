"""terraform/: parsed with python-hcl2 and checked for what the module promises.

Required variables and outputs, the S3 paths of the bootstrap action, step driver and
classifications match the files in emr/ (and the names the Python side uses), the step command
line matches emr/steps/*.json, every bucket is encrypted, private and TLS-only, IAM grants only
the named buckets and the APIs needed, and nothing names an account, a region or a secret.
`terraform init` is never run (the registry is not reachable); formatting is checked in
test_terraform_fmt.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from spark_lester.config import project_root

hcl2 = pytest.importorskip("hcl2", reason="python-hcl2 is in the dev extra")

ROOT = project_root() / "terraform"
MODULE = ROOT / "modules" / "lester"
REPO = project_root()


def _clean(node: Any) -> Any:
    """python-hcl2 keeps HCL quotes on labels and strings and marks blocks; drop both."""
    if isinstance(node, dict):
        return {_unquote(k): _clean(v) for k, v in node.items()
                if k not in ("__is_block__", "__comments__")}
    if isinstance(node, list):
        return [_clean(v) for v in node]
    if isinstance(node, str):
        return _unquote(node)
    return node


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1].replace('\\"', '"')
    return text


def _load(folder: Path) -> dict[str, Any]:
    """{"variable": {name: body}, "output": ..., "locals": {...}, "resource": {type: {name: body}},
    "data": ..., "module": ...} merged over the folder's .tf files."""
    merged: dict[str, Any] = {"variable": {}, "output": {}, "locals": {}, "resource": {},
                              "data": {}, "module": {}, "provider": {}}
    for path in sorted(folder.glob("*.tf")):
        doc = _clean(hcl2.loads(path.read_text()))
        for block in doc.get("locals", []):
            merged["locals"].update(block)
        for kind in ("variable", "output", "module", "provider"):
            for block in doc.get(kind, []):
                merged[kind].update(block)
        for kind in ("resource", "data"):
            for block in doc.get(kind, []):
                for rtype, named in block.items():
                    merged[kind].setdefault(rtype, {}).update(named)
    return merged


@pytest.fixture(scope="module")
def module() -> dict[str, Any]:
    return _load(MODULE)


@pytest.fixture(scope="module")
def root() -> dict[str, Any]:
    return _load(ROOT)


def _blocks(value: Any) -> list[dict[str, Any]]:
    return value if isinstance(value, list) else [value]


def test_required_variables(module, root):
    required = {n for n, v in module["variable"].items() if "default" not in v}
    assert required == {"name_prefix", "bundle_dir"}
    assert {n for n, v in root["variable"].items() if "default" not in v} == {"region"}
    for tree in (module, root):
        for name, var in tree["variable"].items():
            assert var.get("description") and var.get("type"), name
    release = module["variable"]["release_label"]
    assert "emr-7" in release["validation"][0]["condition"]


def test_defaults_are_the_supported_versions(module):
    """spark_lester/aws/versions.py is the one statement of the EMR and Glue releases."""
    from spark_lester.aws import versions

    assert module["variable"]["release_label"]["default"] == versions.EMR_RELEASE
    assert module["variable"]["glue_version"]["default"] == versions.GLUE_VERSION
    for var in ("release_label", "glue_version"):
        text = module["variable"][var]["description"]
        assert versions.SPARK_VERSION in text and versions.DELTA_VERSION in text, var


def test_root_passes_a_valid_module_call(module, root):
    call = root["module"]["lester"]
    assert call["source"] == "./modules/lester"
    args = set(call) - {"source"}
    # Every module input is exposed under its name, with its type; defaults stay in the
    # module (null at the root, nullable = false in the module where the default is not null).
    assert args == set(module["variable"])
    assert set(root["variable"]) == set(module["variable"]) | {"region"}
    for name, var in module["variable"].items():
        assert root["variable"][name]["type"] == var["type"], name
        if name != "bundle_dir":
            assert call[name] == f"${{var.{name}}}", name
        if name in ("bundle_dir", "name_prefix"):
            continue
        assert root["variable"][name].get("default") is None, name
        if var.get("default") is not None:
            assert var.get("nullable") is False, f"{name}: a null from the root would win"
    assert root["provider"]["aws"]["region"] == "${var.region}"
    for name, out in root["output"].items():
        ref = re.fullmatch(r"\$\{module\.lester\.(\w+)\}", out["value"])
        assert ref and ref.group(1) in module["output"], name


def test_outputs(module):
    assert {"code_bucket", "artifacts_bucket", "logs_bucket", "code_uri", "warehouse_uri",
            "log_uri", "results_uri", "bootstrap_uri", "step_script_uri", "cluster_id",
            "emr_service_role_name", "emr_instance_profile_name", "glue_role_arn",
            "glue_job_names"} <= set(module["output"])
    for name, out in module["output"].items():
        assert out.get("description"), name


def test_bootstrap_step_and_configuration_paths_match_emr_folder(module):
    from spark_lester.aws.emr import BOOTSTRAP_SCRIPT, CONFIGURATIONS
    from spark_lester.aws.steps import STEP_SCRIPT

    local = module["locals"]
    bootstrap = re.fullmatch(r"\$\{local\.code_uri\}/(.+)", local["bootstrap_uri"]).group(1)
    step_script = re.fullmatch(r"\$\{local\.code_uri\}/(.+)", local["step_script_uri"]).group(1)
    cluster = module["resource"]["aws_emr_cluster"]["this"]
    classifications = re.search(r'var\.bundle_dir\}/([^"]+)"', cluster["configurations_json"]).group(1)
    assert (bootstrap, step_script, classifications) == (BOOTSTRAP_SCRIPT, STEP_SCRIPT, CONFIGURATIONS)
    for rel in (bootstrap, step_script, classifications):
        assert (REPO / rel).is_file(), rel
    # The bundle is what gets uploaded, and `spark-lester package` copies emr/ into it.
    assert local["bundle_files"] == '${fileset(var.bundle_dir, "**")}'
    obj = module["resource"]["aws_s3_object"]["bundle"]
    assert obj["key"] == "${local.code_prefix}/${each.value}"
    assert local["code_uri"].endswith("/${local.code_prefix}")
    boot = cluster["bootstrap_action"][0]
    assert boot["path"] == "${local.bootstrap_uri}"
    assert boot["args"].startswith("${compact([local.code_uri")


def _tokens(args: list[str]) -> list[str]:
    """Literal arguments kept; references (``var.x``, ``local.y``, ``${...}``) become '*'."""
    return ["*" if "${" in a or re.fullmatch(r"(var|local|step)\.[\w.]+", a) else a for a in args]


def test_step_command_line_matches_the_json_templates(module):
    step = module["resource"]["aws_emr_cluster"]["this"]["dynamic"][0]["step"]
    args_expr = step["content"][0]["hadoop_jar_step"][0]["args"]
    inner = re.fullmatch(r"\$\{concat\(\[(.*)\], step\.value\.args\)\}", args_expr, re.S).group(1)
    hcl_args = [a.strip() for a in re.split(r',\s*(?=(?:[^"]*"[^"]*")*[^"]*$)', inner) if a.strip()]
    hcl_args = [_unquote(a) for a in hcl_args]
    for kind, command in (("run_pipeline.json", "run"), ("apply_deletion.json", "delete")):
        template = json.loads((REPO / "emr" / "steps" / kind).read_text())
        targs = template["HadoopJarStep"]["Args"]
        prefix = targs[:targs.index(command)]
        assert _tokens(hcl_args[:-1]) == _tokens(prefix), kind
    assert hcl_args[-1] == "step.value.command"
    steps = module["locals"]["steps"]
    assert 'command = "run"' in steps and 'command = "delete"' in steps
    assert '"--source", "${name}=${uri}"' in steps and '"--warehouse", local.warehouse_uri' in steps


def test_ephemeral_cluster(module):
    cluster = module["resource"]["aws_emr_cluster"]["this"]
    assert cluster["count"] == "${var.create_cluster ? 1 : 0}"
    assert cluster["release_label"] == "${var.release_label}"
    assert cluster["keep_job_flow_alive_when_no_steps"] is False
    assert cluster["termination_protection"] is False
    assert cluster["auto_termination_policy"][0]["idle_timeout"] == "${var.idle_timeout_seconds}"
    assert cluster["log_uri"] == "${local.log_uri}"
    assert module["locals"]["log_uri"].startswith('s3://${aws_s3_bucket.this["logs"]')
    assert cluster["master_instance_group"] and cluster["core_instance_group"]
    assert "Spark" in cluster["applications"]
    assert cluster["ec2_attributes"][0]["instance_profile"] == "${aws_iam_instance_profile.emr_ec2.arn}"
    assert cluster["service_role"] == "${aws_iam_role.emr_service.arn}"


def test_every_bucket_is_encrypted_private_and_tls_only(module):
    res = module["resource"]
    assert set(res["aws_s3_bucket"]) == {"this"}
    assert res["aws_s3_bucket"]["this"]["for_each"] == "${local.bucket_names}"
    assert set(module["locals"]["bucket_names"]) == {"code", "artifacts", "logs"}
    for rtype in ("aws_s3_bucket_public_access_block", "aws_s3_bucket_server_side_encryption_configuration",
                  "aws_s3_bucket_policy", "aws_s3_bucket_ownership_controls", "aws_s3_bucket_versioning"):
        (body,) = res[rtype].values()  # exactly one, covering every bucket
        assert body["for_each"] == "${aws_s3_bucket.this}", rtype
        assert body["bucket"] == "${each.value.id}", rtype
    (pab,) = res["aws_s3_bucket_public_access_block"].values()
    assert all(pab[k] is True for k in ("block_public_acls", "block_public_policy",
                                         "ignore_public_acls", "restrict_public_buckets"))
    (sse,) = res["aws_s3_bucket_server_side_encryption_configuration"].values()
    algo = sse["rule"][0]["apply_server_side_encryption_by_default"][0]["sse_algorithm"]
    assert algo in ("AES256", "aws:kms", '${var.kms_key_arn == null ? "AES256" : "aws:kms"}')
    (versioning,) = res["aws_s3_bucket_versioning"].values()
    assert versioning["versioning_configuration"][0]["status"] == "Disabled"  # no stale copies
    (policy,) = res["aws_s3_bucket_policy"].values()
    doc_name = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.(\w+)\[each\.key\]\.json\}",
                            policy["policy"]).group(1)
    doc = module["data"]["aws_iam_policy_document"][doc_name]
    assert doc["for_each"] == "${aws_s3_bucket.this}"
    deny = [s for s in _blocks(doc["statement"]) if s.get("effect") == "Deny"]
    assert len(deny) == 1
    (stmt,) = deny
    assert stmt["actions"] == ["s3:*"]
    assert stmt["resources"] == ["${each.value.arn}", "${each.value.arn}/*"]
    assert stmt["principals"][0] == {"type": "*", "identifiers": ["*"]}
    assert stmt["condition"][0] == {"test": "Bool", "variable": "aws:SecureTransport",
                                    "values": ["false"]}


def test_logs_expire(module):
    rules = module["resource"]["aws_s3_bucket_lifecycle_configuration"]
    logs = rules["logs"]
    assert logs["bucket"] == '${aws_s3_bucket.this["logs"].id}'
    rule = logs["rule"][0]
    assert rule["status"] == "Enabled"
    assert rule["expiration"][0]["days"] == "${var.log_retention_days}"


def _expand(text: str, local: dict[str, Any], depth: int = 0) -> str:
    """Replace local.NAME references by their definitions (transitively)."""
    if depth > 10:
        return text
    def sub(m: re.Match[str]) -> str:
        value = local.get(m.group(1))
        return _expand(json.dumps(value), local, depth + 1) if value is not None else m.group(0)
    return re.sub(r"local\.(\w+)", sub, text)


def _statements(module):
    for name, doc in module["data"]["aws_iam_policy_document"].items():
        for stmt in _blocks(doc.get("statement", [])):
            yield name, stmt


def test_iam_grants_only_named_buckets_and_needed_apis(module):
    local = module["locals"]
    bucket_refs = ("aws_s3_bucket.this", "var.source_bucket_names", "var.writable_source_bucket_names")
    for name, stmt in _statements(module):
        if stmt.get("effect") == "Deny":
            continue
        actions = stmt["actions"]
        for action in actions:
            api = action.partition(":")[2]
            assert "*" not in api, f"{name}: wildcard action {action}"
        resources = stmt.get("resources", [])
        text = _expand(json.dumps(resources), local)
        if any(a.startswith("s3:") for a in actions):
            assert resources, name
            assert '"*"' not in text and ":::*" not in text, f"{name}: S3 on every bucket"
            assert any(ref in text for ref in bucket_refs), f"{name}: S3 outside the named buckets"
            for arn in re.findall(r"arn:[^\"]*:s3:::[^\"$]+", text):
                pytest.fail(f"{name}: literal bucket ARN {arn}")
        if "*" in resources:
            assert actions == ["cloudwatch:PutMetricData"], f"{name}: '*' resource for {actions}"
            assert stmt["condition"][0]["variable"] == "cloudwatch:namespace"
        if "iam:PassRole" in actions:
            assert resources == ["${aws_iam_role.emr_ec2.arn}"]
            assert stmt["condition"][0]["values"] == ["ec2.amazonaws.com"]
    # Write access only where the engine writes.
    ec2 = {s["sid"]: s for s in _blocks(module["data"]["aws_iam_policy_document"]["emr_ec2"]["statement"])}
    assert ec2["ReadCodeAndSources"]["actions"] == ["s3:GetObject"]
    assert "code" in _expand(json.dumps(ec2["ReadCodeAndSources"]["resources"]), local)
    writable = _expand(json.dumps(ec2["ReadWriteArtifacts"]["resources"]), local)
    assert '\\"artifacts\\"' in writable and '\\"code\\"' not in writable
    assert ec2["WriteLogs"]["actions"] == ["s3:PutObject"]


def test_roles_trust_only_their_service_and_attach_only_scoped_policies(module):
    res = module["resource"]
    docs = module["data"]["aws_iam_policy_document"]
    expected = {"emr_service": "elasticmapreduce.amazonaws.com", "emr_ec2": "ec2.amazonaws.com",
                "glue": "glue.amazonaws.com"}
    assert set(res["aws_iam_role"]) == set(expected)
    for role, service in expected.items():
        doc = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.(\w+)\.json\}",
                           res["aws_iam_role"][role]["assume_role_policy"]).group(1)
        (stmt,) = _blocks(docs[doc]["statement"])
        assert stmt["actions"] == ["sts:AssumeRole"]
        assert stmt["principals"][0] == {"type": "Service", "identifiers": [service]}
    attachments = res.get("aws_iam_role_policy_attachment", {})
    assert [a["policy_arn"] for a in attachments.values()] == \
        ["arn:${local.partition}:iam::aws:policy/service-role/AmazonEMRServicePolicy_v2"]
    assert all(a["role"] == "${aws_iam_role.emr_service.name}" for a in attachments.values())
    text = "\n".join(p.read_text() for p in MODULE.glob("*.tf"))
    for broad in ("AdministratorAccess", "FullAccess", "AmazonElasticMapReduceRole",
                  "AmazonElasticMapReduceforEC2Role", "AWSGlueServiceRole"):
        assert broad not in text


def test_glue_jobs(module):
    local = module["locals"]
    assert set(local["glue_scripts"].values()) == {"glue_jobs/run_pipeline.py",
                                                   "glue_jobs/apply_deletion.py"}
    job = module["resource"]["aws_glue_job"]["this"]
    assert job["glue_version"] == "${var.glue_version}"
    assert job["role_arn"] == "${aws_iam_role.glue.arn}"
    assert job["command"][0]["script_location"] == "${local.code_uri}/${each.value}"
    assert job["command"][0]["name"] == "glueetl"
    assert job["execution_property"][0]["max_concurrent_runs"] == 1  # one Delta writer
    assert job["default_arguments"] == "${local.glue_arguments}"
    assert "local.manifest.glue.default_arguments" in local["glue_arguments"]
    assert '"{code_uri}", local.code_uri' in local["glue_arguments"]


def test_no_hard_coded_accounts_regions_or_secrets():
    region = re.compile(r"\b(us|eu|ap|sa|ca|me|af|il|mx)-(gov-)?(north|south|east|west|central|"
                        r"northeast|southeast|northwest|southwest)-\d\b")
    for path in sorted(ROOT.rglob("*.tf")) + [ROOT / "terraform.tfvars.example"]:
        text = path.read_text()
        assert not re.search(r"(?<![\w.])\d{12}(?![\w.])", text), f"{path}: account id"
        assert not region.search(text), f"{path}: region"
        assert not re.search(r"AKIA[0-9A-Z]{16}", text), f"{path}: access key"
        assert not re.search(r"(?i)(secret|password|token)\w*\s*=", text), f"{path}: secret"
