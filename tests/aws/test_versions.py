"""spark_lester/aws/versions.py is the one statement of the EMR and Glue releases: the tested
pyspark and delta-spark pins, the CLI's default release and the README follow it."""

from __future__ import annotations

import re
import tomllib

from spark_lester.aws import versions
from spark_lester.config import project_root

ROOT = project_root()


def _pins() -> dict[str, str]:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return dict(d.split("==", 1) for d in deps if "==" in d)


def test_releases_carry_the_tested_spark_and_delta():
    pins = _pins()
    assert pins["pyspark"] == versions.SPARK_VERSION
    assert pins["delta-spark"] == versions.DELTA_VERSION


def test_python_is_the_projects():
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert f">={versions.PYTHON_VERSION}" in requires


def test_cluster_spec_defaults_to_the_release():
    from spark_lester.aws import ClusterSpec

    spec = ClusterSpec(name="x", log_uri="s3://l/", bundle_uri="s3://c/p")
    assert spec.release_label == versions.EMR_RELEASE


def test_readme_states_the_versions_and_no_other_release():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Running on AWS"):]
    section = section[:section.index("\n## ", 1)]
    rows = {cells[0]: cells[1:] for cells in
            (list(map(str.strip, line.strip("|").split("|"))) for line in section.splitlines()
             if line.startswith("| EMR") or line.startswith("| Glue"))}
    expected = [versions.SPARK_VERSION, versions.DELTA_VERSION, versions.PYTHON_VERSION]
    assert rows == {"EMR": [versions.EMR_RELEASE, *expected],
                    "Glue": [versions.GLUE_VERSION, *expected]}
    assert set(re.findall(r"emr-\d+\.\d+\.\d+", text)) == {versions.EMR_RELEASE}
    assert not re.findall(r"Glue (?!5\.1\b)\d+(?:\.\d+)?\b", section)
