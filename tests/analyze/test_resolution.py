"""Resolution of what real DAGs and jobs do (issue 20, Deliver 2).

Each fixture reproduces, in a few lines, a pattern met in public repositories while building
the real-code corpus (tests/analyze/realcode/manifest.json covers the ones that occur in its
licensed files: ``DAG(**dag_args)``, deferrable ``*Async`` operators, dataset conditions,
temporary views, ``CREATE DATABASE``, ``INSERT OVERWRITE DIRECTORY``, ``LOAD DATA``).
"""

from __future__ import annotations

import textwrap

from spark_lester.analyze import analyze


def _catalog(tmp_path, files: dict[str, str]) -> dict:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    catalog = analyze(tmp_path, git=False)
    assert catalog["problems"] == []
    return catalog


def _locs(catalog: dict, file: str) -> set[tuple[str, str]]:
    return {(loc["role"], loc["uri"]) for p in catalog["pipelines"] if p["file"] == file for loc in p["locations"]}


HEADER = """\
from airflow import DAG
from airflow.operators.python import PythonOperator
"""


def _dag(body: str) -> str:
    return HEADER + textwrap.dedent(body)


def test_constants_from_other_modules_of_the_repository(tmp_path):
    c = _catalog(tmp_path, {
        "dags/common/config.py": "RAW_BUCKET = 'acme-raw'\nPREFIX = f'{RAW_BUCKET}/orders'\n",
        "dags/orders.py": _dag("""\
            import common.config as cfg
            from common.config import PREFIX
            from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
            with DAG("orders", schedule="@daily") as dag:
                S3KeySensor(task_id="wait", bucket_name=cfg.RAW_BUCKET, bucket_key="orders/_SUCCESS")
                S3KeySensor(task_id="wait2", bucket_key=f"s3://{PREFIX}/_READY")
            """),
    })
    assert _locs(c, "dags/orders.py") == {("input", "s3://acme-raw/orders/_SUCCESS"),
                                          ("input", "s3://acme-raw/orders/_READY")}


def test_dict_mutated_after_its_literal(tmp_path):
    c = _catalog(tmp_path, {"dag.py": _dag("""\
        from airflow.providers.amazon.aws.operators.emr import EmrCreateJobFlowOperator
        BUCKET = "acme-logs"
        OVERRIDES = {"Name": "etl", "ReleaseLabel": "emr-6.15.0"}
        OVERRIDES["LogUri"] = f"s3://{BUCKET}/emr/"
        OVERRIDES.update({"BootstrapActions": [{"ScriptBootstrapAction": {"Path": "s3://acme-code/bootstrap.sh"}}]})
        with DAG("emr", schedule=None) as dag:
            EmrCreateJobFlowOperator(task_id="create", job_flow_overrides=OVERRIDES)
        """)})
    assert _locs(c, "dag.py") == {("log", "s3://acme-logs/emr"), ("code", "s3://acme-code/bootstrap.sh")}


def test_op_kwargs_and_op_args_reach_the_python_callable(tmp_path):
    c = _catalog(tmp_path, {"dag.py": _dag("""\
        import boto3
        def upload(bucket, key, **context):
            boto3.client("s3").upload_file("/tmp/export.csv", bucket, key)
        def publish(src, dest="s3://acme-curated/orders/"):
            spark.read.csv(src).write.parquet(dest)
        with DAG("export", schedule="@daily") as dag:
            PythonOperator(task_id="up", python_callable=upload,
                           op_kwargs={"bucket": "acme-landing", "key": "exports/orders.csv"})
            PythonOperator(task_id="pub", python_callable=publish, op_args=["s3://acme-landing/exports/orders.csv"])
        """)})
    assert _locs(c, "dag.py") == {("interim", "s3://acme-landing/exports/orders.csv"),
                                  ("output", "s3://acme-curated/orders")}


def test_helper_functions_are_inlined_once_per_call_site(tmp_path):
    c = _catalog(tmp_path, {"job.py": """\
        from pyspark.sql import SparkSession
        spark = SparkSession.builder.getOrCreate()
        def load(table, path):
            spark.read.parquet(path).write.saveAsTable(f"curated.{table}")
        load("orders", "s3://acme-raw/orders/")
        load("users", "s3://acme-raw/users/")
        """})
    assert _locs(c, "job.py") == {("input", "s3://acme-raw/orders"), ("output", "glue://curated.orders"),
                                  ("input", "s3://acme-raw/users"), ("output", "glue://curated.users")}


def test_embedded_glue_script_filled_in_with_format(tmp_path):
    script = ('import sys\nfrom awsglue.context import GlueContext\n'
              'gc = GlueContext(sc)\n'
              'dyf = gc.create_dynamic_frame.from_catalog(database="{db}", table_name="orders")\n'
              'gc.write_dynamic_frame.from_options(frame=dyf, connection_type="s3", '
              'connection_options={{"path": "s3://{bucket}/curated/orders/"}}, format="parquet")\n')
    c = _catalog(tmp_path, {"dag.py": _dag(f"""\
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook
        SCRIPT = {script!r}
        def deploy():
            S3Hook().load_string(SCRIPT.format(db="raw", bucket="acme-lake"), "glue/orders.py", "acme-code")
        with DAG("deploy", schedule=None) as dag:
            PythonOperator(task_id="deploy", python_callable=deploy)
        """)})
    assert _locs(c, "dag.py") == {("input", "glue://raw.orders"), ("output", "s3://acme-lake/curated/orders")}


def test_dag_id_from_file_name_and_environment_defaults(tmp_path):
    c = _catalog(tmp_path, {"dags/daily_orders.py": _dag("""\
        import os
        from pathlib import Path
        from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
        DAG_ID = os.path.basename(__file__).replace(".py", "")
        BUCKET = os.environ.get("LANDING_BUCKET", "acme-landing")
        with DAG(DAG_ID, schedule="@daily") as dag:
            S3KeySensor(task_id="wait", bucket_name=BUCKET, bucket_key="orders/")
        with DAG(Path(__file__).stem + "_v2", schedule=None) as dag2:
            S3KeySensor(task_id="wait", bucket_name=os.getenv("B", "acme-b"), bucket_key="x/")
        """)})
    assert [p["dag_id"] for p in c["pipelines"]] == ["daily_orders", "daily_orders_v2"]
    assert ("input", "s3://acme-landing/orders") in _locs(c, "dags/daily_orders.py")


def test_written_then_read_in_one_dag_is_interim(tmp_path):
    c = _catalog(tmp_path, {"dag.py": _dag("""\
        from airflow.providers.amazon.aws.operators.s3 import S3CreateObjectOperator
        from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
        with DAG("flow", schedule=None) as dag:
            S3CreateObjectOperator(task_id="put", s3_bucket="acme", s3_key="stage/x.json", data="{}")
            S3KeySensor(task_id="wait", bucket_name="acme", bucket_key="stage/x.json")
        """)})
    assert _locs(c, "dag.py") == {("interim", "s3://acme/stage/x.json")}


def test_hdfs_sides_of_s3_dist_cp(tmp_path):
    c = _catalog(tmp_path, {"dag.py": _dag("""\
        from airflow.providers.amazon.aws.operators.emr import EmrAddStepsOperator
        STEPS = [{"Name": "copy", "HadoopJarStep": {"Jar": "command-runner.jar",
                  "Args": ["s3-dist-cp", "--src=s3://acme-raw/movies", "--dest=/movie"]}},
                 {"Name": "back", "HadoopJarStep": {"Jar": "command-runner.jar",
                  "Args": ["s3-dist-cp", "--src", "hdfs:///output", "--dest", "s3://acme-curated/movies"]}}]
        with DAG("movies", schedule=None) as dag:
            EmrAddStepsOperator(task_id="steps", job_flow_id="j-1", steps=STEPS)
        """)})
    assert _locs(c, "dag.py") == {("input", "s3://acme-raw/movies"), ("output", "hdfs:///movie"),
                                  ("input", "hdfs:///output"), ("output", "s3://acme-curated/movies")}


def test_sql_engine_follows_the_operator_and_its_connection(tmp_path):
    c = _catalog(tmp_path, {
        "project/dags/load.py": _dag("""\
            from airflow.providers.postgres.operators.postgres import PostgresOperator
            from airflow.providers.amazon.aws.operators.redshift_sql import RedshiftSQLOperator
            with DAG("load", schedule=None) as dag:
                PostgresOperator(task_id="pg", postgres_conn_id="app_db", sql="sql/create_tables.sql")
                RedshiftSQLOperator(task_id="rs", sql="INSERT INTO mart.daily SELECT * FROM stage.events")
                PostgresOperator(task_id="pg2", postgres_conn_id="app_db", sql=open("sql/report.sql").read())
            """),
        "project/dags/sql/create_tables.sql": "CREATE DATABASE app;\nCREATE TABLE public.users (id int);\n",
        "project/dags/sql/report.sql": "INSERT INTO public.report SELECT * FROM public.users;\n",
    })
    assert _locs(c, "project/dags/load.py") == {("output", "redshift://{database}.mart.daily"),
                                                ("input", "redshift://{database}.stage.events")}
    assert _locs(c, "project/dags/sql/create_tables.sql") == {
        ("output", "jdbc:postgresql:{connection app_db}?dbtable=public.users")}
    assert _locs(c, "project/dags/sql/report.sql") == {
        ("input", "jdbc:postgresql:{connection app_db}?dbtable=public.users"),
        ("output", "jdbc:postgresql:{connection app_db}?dbtable=public.report")}
    edges = {(e["from"], e["to"]) for e in c["lineage"]}
    assert ("project/dags/sql/create_tables.sql", "project/dags/sql/report.sql") in edges


def test_temp_views_and_aliases_are_not_catalog_tables(tmp_path):
    c = _catalog(tmp_path, {"job.py": """\
        from pyspark.sql import SparkSession
        spark = SparkSession.builder.getOrCreate()
        spark.read.parquet("s3://acme-raw/events/").createOrReplaceTempView("events")
        spark.sql("CREATE OR REPLACE TEMP VIEW recent AS SELECT * FROM events e WHERE e.dt > '2024'")
        spark.sql("INSERT INTO mart.daily SELECT r.kind, count(*) FROM recent r GROUP BY r.kind")
        spark.sql("CREATE DATABASE IF NOT EXISTS mart")
        """})
    assert _locs(c, "job.py") == {("input", "s3://acme-raw/events"), ("output", "glue://mart.daily")}


def test_crawler_paths_without_scheme_and_camel_case_glue_options(tmp_path):
    c = _catalog(tmp_path, {
        "dag.py": _dag("""\
            from airflow.providers.amazon.aws.operators.glue_crawler import GlueCrawlerOperator
            CONFIG = {"Name": "c", "Targets": {"S3Targets": [{"Path": "acme-curated/orders/"}]}}
            with DAG("crawl", schedule=None) as dag:
                GlueCrawlerOperator(task_id="crawl", config=CONFIG)
            """),
        "job.py": """\
            from awsglue.context import GlueContext
            gc = GlueContext(sc)
            dyf = gc.create_dynamic_frame.from_options(connection_type="postgresql",
                connection_options={"url": "jdbc:postgresql://db:5432/shop", "dbTable": "public.orders"})
            gc.write_dynamic_frame.from_options(frame=dyf, connection_type="redshift",
                connection_options={"redshiftTmpDir": "s3://acme-tmp/rs/", "dbtable": "sales.orders",
                                    "connectionName": "redshift-connection"})
            """,
    })
    assert _locs(c, "dag.py") == {("input", "s3://acme-curated/orders")}
    assert _locs(c, "job.py") == {("input", "jdbc:postgresql://db:5432/shop?dbtable=public.orders"),
                                  ("interim", "s3://acme-tmp/rs"),
                                  ("output", "redshift://{database}.sales.orders")}


def test_paths_handed_between_components_through_a_config_dict(tmp_path):
    # The shape of amundsen's databuilder DAGs: a python_callable builds a folder with format()
    # from its templates_dict, a config dict hands it from the loader (writes) to the publisher
    # (reads), and a multi-line helper returns a connection string with Athena's staging dir.
    c = _catalog(tmp_path, {"dag.py": _dag("""\
        from pyhocon import ConfigFactory
        from acme.loaders import CsvLoader
        from acme.publishers import GraphPublisher
        def connection_string():
            host = "athena.eu-west-1.amazonaws.com"
            extras = "s3_staging_dir=s3://acme-athena-results/"
            return "awsathena+rest://%s:443/?%s" % (host, extras)
        def extract_job(**kwargs):
            kind = kwargs["templates_dict"].get("kind").strip('"')
            tmp_folder = "/var/tmp/acme/{k}".format(k=kind)
            nodes = f"{tmp_folder}/nodes/"
            conf = ConfigFactory.from_dict({
                f"extractor.athena.{Extractor.CONN_STRING}": connection_string(),
                f"extractor.athena.{Extractor.KEY_PATH_KEY}": "/etc/acme/key.json",
                f"loader.csv.{CsvLoader.NODE_DIR_PATH}": nodes,
                f"publisher.graph.{GraphPublisher.NODE_FILES_DIR}": nodes,
                f"publisher.graph.{GraphPublisher.END_POINT_KEY}": "bolt://127.0.0.1:7687",
                "notes.dir": "/var/tmp/acme/notes",
            })
        def search_job():
            path = "/var/tmp/acme/search.json"
            ConfigFactory.from_dict({"loader.fs.file_path": path, "publisher.search.file_path": path})
        with DAG("catalog", schedule="@daily") as dag:
            PythonOperator(task_id="tables", python_callable=extract_job, templates_dict={"kind": '"tables"'})
            PythonOperator(task_id="views", python_callable=extract_job, templates_dict={"kind": '"views"'})
            PythonOperator(task_id="search", python_callable=search_job)
        """)})
    assert _locs(c, "dag.py") == {("interim", "s3://acme-athena-results"),
                                  ("interim", "/var/tmp/acme/tables/nodes"),
                                  ("interim", "/var/tmp/acme/views/nodes"),
                                  ("interim", "/var/tmp/acme/search.json")}


def test_dagfactory_defaults_yml_of_the_folder_and_its_parents(tmp_path):
    # dag-factory merges every defaults.yml from the YAML's folder up to the dags folder, the
    # closest first; the YAML's own default block and DAG arguments win. The walk stops at the
    # analyzed repository: a defaults.yml above it does not apply.
    def dag(name: str, extra: str = "") -> str:
        return (f"{name}:\n{extra}  tasks:\n    t:\n      operator: airflow.operators.bash.BashOperator\n"
                "      bash_command: echo\n")

    files = {
        "defaults.yml": "schedule: '@weekly'\ndefault_args:\n  owner: outside\n",
        "repo/defaults.yml": "schedule: '@weekly'\ndefault_args:\n  owner: root_owner\n  retries: 5\n",
        "repo/dags/team/defaults.yaml": "default_args:\n  owner: team_owner\n",
        "repo/dags/team/a.yml": dag("a") + dag("b", "  schedule: '@daily'\n  default_args:\n    owner: b_owner\n"),
        "repo/dags/team/c.yml": "default:\n  default_args:\n    owner: file_owner\n" + dag("c"),
        "repo/dags/other/d.yml": dag("d"),
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    catalog = analyze(tmp_path / "repo", git=False)
    assert catalog["problems"] == []
    got = {p["dag_id"]: ([o["name"] for o in p["owners"] if o["source"] == "default_args"],
                         p["schedule"], p.get("retries")) for p in catalog["pipelines"]}
    assert got == {"a": (["team_owner"], "@weekly", 5), "b": (["b_owner"], "@daily", 5),
                   "c": (["file_owner"], "@weekly", 5), "d": (["root_owner"], "@weekly", 5)}
