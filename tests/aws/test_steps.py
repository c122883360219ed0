"""``spark_lester.aws.steps``: the emr/steps/*.json templates rendered into EMR steps."""

from __future__ import annotations

import pytest

from spark_lester.aws.steps import TEMPLATES, lester_step, load_template, placeholders, render_step
from spark_lester.errors import ConfigError

COMMON = dict(warehouse="s3://art/warehouse", step_script="s3://code/l/emr/steps/lester_step.py",
              result_uri="s3://art/step-results/1-x.json")


def _command(step):
    args = step["HadoopJarStep"]["Args"]
    assert args[0] == "spark-submit" and step["HadoopJarStep"]["Jar"] == "command-runner.jar"
    i = args.index(COMMON["step_script"])
    assert args[i + 1:i + 3] == ["--result-uri", COMMON["result_uri"]]
    return args[:i], args[i + 3:]


def test_run_step_passes_sources_in_order():
    step = lester_step("run", target="s3://code/l/inputs/p.py",
                       sources={"customers": "s3://raw/c/", "mails": "s3://raw/m/"}, **COMMON)
    submit_args, command = _command(step)
    assert command == ["run", "s3://code/l/inputs/p.py", "--source", "customers=s3://raw/c/",
                       "--source", "mails=s3://raw/m/", "--warehouse", "s3://art/warehouse"]
    assert ("--deploy-mode", "client") == tuple(submit_args[1:3])
    assert step["Name"] == "spark-lester run p.py"
    assert step["ActionOnFailure"] == "TERMINATE_CLUSTER"


@pytest.mark.parametrize("kind", ["delete", "unlearn"])
def test_deletion_steps_call_the_delete_command(kind):
    step = lester_step(kind, target="s3://code/l/inputs/r.json", action_on_failure="CONTINUE",
                       driver_memory="8g", **COMMON)
    submit_args, command = _command(step)
    assert command == ["delete", "s3://code/l/inputs/r.json", "--warehouse", "s3://art/warehouse"]
    assert submit_args[submit_args.index("--driver-memory") + 1] == "8g"
    assert step["ActionOnFailure"] == "CONTINUE"
    assert ("--conf" in submit_args) == (kind == "unlearn")


def test_every_template_renders_completely():
    for kind in TEMPLATES:
        template = load_template(kind)
        assert {"name", "action_on_failure", "step_script", "result_uri", "warehouse"} <= placeholders(template)
        step = lester_step(kind, target="s3://c/x", sources={"a": "s3://r/a"}, **COMMON)
        assert "${" not in repr(step)


def test_missing_and_misplaced_values_are_errors():
    with pytest.raises(ConfigError, match="needs values for: pipeline"):
        render_step({"Args": ["${pipeline}"]}, {})
    with pytest.raises(ConfigError, match="may only stand alone"):
        render_step({"Args": ["--x=${sources}"]}, {"sources": ["a", "b"]})
    with pytest.raises(ConfigError, match="at least one source"):
        lester_step("run", target="s3://c/p.py", **COMMON)
    with pytest.raises(ConfigError, match="action on failure"):
        lester_step("delete", target="s3://c/r.json", action_on_failure="RETRY", **COMMON)
    with pytest.raises(ConfigError, match="unknown step kind"):
        load_template("train")
