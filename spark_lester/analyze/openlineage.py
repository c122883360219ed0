"""OpenLineage JobEvents and DatasetEvents for a catalog, validated against the spec offline.

Datasets are named as the OpenLineage naming spec says: S3 ``s3://{bucket}`` + key path;
Glue ``arn:aws:glue:{region}:{account}`` + ``table/{database}/{table}``; Athena
``awsathena://athena.{region}.amazonaws.com`` + ``{catalog}.{database}.{table}``; Redshift
``redshift://{cluster}.{region}:{port}`` + ``{database}.{schema}.{table}``; Postgres/MySQL
``postgres://{host}:{port}``/``mysql://{host}:{port}`` + ``{database}.{schema}.{table}``;
HDFS ``hdfs://{namenode}:{port}`` + path. Unknown parts (region, account, cluster) stay as
``{placeholders}``. Jobs carry ``jobType``, ``ownership``, ``sourceCodeLocation`` and
``documentation`` facets; a dataset event links a Glue table to its S3 location with a
``symlinks`` facet. The JSON schemas are vendored in ``analyze/schemas`` (see its README).

>>> dataset_name("s3a://acme-raw/orders/dt=2024-01-01/")
('s3://acme-raw', 'orders/dt={dt}')
>>> dataset_name("glue://crm.customers", region="eu-west-1", account="123456789012")
('arn:aws:glue:eu-west-1:123456789012', 'table/crm/customers')
"""

from __future__ import annotations

import json
import re
import subprocess
from datetime import datetime, timezone
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from spark_lester.analyze.locations import normalize_uri
from spark_lester.errors import AnalyzeError

PRODUCER = "https://github.com/spark-lester/spark_lester/tree/main/spark_lester/analyze"
CORE_SCHEMA = "https://openlineage.io/spec/2-1-0/OpenLineage.json"
#: Older core versions the vendored facet schemas refer to; all resolve to the vendored core.
CORE_ALIASES = ("1-0-1", "1-0-2", "1-0-3", "2-0-0", "2-0-2")
FACET_SCHEMAS = {
    "jobType": ("JobTypeJobFacet.json", "https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet"),
    "ownership": ("OwnershipJobFacet.json", "https://openlineage.io/spec/facets/1-0-0/OwnershipJobFacet.json#/$defs/OwnershipJobFacet"),
    "sourceCodeLocation": ("SourceCodeLocationJobFacet.json", "https://openlineage.io/spec/1-0-1/SourceCodeLocationJobFacet.json#/$defs/SourceCodeLocationJobFacet"),
    "documentation": ("DocumentationJobFacet.json", "https://openlineage.io/spec/facets/1-0-0/DocumentationJobFacet.json#/$defs/DocumentationJobFacet"),
}
SYMLINKS_SCHEMA = "https://openlineage.io/spec/facets/1-0-1/SymlinksDatasetFacet.json#/$defs/SymlinksDatasetFacet"
_INTEGRATION = {"airflow_dag": ("AIRFLOW", "DAG"), "dagfactory": ("AIRFLOW", "DAG"),
                "glue_job": ("GLUE", "JOB"), "pyspark": ("SPARK", "JOB"), "sql": ("SQL", "QUERY"),
                "emr_steps": ("EMR", "JOB"), "python": ("PYTHON", "JOB")}


def dataset_name(uri: str, *, region: str = "{region}", account: str = "{account_id}",
                 cluster: str = "{cluster}") -> tuple[str, str]:
    """The OpenLineage (namespace, name) of a normalised location."""
    uri = normalize_uri(uri)
    if uri.startswith("glue://"):
        db, _, table = uri[7:].partition(".")
        return f"arn:aws:glue:{region}:{account}", f"table/{db}/{table}" if table else f"table/default/{db}"
    if uri.startswith("athena://"):
        return f"awsathena://athena.{region}.amazonaws.com", f"awsdatacatalog.{uri[9:]}"
    if uri.startswith("redshift://"):
        return f"redshift://{cluster}.{region}:5439", uri[11:]
    if uri.startswith("jdbc:"):
        m = re.match(r"jdbc:(\w+)://([^/?;]+)(?:/([^?;]*))?(?:[?;](.*))?$", uri)
        if m:
            engine, hostport, db, params = m.groups()
            table = dict(p.split("=", 1) for p in re.split(r"[&;]", params or "") if "=" in p).get("dbtable", "")
            engine = "postgres" if engine == "postgresql" else engine
            if engine == "mysql":
                name = ".".join(x for x in (db, table) if x)
            else:
                name = ".".join(x for x in (db, table if "." in table else (f"public.{table}" if table else "")) if x)
            return f"{engine}://{hostport}", name or (db or "")
        base, _, rest = uri.partition("?")
        table = rest.partition("dbtable=")[2]
        return base, table or base
    m = re.match(r"^([a-z0-9+.\-]+)://([^/]*)/?(.*)$", uri)
    if m:
        scheme, authority, path = m.groups()
        if scheme == "file" or (scheme == "hdfs" and not authority):
            return ("file" if scheme == "file" else "hdfs://{namenode}:8020"), "/" + path
        if scheme == "dynamodb":
            return f"arn:aws:dynamodb:{region}:{account}", f"table/{authority}"
        return f"{scheme}://{authority}", path or "/"
    return "unresolved", uri


def _facet(kind: str, **fields: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": FACET_SCHEMAS[kind][1], **fields}


def _git(root: str) -> dict[str, str]:
    def run(*args: str) -> str:
        try:
            return subprocess.run(["git", "-C", root, *args], capture_output=True, text=True,
                                  timeout=10, check=False).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return ""
    return {"version": run("rev-parse", "HEAD"), "repoUrl": run("config", "--get", "remote.origin.url"),
            "branch": run("rev-parse", "--abbrev-ref", "HEAD")}


def _source_url(root: str, file: str, git: dict[str, str]) -> str:
    repo = git.get("repoUrl", "")
    m = re.match(r"(?:git@github\.com:|https://github\.com/)(.+?)(?:\.git)?$", repo)
    if m and git.get("version"):
        return f"https://github.com/{m.group(1)}/blob/{git['version']}/{file}"
    return (Path(root) / file).resolve().as_uri()


def _owner_urn(name: str) -> str:
    if ":" in name:
        return name
    return f"team:{name.lstrip('@')}" if name.startswith("@") and "/" in name else f"user:{name.lstrip('@')}"


def job_events(catalog: dict[str, Any], *, namespace: str = "spark_lester", region: str = "{region}",
               account: str = "{account_id}", event_time: str | None = None) -> list[dict[str, Any]]:
    """One JobEvent per pipeline, inputs and outputs named by the OpenLineage spec."""
    when = event_time or datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
    root = catalog.get("root", ".")
    git = _git(root)
    events = []
    for p in catalog.get("pipelines", []):
        integration, job_type = _INTEGRATION.get(p.get("kind", ""), ("PYTHON", "JOB"))
        streaming = any("writeStream" in str(o.get("detail", "")) or o.get("detail", "").startswith("start")
                        for o in p.get("operations", [])) or any(
            (loc.get("via") or "") == "checkpointLocation" for loc in p.get("locations", []))
        facets: dict[str, Any] = {
            "jobType": _facet("jobType", processingType="STREAMING" if streaming else "BATCH",
                              integration=integration, jobType=job_type),
            "sourceCodeLocation": _facet("sourceCodeLocation", type="git",
                                         url=_source_url(root, p["file"], git), path=p["file"],
                                         **{k: v for k, v in git.items() if v}),
        }
        owners = [{"name": _owner_urn(o["name"]), "type": "MAINTAINER" if o["source"] != "git" else "CONTRIBUTOR"}
                  for o in p.get("owners", [])]
        if owners:
            facets["ownership"] = _facet("ownership", owners=owners)
        if p.get("summary"):
            facets["documentation"] = _facet("documentation", description=p["summary"])
        inputs, outputs = [], []
        for loc in p.get("locations", []):
            ns, name = dataset_name(loc["uri"], region=region, account=account)
            ds = {"namespace": ns, "name": name}
            if loc["role"] in ("input", "interim") and ds not in inputs:
                inputs.append(ds)
            if loc["role"] in ("output", "interim") and ds not in outputs:
                outputs.append(ds)
        events.append({
            "eventTime": when, "producer": PRODUCER, "schemaURL": f"{CORE_SCHEMA}#/$defs/JobEvent",
            "job": {"namespace": namespace, "name": p.get("dag_id") or p["file"], "facets": facets},
            "inputs": inputs, "outputs": outputs,
        })
    return events


def dataset_events(catalog: dict[str, Any], *, region: str = "{region}", account: str = "{account_id}",
                   event_time: str | None = None) -> list[dict[str, Any]]:
    """One DatasetEvent per dataset; tables with a known storage location get ``symlinks``."""
    when = event_time or datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
    events = []
    for g in catalog.get("datasets", []):
        uris = list(dict.fromkeys(g.get("uris", []) + g.get("aliases", [])))
        storage = [u for u in uris if not u.startswith(("glue://", "athena://", "redshift://"))]
        tables = [u for u in uris if u.startswith(("glue://", "athena://", "redshift://"))]
        primary = (storage or tables or [g["id"]])[0]
        ns, name = dataset_name(primary, region=region, account=account)
        dataset: dict[str, Any] = {"namespace": ns, "name": name}
        others = [u for u in uris if u != primary]
        if others:
            dataset["facets"] = {"symlinks": {
                "_producer": PRODUCER, "_schemaURL": SYMLINKS_SCHEMA,
                "identifiers": [dict(zip(("namespace", "name"), dataset_name(u, region=region, account=account),
                                         strict=True), type="TABLE" if u in tables else "LOCATION") for u in others]}}
        events.append({"eventTime": when, "producer": PRODUCER,
                       "schemaURL": f"{CORE_SCHEMA}#/$defs/DatasetEvent", "dataset": dataset})
    return events


def openlineage(catalog: dict[str, Any], **kwargs: Any) -> list[dict[str, Any]]:
    """All JobEvents, then all DatasetEvents, of a catalog."""
    return job_events(catalog, **kwargs) + dataset_events(
        catalog, **{k: v for k, v in kwargs.items() if k != "namespace"})


@lru_cache(maxsize=1)
def _validators() -> tuple[Any, dict[str, Any]]:
    try:
        from jsonschema import Draft202012Validator
        from referencing import Registry, Resource
    except ImportError as err:  # pragma: no cover - jsonschema is in the analyze extra
        raise AnalyzeError("jsonschema is not installed", hint="pip install 'spark_lester[analyze]'") from err
    base = resources.files("spark_lester.analyze") / "schemas"
    core = json.loads((base / "OpenLineage.json").read_text(encoding="utf-8"))
    pairs = [(CORE_SCHEMA, Resource.from_contents(core))]
    pairs += [(f"https://openlineage.io/spec/{v}/OpenLineage.json", Resource.from_contents(core)) for v in CORE_ALIASES]
    facet_validators = {}
    for key, (file, _) in FACET_SCHEMAS.items():
        schema = json.loads((base / file).read_text(encoding="utf-8"))
        pairs.append((schema["$id"], Resource.from_contents(schema)))
        facet_validators[key] = schema
    registry = Registry().with_resources(pairs)
    core_validator = Draft202012Validator(core, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER)
    facets = {k: Draft202012Validator(s, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER)
              for k, s in facet_validators.items()}
    return core_validator, facets


def validation_errors(event: dict[str, Any]) -> list[str]:
    """Schema violations of one event (core spec plus the known job facets); empty if valid."""
    core, facets = _validators()
    errors = [f"{'/'.join(map(str, e.absolute_path)) or '<event>'}: {e.message}" for e in core.iter_errors(event)]
    job_facets = (event.get("job") or {}).get("facets") or {}
    for key, validator in facets.items():
        if key in job_facets:
            errors += [f"job/facets/{key}: {e.message}" for e in validator.iter_errors({key: job_facets[key]})]
    return errors


def validate_event(event: dict[str, Any]) -> None:
    """Raise :class:`~spark_lester.errors.AnalyzeError` if ``event`` violates the schema."""
    errors = validation_errors(event)
    if errors:
        raise AnalyzeError("invalid OpenLineage event: " + "; ".join(errors[:5]))
