"""EMR steps and cluster definitions: scripts launched, their arguments, cluster settings.

Works on the plain values of a step list, whether it came from a JSON file (``aws emr
add-steps --steps file://steps.json``, a ``RunJobFlow`` request) or from an Airflow operator's
``steps``/``job_flow_overrides`` argument. In ``spark-submit`` arguments the script is a
``code`` location and launched; other locations get their role from the flag before them
(``--input``, ``--output``, ``--tmp``...), and default to ``input``.

>>> f = steps_findings([{"Name": "clean", "HadoopJarStep": {"Jar": "command-runner.jar",
...     "Args": ["spark-submit", "s3://code/clean.py", "--input", "s3a://raw/x/", "--output", "s3://out/y"]}}])
>>> [(l.role, l.uri) for l in f.locations], f.launches
([('code', 's3://code/clean.py'), ('input', 's3://raw/x'), ('output', 's3://out/y')], ['s3://code/clean.py'])

A location given as ``NAME=URI`` (``--source mails=s3://raw/mails/``) is found too:

>>> [(l.role, l.uri) for l in args_findings(["job.py", "--source", "mails=s3://raw/mails/"]).locations]
[('input', 's3://raw/mails')]
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from spark_lester.analyze._private import Findings, role_from_name
from spark_lester.analyze.locations import looks_like_location

_SCRIPT = re.compile(r"\.(py|jar|sql|sh|scala)$", re.I)
#: spark-submit options whose value is not a data location.
_SUBMIT_OPTS = frozenset({"--deploy-mode", "--master", "--conf", "--class", "--name",
                          "--executor-memory", "--driver-memory", "--num-executors",
                          "--executor-cores", "--packages", "--jars", "--py-files", "--files",
                          "--properties-file", "--queue"})


_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
#: s3-dist-cp / distcp flags naming the two sides of a copy.
_COPY_FLAGS = frozenset({"--src", "--dest"})
#: ``NAME=VALUE`` argument (``--source mails=s3://raw/mails/``); VALUE may be a location.
_NAMED_VALUE = re.compile(r"^[A-Za-z_][\w.-]*=(.+)$", re.S)


def split_command(command: str) -> list[str]:
    """Shell words of a command line, keeping Jinja expressions (``{{ ds }}``) whole."""
    saved: list[str] = []

    def keep(m: re.Match[str]) -> str:
        saved.append(m.group(0))
        return f"\x00{len(saved) - 1}\x00"

    protected = _JINJA.sub(keep, command)
    try:
        words = shlex.split(protected)
    except ValueError:
        words = protected.split()
    return [re.sub(r"\x00(\d+)\x00", lambda m: saved[int(m.group(1))], w) for w in words]


def args_findings(args: list[Any] | str, f: Findings | None = None, *, line: int | None = None,
                  via: str = "args") -> Findings:
    """Locations in a command line (a list of arguments or one shell string)."""
    f = f or Findings()
    if isinstance(args, str):
        args = split_command(args)
    elif not isinstance(args, (list, tuple)):  # an unresolved or odd value: no arguments to read
        return f
    flat: list[str] = []
    for a in args:
        if isinstance(a, str):
            split = a.startswith("--") and "=" in a and ("://" in a or a.split("=", 1)[0] in _COPY_FLAGS)
            flat.extend(a.split("=", 1) if split else [a])
    copying = any(t.rsplit("/", 1)[-1] in ("s3-dist-cp", "distcp") for t in flat)
    prev = ""
    script_seen = False
    positional: list[str] = []  # locations after the script without a flag before them
    for tok in flat:
        if copying and prev in _COPY_FLAGS and not looks_like_location(tok.strip("'\"")):
            path = tok.strip("'\"")  # s3-dist-cp --dest=/movie: a path of the cluster's HDFS
            if path.startswith("/"):
                f.add(role_from_name(prev, "input"), "hdfs://" + path, line, via)
            prev = tok
            continue
        if prev in ("--py-files", "--jars", "--files"):
            for part in tok.split(","):
                if looks_like_location(part):
                    f.add("code", part, line, prev)
        elif prev == "--conf" and "=" in tok:
            key, _, value = tok.partition("=")
            if looks_like_location(value):
                f.add(role_from_name(key, "interim"), value, line, f"--conf {key}")
        elif (prev not in _SUBMIT_OPTS and (named := _NAMED_VALUE.match(tok.strip("'\"")))
              and looks_like_location(named.group(1))):
            name = tok.strip("'\"").partition("=")[0]
            role = role_from_name(prev, "input") if prev.startswith("-") else role_from_name(name)
            f.add(role, named.group(1), line, via)
        elif prev not in _SUBMIT_OPTS and looks_like_location(tok.strip("'\"")):
            tok = tok.strip("'\"")
            if _SCRIPT.search(tok.split("?")[0]) and not script_seen:
                script_seen = True
                f.add("code", tok, line, via)
                f.launch(tok)
            elif _SCRIPT.search(tok) and tok.lower().endswith((".py", ".jar", ".sh")):
                f.add("code", tok, line, via)
            elif prev.startswith("-"):
                f.add(role_from_name(prev, "input"), tok, line, via)
            else:
                positional.append(tok)
        elif not script_seen and _SCRIPT.search(tok) and tok.endswith(".py") and "/" in tok:
            script_seen = True  # local path of a script, e.g. /home/hadoop/job.py
            f.launch(tok)
        prev = tok
    # Unflagged locations follow the "source ... destination" convention: the last one is written.
    for i, tok in enumerate(positional):
        f.add("output" if len(positional) > 1 and i == len(positional) - 1 else "input", tok, line, via)
    return f


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def steps_findings(steps: Any, f: Findings | None = None, *, line: int | None = None) -> Findings:
    """Findings from a list of EMR step definitions."""
    f = f or Findings()
    if isinstance(steps, dict):
        steps = steps.get("Steps") or [steps]
    if not isinstance(steps, list):
        return f
    for step in steps:
        if not isinstance(step, dict):
            continue
        jar = step.get("HadoopJarStep")
        jar = jar if isinstance(jar, dict) else {}
        args = jar.get("Args") or step.get("Args") or []
        if not isinstance(args, (list, str)):
            args = []
        f.op("emr_step", str(step.get("Name", "")), line)
        if isinstance(jar.get("Jar"), str) and looks_like_location(jar["Jar"]):
            f.add("code", jar["Jar"], line, "HadoopJarStep.Jar")
        args_findings(args, f, line=line, via=f"step {step.get('Name', '')}".strip())
    return f


def cluster_findings(overrides: Any, f: Findings | None = None, *, line: int | None = None) -> tuple[Findings, dict[str, Any]]:
    """Findings and configuration of an EMR ``RunJobFlow`` request (``job_flow_overrides``)."""
    f = f or Findings()
    config: dict[str, Any] = {}
    if not isinstance(overrides, dict):
        return f, config
    for key in ("Name", "ReleaseLabel", "Applications", "Instances", "Configurations",
                "BootstrapActions", "AutoTerminationPolicy", "ServiceRole", "JobFlowRole"):
        if key in overrides:
            config[key] = overrides[key]
    if isinstance(overrides.get("LogUri"), str):
        f.add("log", overrides["LogUri"], line, "LogUri")
    for action in _list(overrides.get("BootstrapActions")):
        bootstrap = action.get("ScriptBootstrapAction") if isinstance(action, dict) else None
        path = bootstrap.get("Path") if isinstance(bootstrap, dict) else None
        if isinstance(path, str):
            f.add("code", path, line, "BootstrapActions")
    for conf in _list(overrides.get("Configurations")):
        props = conf.get("Properties") if isinstance(conf, dict) else None
        for key, value in props.items() if isinstance(props, dict) else []:
            if isinstance(value, str) and looks_like_location(value):
                f.add(role_from_name(key, "interim"), value, line, f"Configurations {key}")
    if overrides.get("Steps"):
        steps_findings(overrides["Steps"], f, line=line)
    return f, config


def emr_steps(document: Any) -> tuple[Findings, dict[str, Any]] | None:
    """Analyze a parsed JSON document; None when it is not a step list or cluster request."""
    if isinstance(document, list) and document and all(
            isinstance(s, dict) and ("HadoopJarStep" in s or "Args" in s and "Type" in s) for s in document):
        return steps_findings(document), {"steps": [s.get("Name") for s in document]}
    if isinstance(document, dict) and ("Instances" in document or "ReleaseLabel" in document
                                       or "Steps" in document and isinstance(document["Steps"], list)):
        f, config = cluster_findings(document)
        if "Steps" in document:
            config["steps"] = [s.get("Name") for s in _list(document["Steps"]) if isinstance(s, dict)]
        return f, config
    if isinstance(document, dict) and isinstance(document.get("Command"), dict) and "ScriptLocation" in document["Command"]:
        # a Glue CreateJob request
        f = Findings()
        script = document["Command"]["ScriptLocation"]
        f.add("code", script, None, "Command.ScriptLocation")
        f.launch(script)
        defaults = document.get("DefaultArguments")
        for key, value in (defaults if isinstance(defaults, dict) else {}).items():
            if isinstance(value, str) and looks_like_location(value):
                f.add(role_from_name(key), value, None, key)
        config = {k: document[k] for k in ("Name", "GlueVersion", "WorkerType", "NumberOfWorkers",
                                           "MaxRetries", "Timeout") if k in document}
        return f, config
    return None
