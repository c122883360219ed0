"""OpenLineage JobEvents and DatasetEvents for a catalog, validated against the spec offline.

Datasets are named as the OpenLineage naming spec (https://openlineage.io/docs/spec/naming)
says: S3 ``s3://{bucket}`` + path; Glue ``arn:aws:glue:{region}:{account}`` +
``table/{database}/{table}``; Athena ``awsathena://athena.{region}.amazonaws.com`` +
``{catalog}.{database}.{table}``; Redshift ``redshift://{cluster}.{region}:{port}`` +
``{database}.{schema}.{table}``; Postgres/MySQL ``postgres://{host}:{port}`` /
``mysql://{host}:{port}`` + ``{database}.{schema}.{table}`` / ``{database}.{table}``; HDFS
``hdfs://{namenode}:{port}`` + path. A file store's dataset is the folder above partitions,
placeholders and globs (``orders/dt={{ ds }}`` is the dataset ``orders``).

No part of a name is invented: where a location leaves the bucket, host, database, region,
account, cluster or namenode unknown, it is not emitted as a dataset but listed, with the
reason and what to supply, in the job's ``spark_lester_unresolvedDatasets`` facet (schema
vendored beside the spec's) and by :func:`unnamed_locations`. Region and account come from
the caller (``--region``/``--account``); a location may also carry ``region``, ``account``,
``cluster``, ``port`` or ``namenode`` keys when the code names them (a JDBC URL's Redshift
endpoint does). Jobs carry ``jobType``, ``ownership``, ``sourceCodeLocation`` and
``documentation`` facets; a dataset event links a Glue table to its S3 location with a
``symlinks`` facet. Events and facets are the openlineage-python client's classes, built
through :mod:`spark_lester.openlineage` (which also serves the plan's column lineage and holds
the one producer URL). The JSON schemas are vendored in ``analyze/schemas`` (see its README).

>>> dataset_name("s3a://acme-raw/orders/dt=2024-01-01/")
('s3://acme-raw', 'orders')
>>> dataset_name("glue://crm.customers", region="eu-west-1", account="123456789012")
('arn:aws:glue:eu-west-1:123456789012', 'table/crm/customers')
>>> dataset_name("jdbc:redshift://dwh.abc123.eu-west-1.redshift.amazonaws.com:5439/prod?dbtable=sales.orders")
('redshift://dwh.eu-west-1:5439', 'prod.sales.orders')
>>> dataset_name("glue://crm.customers")
Traceback (most recent call last):
...
spark_lester.errors.AnalyzeError: glue://crm.customers: the Glue catalog's region and account are unknown ...
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import attr
from openlineage.client.facet_v2 import (
    JobFacet,
    documentation_job,
    job_type_job,
    ownership_job,
    source_code_location_job,
    symlinks_dataset,
)

from spark_lester.analyze.locations import normalize_uri
from spark_lester.errors import AnalyzeError
from spark_lester.openlineage import dataset_event, facet, job_event
from spark_lester.openlineage import event_time as _now

CORE_SCHEMA = "https://openlineage.io/spec/2-1-0/OpenLineage.json"
#: Older core versions the vendored facet schemas refer to; all resolve to the vendored core.
CORE_ALIASES = ("1-0-1", "1-0-2", "1-0-3", "2-0-0", "2-0-2")
UNRESOLVED_FACET = "spark_lester_unresolvedDatasets"
#: The vendored schema file of each facet the emitters write, by facet key (job and dataset
#: facets). A facet's ``_schemaURL`` (set by the client's class) must be the file's ``$id``.
FACET_SCHEMAS = {
    "jobType": "JobTypeJobFacet.json",
    "ownership": "OwnershipJobFacet.json",
    "sourceCodeLocation": "SourceCodeLocationJobFacet.json",
    "documentation": "DocumentationJobFacet.json",
    UNRESOLVED_FACET: "UnresolvedDatasetsJobFacet.json",
    "symlinks": "SymlinksDatasetFacet.json",
    "columnLineage": "ColumnLineageDatasetFacet.json",
}


@attr.define
class UnresolvedDatasetsJobFacet(JobFacet):
    """This project's custom job facet: the reads and writes that have no spec name, and why."""

    datasets: list[dict[str, Any]]

    @staticmethod
    def _get_schema() -> str:
        return ("https://github.com/spark-lester/spark_lester/blob/main/spark_lester/analyze/schemas/"
                "UnresolvedDatasetsJobFacet.json#/$defs/UnresolvedDatasetsJobFacet")


_INTEGRATION = {"airflow_dag": ("AIRFLOW", "DAG"), "dagfactory": ("AIRFLOW", "DAG"),
                "glue_job": ("GLUE", "JOB"), "pyspark": ("SPARK", "JOB"), "sql": ("SQL", "QUERY"),
                "emr_steps": ("EMR", "JOB"), "python": ("PYTHON", "JOB")}
_TABLE_SCHEMES = ("glue://", "athena://", "redshift://")
_PLACEHOLDER = re.compile(r"\{|\}|\$")
_PARTITION = re.compile(r"^[A-Za-z_][\w\-]*=")
_GLOB = re.compile(r"[*?\[]")
_DEFAULT_PORTS = {"postgres": 5432, "mysql": 3306, "redshift": 5439, "sqlserver": 1433}
#: Redshift endpoints: provisioned ``cluster.id.region.redshift.amazonaws.com`` and serverless
#: ``workgroup.account.region.redshift-serverless.amazonaws.com``.
_REDSHIFT_HOST = re.compile(r"^([a-z0-9-]+)\.[a-z0-9]+\.([a-z]{2}(?:-gov)?-[a-z]+-\d)\.redshift(?:-serverless)?\.amazonaws\.com$", re.I)
_AWS_REGION = re.compile(r"^[a-z]{2}(?:-gov)?-[a-z]+-\d$")
_ACCOUNT = re.compile(r"^\d{12}$")


class _Unnamed(Exception):
    """Internal: why a location has no OpenLineage name (becomes a facet entry or an AnalyzeError)."""


def _known(value: Any) -> str | None:
    return value if isinstance(value, str) and value and not _PLACEHOLDER.search(value) else None


def _store_path(path: str) -> str:
    """The dataset part of a file-store path: cut at partitions, placeholders and globs."""
    kept = []
    for seg in (s for s in path.split("/") if s):
        if _PARTITION.match(seg) or _PLACEHOLDER.search(seg) or _GLOB.search(seg):
            break
        kept.append(seg)
    else:
        return "/".join(kept)
    if not kept:
        raise _Unnamed(f"the path starts with an unresolved part ({path!r}): no dataset to name")
    return "/".join(kept)


def _aws(kind: str, region: str | None, account: str | None = None, *, need_account: bool = True) -> None:
    missing = [n for n, v in (("region", region), ("account", account if need_account else "x")) if not v]
    if missing:
        one = len(missing) == 1
        raise _Unnamed(f"the {kind}'s {' and '.join(missing)} {'is' if one else 'are'} unknown and the "
                       f"OpenLineage name contains {'it' if one else 'them'} (pass --{' and --'.join(missing)})")
    if not _AWS_REGION.match(region or ""):
        raise _Unnamed(f"{region!r} is not an AWS region name")
    if need_account and not _ACCOUNT.match(account or ""):
        raise _Unnamed(f"{account!r} is not a 12-digit AWS account id")


def _jdbc(uri: str, ctx: Mapping[str, Any]) -> tuple[str, str]:
    m = re.match(r"jdbc:(\w+)://([^/?;]*)(?:/([^?;]*))?(?:[?;](.*))?$", uri)
    if not m:
        raise _Unnamed("not a JDBC URL of the form jdbc:engine://host:port/database (no naming rule for it)")
    engine, hostport, db, params = m.groups()
    opts = {k.lower(): v for k, v in parse_qsl((params or "").replace(";", "&"))}
    table, db = opts.get("dbtable") or ctx.get("table"), db or opts.get("databasename")
    engine = "postgres" if engine == "postgresql" else engine
    if engine not in _DEFAULT_PORTS:
        raise _Unnamed(f"no OpenLineage naming rule is implemented for jdbc:{engine}")
    host, _, port = hostport.partition(":")
    if not _known(host):
        raise _Unnamed("the database host is unresolved")
    port = port or str(_DEFAULT_PORTS[engine])
    if not _known(table):
        raise _Unnamed("the JDBC options name no table (dbtable), or it is unresolved")
    if not _known(db) and not (engine == "mysql" and "." in table):
        raise _Unnamed("the JDBC URL names no database")
    parts = table.split(".")
    if engine == "mysql":
        name = table if len(parts) == 2 else f"{db}.{table}"
    else:
        name = {1: f"{db}.public.{table}" if engine != "sqlserver" else f"{db}.dbo.{table}",
                2: f"{db}.{table}"}.get(len(parts), table)
    if engine == "redshift":
        rs = _REDSHIFT_HOST.match(host)
        cluster, region = (rs.groups() if rs else (_known(ctx.get("cluster")), _known(ctx.get("region"))))
        if not cluster or not region:
            raise _Unnamed("the Redshift host is not an AWS endpoint and no cluster/region is known")
        return f"redshift://{cluster.lower()}.{region}:{port}", name
    return f"{engine}://{host}:{port}", name


def _naming(uri: str, ctx: Mapping[str, Any]) -> tuple[str, str]:
    """(namespace, name) of a normalised location, or :class:`_Unnamed` with the reason."""
    uri = normalize_uri(uri)
    region, account = _known(ctx.get("region")), _known(ctx.get("account"))
    if uri.lower().startswith("jdbc:"):
        return _jdbc(uri, ctx)
    m = re.match(r"^([a-z0-9+.\-]+)://([^/]*)/?(.*)$", uri)
    if not m and uri.startswith("/") and not _PLACEHOLDER.search(uri.split("/")[1] if "/" in uri[1:] else uri):
        raise _Unnamed("a path without a scheme resolves against the cluster's default file system "
                       "(fs.defaultFS: HDFS on EMR, local in local mode), which the code does not name")
    if not m:
        raise _Unnamed("an unresolved placeholder: the store is unknown")
    scheme, authority, path = m.groups()
    if scheme in ("glue", "athena", "redshift"):
        parts = authority.split(".")
        if any(not _known(p) for p in parts) or not parts[-1]:
            raise _Unnamed("the table name or its database is unresolved")
        if scheme == "glue":
            _aws("Glue catalog", region, account)
            db, table = (["default"] + parts)[-2:]
            return f"arn:aws:glue:{region}:{account}", f"table/{db}/{table}"
        if scheme == "athena":
            _aws("Athena service", region, need_account=False)
            full = {1: ["awsdatacatalog", "default"], 2: ["awsdatacatalog"]}.get(len(parts), []) + parts
            return f"awsathena://athena.{region}.amazonaws.com", ".".join(full)
        cluster = _known(ctx.get("cluster"))
        if not cluster:
            raise _Unnamed("the Redshift cluster is unknown (the code does not name it)")
        _aws("Redshift cluster", region, need_account=False)
        if len(parts) != 3:
            raise _Unnamed("a Redshift table needs database.schema.table")
        return f"redshift://{cluster.lower()}.{region}:{ctx.get('port') or 5439}", authority
    if scheme == "file":
        if not path or _PLACEHOLDER.search(path):
            raise _Unnamed("the local path is unresolved")
        return "file", "/" + path
    if scheme == "hdfs":
        namenode = authority or _known(ctx.get("namenode"))
        if not _known(namenode):
            raise _Unnamed("hdfs:/// uses the cluster's default namenode, which the code does not name "
                           "(pass namenode=host:port)")
        host, _, port = namenode.partition(":")
        return f"hdfs://{host}:{port or 8020}", "/" + _store_path(path)
    if scheme == "dynamodb":
        _aws("DynamoDB table", region, account)
        if not _known(authority):
            raise _Unnamed("the table name is unresolved")
        return f"arn:aws:dynamodb:{region}:{account}", f"table/{authority}"
    if not _known(authority):
        raise _Unnamed(f"the {scheme} bucket or host is an unresolved placeholder")
    return f"{scheme}://{authority}", _store_path(path) or "/"


def dataset_name(uri: str, *, region: str | None = None, account: str | None = None,
                 **where: Any) -> tuple[str, str]:
    """The OpenLineage (namespace, name) of a normalised location.

    ``where`` adds what the code says about the store (``cluster``, ``port``, ``namenode``).
    Raises :class:`~spark_lester.errors.AnalyzeError` when naming would need a part that is
    unknown; the message says which.
    """
    try:
        return _naming(uri, {"region": region, "account": account, **where})
    except _Unnamed as why:
        raise AnalyzeError(f"{uri}: {why}", hint="It is left out of the OpenLineage events and listed "
                           f"in the job's {UNRESOLVED_FACET} facet.") from None


def _context(loc: Mapping[str, Any], region: str | None, account: str | None) -> dict[str, Any]:
    ctx = {"region": region, "account": account}
    ctx.update({k: loc[k] for k in ("region", "account", "cluster", "port", "namenode") if loc.get(k)})
    return ctx


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


def _named(loc: Mapping[str, Any], region: str | None, account: str | None) -> tuple[str, str] | str:
    """(namespace, name) of one location as a pipeline uses it, or the reason it has none."""
    try:
        return _naming(loc["uri"], _context(loc, region, account))
    except _Unnamed as why:
        return str(why)


def job_events(catalog: dict[str, Any], *, namespace: str = "spark_lester", region: str | None = None,
               account: str | None = None, event_time: str | None = None) -> list[dict[str, Any]]:
    """One JobEvent per pipeline, inputs and outputs named by the OpenLineage spec.

    Locations without a spec name go to the ``spark_lester_unresolvedDatasets`` job facet.
    """
    when = event_time or _now()
    root = catalog.get("root", ".")
    git = _git(root)
    events = []
    for p in catalog.get("pipelines", []):
        integration, job_type = _INTEGRATION.get(p.get("kind", ""), ("PYTHON", "JOB"))
        streaming = any("writeStream" in str(o.get("detail", "")) or o.get("detail", "").startswith("start")
                        for o in p.get("operations", [])) or any(
            (loc.get("via") or "") == "checkpointLocation" for loc in p.get("locations", []))
        facets: dict[str, JobFacet] = {
            "jobType": facet(job_type_job.JobTypeJobFacet, processingType="STREAMING" if streaming else "BATCH",
                             integration=integration, jobType=job_type),
            "sourceCodeLocation": facet(source_code_location_job.SourceCodeLocationJobFacet, type="git",
                                        url=_source_url(root, p["file"], git), path=p["file"],
                                        **{k: v for k, v in git.items() if v}),
        }
        owners = [ownership_job.Owner(name=_owner_urn(o["name"]),
                                      type="MAINTAINER" if o["source"] != "git" else "CONTRIBUTOR")
                  for o in p.get("owners", [])]
        if owners:
            facets["ownership"] = facet(ownership_job.OwnershipJobFacet, owners=owners)
        if p.get("summary"):
            facets["documentation"] = facet(documentation_job.DocumentationJobFacet, description=p["summary"])
        inputs: list[tuple[str, str]] = []
        outputs: list[tuple[str, str]] = []
        unresolved: list[dict[str, Any]] = []
        for loc in p.get("locations", []):
            if loc["role"] not in ("input", "interim", "output"):
                continue
            named = _named(loc, region, account)
            if isinstance(named, str):
                entry = {"location": loc["uri"], "role": loc["role"], "reason": named}
                if isinstance(loc.get("line"), int):
                    entry["line"] = loc["line"]
                unresolved.append(entry)
                continue
            if loc["role"] in ("input", "interim") and named not in inputs:
                inputs.append(named)
            if loc["role"] in ("output", "interim") and named not in outputs:
                outputs.append(named)
        if unresolved:
            facets[UNRESOLVED_FACET] = facet(UnresolvedDatasetsJobFacet, datasets=unresolved)
        events.append(job_event(when=when, namespace=namespace, name=p.get("dag_id") or p["file"],
                                facets=facets, inputs=inputs, outputs=outputs))
    return events


def _uri_contexts(catalog: dict[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Per location URI, the first location dict that says most about its store."""
    out: dict[str, Mapping[str, Any]] = {}
    for p in catalog.get("pipelines", []):
        for loc in p.get("locations", []):
            uri = loc["uri"]
            if uri not in out or len(_context(loc, None, None)) > len(_context(out[uri], None, None)):
                out[uri] = loc
    return out


def dataset_events(catalog: dict[str, Any], *, region: str | None = None, account: str | None = None,
                   event_time: str | None = None) -> list[dict[str, Any]]:
    """One DatasetEvent per nameable dataset; its other names (a table's storage) are ``symlinks``."""
    when = event_time or _now()
    where = _uri_contexts(catalog)
    events = []
    for g in catalog.get("datasets", []):
        uris = list(dict.fromkeys(g.get("uris", []) + g.get("aliases", []) or [g["id"]]))
        uris.sort(key=lambda u: u.startswith(_TABLE_SCHEMES))  # storage first, stable otherwise
        names = []
        for u in uris:
            named = _named({**where.get(u, {}), "uri": u}, region, account)
            if not isinstance(named, str) and named not in [n for n, _ in names]:
                names.append((named, u.startswith(_TABLE_SCHEMES)))
        if not names:
            continue
        (ns, name), _ = names[0]
        facets = {"symlinks": facet(symlinks_dataset.SymlinksDatasetFacet, identifiers=[
            symlinks_dataset.Identifier(namespace=n[0], name=n[1], type="TABLE" if table else "LOCATION")
            for n, table in names[1:]])} if names[1:] else None
        events.append(dataset_event(when=when, namespace=ns, name=name, facets=facets))
    return events


def unnamed_locations(catalog: dict[str, Any], *, region: str | None = None,
                      account: str | None = None) -> list[dict[str, Any]]:
    """Every read or write the events leave out for want of a spec name: file, line, reason."""
    out = []
    for p in catalog.get("pipelines", []):
        for loc in p.get("locations", []):
            if loc["role"] in ("input", "interim", "output"):
                named = _named(loc, region, account)
                if isinstance(named, str):
                    out.append({"file": p["file"], "line": loc.get("line"), "location": loc["uri"],
                                "role": loc["role"], "reason": named})
    return out


def openlineage(catalog: dict[str, Any], **kwargs: Any) -> list[dict[str, Any]]:
    """All JobEvents, then all DatasetEvents, of a catalog."""
    return job_events(catalog, **kwargs) + dataset_events(
        catalog, **{k: v for k, v in kwargs.items() if k != "namespace"})


@lru_cache(maxsize=1)
def _validators() -> tuple[Any, Any, dict[str, tuple[str, Any]]]:
    try:
        from jsonschema import Draft202012Validator
        from referencing import Registry, Resource
    except ImportError as err:  # pragma: no cover - jsonschema is in the analyze extra
        raise AnalyzeError("jsonschema is not installed", hint="pip install 'spark_lester[analyze]'") from err
    base = resources.files("spark_lester.analyze") / "schemas"
    core = json.loads((base / "OpenLineage.json").read_text(encoding="utf-8"))
    pairs = [(CORE_SCHEMA, Resource.from_contents(core))]
    pairs += [(f"https://openlineage.io/spec/{v}/OpenLineage.json", Resource.from_contents(core)) for v in CORE_ALIASES]
    schemas = {}
    for key, file in FACET_SCHEMAS.items():
        schema = json.loads((base / file).read_text(encoding="utf-8"))
        pairs.append((schema["$id"], Resource.from_contents(schema)))
        schemas[key] = schema
    registry = Registry().with_resources(pairs)
    check = Draft202012Validator.FORMAT_CHECKER
    core_validator = Draft202012Validator(core, registry=registry, format_checker=check)
    dataset_validator = Draft202012Validator({"$ref": f"{CORE_SCHEMA}#/$defs/OutputDataset"},
                                             registry=registry, format_checker=check)
    facets = {k: (s["$id"], Draft202012Validator(s, registry=registry, format_checker=check))
              for k, s in schemas.items()}
    return core_validator, dataset_validator, facets


def _facet_errors(where: str, facets: Mapping[str, Any]) -> list[str]:
    """Violations of the vendored schema of each known facet, and of its ``_schemaURL``."""
    errors = []
    for key, (schema_id, validator) in _validators()[2].items():
        if key not in facets:
            continue
        errors += [f"{where}/{key}: {e.message}" for e in validator.iter_errors({key: facets[key]})]
        url = facets[key].get("_schemaURL", "") if isinstance(facets[key], Mapping) else ""
        if not url.startswith(f"{schema_id}#"):
            errors.append(f"{where}/{key}: _schemaURL {url!r} is not the vendored schema {schema_id}")
    return errors


def validation_errors(event: dict[str, Any]) -> list[str]:
    """Schema violations of one event, or of one output dataset (what ``to_openlineage`` of a
    plan writes): the core spec, plus the vendored schema of every known job and dataset facet
    in it (:data:`FACET_SCHEMAS`); empty if valid."""
    core, dataset, _ = _validators()
    if "eventTime" not in event and "namespace" in event:  # a dataset, not an event
        return [f"{'/'.join(map(str, e.absolute_path)) or '<dataset>'}: {e.message}"
                for e in dataset.iter_errors(event)] + _facet_errors("facets", event.get("facets") or {})
    errors = [f"{'/'.join(map(str, e.absolute_path)) or '<event>'}: {e.message}" for e in core.iter_errors(event)]
    errors += _facet_errors("job/facets", (event.get("job") or {}).get("facets") or {})
    datasets = [("dataset", event.get("dataset"))] + [
        (f"{side}/{i}", d) for side in ("inputs", "outputs") for i, d in enumerate(event.get(side) or [])]
    for where, dataset in datasets:
        if isinstance(dataset, Mapping):
            errors += _facet_errors(f"{where}/facets", dataset.get("facets") or {})
    return errors


def validate_event(event: dict[str, Any]) -> None:
    """Raise :class:`~spark_lester.errors.AnalyzeError` if ``event`` violates the schema."""
    errors = validation_errors(event)
    if errors:
        raise AnalyzeError("invalid OpenLineage event: " + "; ".join(errors[:5]))
