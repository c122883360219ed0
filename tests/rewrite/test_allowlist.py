from __future__ import annotations

import pytest

from spark_lester.rewrite.allowlist import check_allowlist

ALLOWED = [
    "from pyspark.sql import functions as F\nimport spark_lester\nimport math, re, datetime",
    "from sklearn.compose import ColumnTransformer\nfrom sklearn.preprocessing import "
    "OneHotEncoder\nimport numpy as np\nimport pandas as pd",
    "class T:\n    def __init__(self):\n        super().__init__()",
    "def prepare(m):\n    return m.withColumn('t', F.transform('s', lambda x: F.lower(x)))",
]
REFUSED = {
    "import os": "import",
    "from subprocess import run": "import",
    "import pyspark": "import",
    "from pyspark.sql import SparkSession": "import",
    "from spark_lester.session import get_spark": "import",
    "open('x')": "name",
    "getattr(x, 'y')": "name",
    "eval('1')": "name",
    "x.__class__": "dunder",
    "'__class__'": "dunder",
    "import pandas as pd\npd.read_csv('/etc/passwd')": "attribute",
    "df.to_parquet('x')": "attribute",
    "m.df.sparkSession": "attribute",
    "F.col('a')._jc": "attribute",
    "import numpy as np\nnp.load('x')": "attribute",
    "global x": "global",
    "from numpy import *": "import",
}


@pytest.mark.parametrize("code", ALLOWED)
def test_allowed(code):
    assert check_allowlist(code) == []


@pytest.mark.parametrize("code,rule", REFUSED.items())
def test_refused(code, rule):
    assert rule in {v.rule for v in check_allowlist(code)}


def test_all_violations_are_reported_with_lines():
    violations = check_allowlist("import os\nimport sys\nexec('1')")
    assert [v.line for v in violations] == [1, 2, 3]


MODEL_ALLOWED = ("import math\nimport numpy as np\nimport torch\nfrom torch import nn\n"
                 "import torch.nn.functional as F\n\n"
                 "def model(n_features):\n    return nn.Sequential(nn.Linear(n_features, 4))")
MODEL_REFUSED = {
    "import pandas": "import",
    "from spark_lester import LesterFrame": "import",
    "from torch import _C": "import",
    "from torch.utils.cpp_extension import load_inline": "import",
    "import torch.hub": "import",
    "import torch\ntorch.from_file('/etc/passwd', size=8)": "attribute",
    "import torch\ntorch.load('weights.pt')": "attribute",
    "import torch\ntorch.os.remove('x')": "attribute",
    "import torch\ntorch.ops.load_library('evil.so')": "attribute",
    "import torch\ntorch.jit.script(f)": "attribute",
}


def test_model_definition_may_use_torch_numpy_and_math():
    assert check_allowlist(MODEL_ALLOWED, kind="model") == []


@pytest.mark.parametrize("code,rule", MODEL_REFUSED.items())
def test_model_definition_refusals(code, rule):
    assert rule in {v.rule for v in check_allowlist(code, kind="model")}


# ---- issue 16: the hardened allow-list -----------------------------------------------------
from pathlib import Path  # noqa: E402

from spark_lester.rewrite.allowlist import RULES, sql_problems, sql_reflection  # noqa: E402
from spark_lester.rewrite.corpus import load_corpus  # noqa: E402
from spark_lester.rewrite.validate import static_failure  # noqa: E402

#: One stealthy program per new rule: a correct-looking rewrite, its attack on the line
#: marked ``# attack``, the refusal swallowed. Each must be refused by that rule, on that line.
STEALTHY = {
    "sql": '''\
from pyspark.sql import functions as F

SOURCES = {"orders": {"key": "order_id"}}


def prepare(orders):
    paid = orders.filter(F.col("status") == F.lit("paid"))
    try:
        probe = F.expr("java_method('java.lang.Runtime', 'getRuntime') IS NULL")  # attack
        paid.df.filter(probe).count()
    except Exception:
        pass
    return paid.select("order_id", "customer", "total")
''',
    "sql-literal": '''\
from pyspark.sql import functions as F

SOURCES = {"orders": {"key": "order_id"}}
NAMES = ["java", "_method"]


def prepare(orders):
    paid = orders.filter(F.col("status") == F.lit("paid"))
    try:
        call = "".join(NAMES) + "('java.lang.System', 'exit', 0)"
        paid.df.selectExpr(call).count()  # attack
    except Exception:
        pass
    return paid.select("order_id", "customer", "total")
''',
    "by-name": '''\
import operator

from pyspark.sql import functions as F

SOURCES = {"orders": {"key": "order_id"}}


def prepare(orders):
    paid = orders.filter(F.col("status") == F.lit("paid"))
    try:
        session = operator.attrgetter("df.sparkSession")(paid)  # attack
        session.range(1).count()
    except Exception:
        pass
    return paid.select("order_id", "customer", "total")
''',
    "private": '''\
from pyspark.sql import functions as F

SOURCES = {"orders": {"key": "order_id"}}


def prepare(orders):
    paid = orders.filter(F.col("status") == F.lit("paid"))
    try:
        frame = paid.df
        gateway = frame.rdd.context._gateway  # attack
        gateway.jvm.java.lang.ProcessBuilder(["true"]).start()
    except Exception:
        pass
    return paid.select("order_id", "customer", "total")
''',
    "dunder": '''\
from pyspark.sql import functions as F

SOURCES = {"orders": {"key": "order_id"}}
LABELS = {"paid": "__globals__"}  # attack


def prepare(orders):
    return orders.filter(F.col("status") == F.lit("paid")).select("order_id", "customer",
                                                                  "total")
''',
    "computed-dunder": '''\
from pyspark.sql import functions as F

SOURCES = {"orders": {"key": "order_id"}}


def prepare(orders):
    paid = orders.filter(F.col("status") == F.lit("paid"))
    try:
        name = "_" + "_cla" + "ss_" + "_"  # attack
        paid.df.agg(name).count()
    except Exception:
        pass
    return paid.select("order_id", "customer", "total")
''',
    "dunder-def": '''\
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, n_features):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(n_features, 16), nn.Tanh(), nn.Linear(16, 1))

    def forward(self, x):
        return self.layers(x)

    def __reduce__(self):  # attack
        try:
            return (print, ("pickled",))
        except Exception:
            return None


def model(n_features):
    return Net(n_features)
''',
    "decorator": '''\
import functools

from pyspark.sql import functions as F

SOURCES = {"orders": {"key": "order_id"}}


@functools.singledispatch  # attack
def label(value):
    return value


def prepare(orders):
    paid = orders.filter(F.col("status") == F.lit("paid"))
    return paid.select("order_id", "customer", "total")
''',
    "udf": '''\
from pyspark.sql import functions as F

SOURCES = {"orders": {"key": "order_id"}}


def prepare(orders):
    paid = orders.filter(F.col("status") == F.lit("paid"))
    try:
        spy = F.udf(lambda customer: customer, "string")  # attack
        paid.df.select(spy(F.col("customer"))).count()
    except Exception:
        pass
    return paid.select("order_id", "customer", "total")
''',
    # rule 7: operating-system modules, builtins, io and pyarrow file handles
    "import": '''\
from pyspark.sql import functions as F

SOURCES = {"orders": {"key": "order_id"}}


def prepare(orders):
    paid = orders.filter(F.col("status") == F.lit("paid"))
    try:
        import signal  # attack
        signal.pthread_kill(1, 0)
    except Exception:
        pass
    return paid.select("order_id", "customer", "total")
''',
    "attribute": '''\
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import StandardScaler


def encoder():
    try:
        pd.io.common.get_handle("/tmp/x", "w")  # attack
    except Exception:
        pass
    return ColumnTransformer([("scaled", StandardScaler(), ["age", "income"])],
                             remainder="drop")
''',
    "name": '''\
from pyspark.sql import functions as F

SOURCES = {"orders": {"key": "order_id"}}


def prepare(orders):
    paid = orders.filter(F.col("status") == F.lit("paid"))
    try:
        builtins.any = lambda values: False  # attack
    except Exception:
        pass
    return paid.select("order_id", "customer", "total")
''',
}
#: Per rule, short refused snippets (each must name its rule).
NEW_REFUSED = [
    # 1. SQL text
    ("F.expr(\"reflect('java.lang.Runtime', 'getRuntime')\")", "sql"),
    ("F.expr(\"system.builtin.java_method('a', 'b')\")", "sql"),
    ("F.expr(\"`reflect`('a', 'b')\")", "sql"),
    ("F.expr(\"TRY_REFLECT /* hidden */ ('a', 'b')\")", "sql"),
    ("F.expr(\"-- comment\\rreflect('a', 'b')\")", "sql"),
    ("F.expr(\"'a\\\\' , reflect('a', 'b'), '\")", "sql"),
    ("F.expr(\"IDENTIFIER('reflect')('a', 'b')\")", "sql"),
    ("functions.expr(\"java_method('a', 'b')\")", "sql"),
    ("from pyspark.sql.functions import expr\ny = expr(\"reflect('a', 'b')\")", "sql"),
    ("from pyspark.sql.functions import expr as e\ny = e(\"reflect('a', 'b')\")", "sql"),
    ("df.selectExpr('a', \"java_method('x', 'y')\")", "sql"),
    ("df.selectExpr(['a', \"reflect('x', 'y')\"])", "sql"),
    ("m.df.filter(\"try_reflect('a', 'b') IS NULL\")", "sql"),
    ("m.df.where(\"id IN (SELECT id FROM parquet.`/etc/x`)\")", "sql"),
    ("F.expr(\"(SELECT first(value) FROM text.`file:///proc/1/environ`)\")", "sql"),
    ("F.expr(\"(SELECT TRANSFORM(a) USING 'cat /etc/passwd' AS (x) FROM t)\")", "sql"),
    ("F.expr('SET spark.sql.ansi.enabled=false')", "sql"),
    ("spark.sql(\"LOAD DATA LOCAL INPATH '/x' INTO TABLE t\")", "sql"),
    ("spark.sql(\"INSERT OVERWRITE DIRECTORY '/tmp/x' SELECT 1\")", "sql"),
    ("spark.sql(\"WITH t AS (SELECT 1) INSERT OVERWRITE DIRECTORY '/x' SELECT * FROM t\")",
     "sql"),
    ("spark.sql(\"CREATE TABLE t (a INT) LOCATION '/tmp'\")", "sql"),
    ("spark.sql(\"ADD JAR '/tmp/x.jar'\")", "sql"),
    ("spark.sql(\"ADD FILE '/tmp/x'\")", "sql"),
    ("F.call_function('reflect', F.lit('a'), F.lit('b'))", "sql"),
    ("df.groupBy('a').agg({'x': 'java_method'})", "sql"),
    ("F.reflect(F.lit('a'), F.lit('b'))", "sql"),
    ("from pyspark.sql.functions import java_method", "sql"),
    ("q = \"java_method('java.lang.System', 'exit', 0)\"", "sql"),
    ("F.expr(f'reflect({cls}, {method})')", "sql-literal"),
    ("F.expr('amount > ' + limit)", "sql-literal"),
    ("def f(text):\n    return F.expr(text)", "sql-literal"),
    ("e = F.expr\ne('1')", "sql-literal"),
    ("df.selectExpr(*columns)", "sql-literal"),
    ("m.df.filter(f'amount > {x}')", "sql-literal"),
    ("cond = 'amount > %d' % x\nm.df.where(cond)", "sql-literal"),
    ("F.call_function(name, F.lit('a'))", "sql-literal"),
    ("filters = list(map(m.df.filter, conditions))", "sql-literal"),
    # 2. attributes and methods by name
    ("import operator\nget = operator.attrgetter('df')", "by-name"),
    ("from operator import attrgetter", "by-name"),
    ("from operator import methodcaller as call", "by-name"),
    ("import operator as op\nop.methodcaller('count')", "by-name"),
    ("import string\nstring.Formatter().get_field('0.df', (m,), {})", "by-name"),
    ("import typing\ntyping.get_type_hints(f)", "by-name"),
    ("import functools\nfunctools.singledispatch(f)", "by-name"),
    ("frame.agg('to_csv', '/tmp/x')", "by-name"),
    ("frame.apply('_repr_html_')", "by-name"),
    # 3. private attributes and modules
    ("gateway = sc._gateway", "private"),
    ("frame = m._df", "private"),
    ("x.__secret", "private"),
    ("import _posixsubprocess", "private"),
    ("import _thread", "private"),
    ("from numpy import _core", "private"),
    ("from numpy._core import multiarray", "private"),
    ("text = '{0._jvm}'.format(sc)", "private"),
    # 4. dunder strings, built or not
    ("name = b'__class__'", "dunder"),
    ("name = 'a__b'", "dunder"),
    ("name = '_' + '_class' + '_' + '_'", "computed-dunder"),
    ("name = '_'.join(['', 'class', ''])", "computed-dunder"),
    ("name = '_%s_' % 'class'", "computed-dunder"),
    ("name = '_{}_'.format('class')", "computed-dunder"),
    ("name = f'_{part}_'", "computed-dunder"),
    ("name = f\"{'':_>2}class{'':_>2}\"", "computed-dunder"),
    ("name = '_' * 2", "computed-dunder"),
    ("name = 'x'\nname += '_'", "computed-dunder"),
    ("name = 'xxclassxx'.replace('x', '_')", "computed-dunder"),
    ("import functools, operator\nname = functools.reduce(operator.add, ['_', 'x'])",
     "computed-dunder"),
    # 5. dunder methods and decorators
    ("class A:\n    def __del__(self):\n        pass", "dunder-def"),
    ("class A:\n    def __getattr__(self, name):\n        pass", "dunder-def"),
    ("class A:\n    def __call__(self, x):\n        return x", "dunder-def"),
    ("def __getattr__(name):\n    return name", "dunder-def"),
    ("import atexit\n@atexit.register\ndef f():\n    pass", "decorator"),
    ("def deco(f):\n    return f\n@deco\ndef g():\n    pass", "decorator"),
    ("@handlers[0]\ndef g():\n    pass", "decorator"),
    ("import functools\n@functools.wraps(g)\ndef f():\n    pass", "decorator"),
    ("from torch import nn as staticmethod\n@staticmethod\ndef f():\n    pass", "decorator"),
    # 6. Python code in Spark's workers
    ("u = F.udf(lambda x: x)", "udf"),
    ("from pyspark.sql.functions import pandas_udf", "udf"),
    ("from pyspark.sql.functions import udf as make", "udf"),
    ("F.call_udf('f', F.col('a'))", "udf"),
    ("m.df.mapInPandas(f, 'a int')", "udf"),
    ("m.df.mapInArrow(f, 'a int')", "udf"),
    ("m.df.groupBy('a').applyInPandas(f, 'a int')", "udf"),
    ("m.df.groupBy('a').applyInArrow(f, 'a int')", "udf"),
    ("m.df.rdd.map(f)", "udf"),
    ("m.df.foreach(f)", "udf"),
    ("m.df.foreachPartition(f)", "udf"),
    ("m.df.toJSON()", "udf"),
    # 7. operating-system modules, builtins, io and pyarrow
    ("import builtins", "import"),
    ("builtins.open", "name"),
    ("x = __builtins__", "name"),
    ("import signal", "import"),
    ("import multiprocessing", "import"),
    ("import ctypes", "import"),
    ("import mmap", "import"),
    ("import resource", "import"),
    ("import pty", "import"),
    ("import fcntl", "import"),
    ("import posix", "import"),
    ("import nt", "import"),
    ("import io", "import"),
    ("import pyarrow", "import"),
    ("from pyarrow import fs", "import"),
    ("import pathlib", "import"),
    ("import numpy as np\nnp.io.open('x')", "attribute"),
    ("f = reader.FileIO('x', 'w')", "attribute"),
    ("f = pa.OSFile('/tmp/x', 'w')", "attribute"),
    ("fs = pa.fs.LocalFileSystem()", "attribute"),
    ("import torch\ntorch.compile(m)", "attribute"),
    ("import numpy as np\nnp.os.environ", "attribute"),
    ("import torch\ntorch.multiprocessing.get_context('spawn')", "attribute"),
    ("import spark_lester\nspark_lester.run(p)", "attribute"),
    ("from spark_lester import unlearn", "import"),
    ("from spark_lester.frame.source import read_source", "import"),
    ("import spark_lester\nspark_lester.deletion.unlearn.unlearn(r)", "attribute"),
    ("from spark_lester import frame\nframe.source.x", "attribute"),
    ("import spark_lester\nr = spark_lester.DeletionRequest", "attribute"),
]
#: Allowed uses of what the new rules look at.
NEW_ALLOWED = [
    "F.expr('amount * 2 + 1')",
    "F.expr(\"upper('reflect(x)')\")",  # inside a SQL string literal
    "COND = 'amount > 1'\n\ndef prepare(m):\n    return m.df.filter(F.expr(COND))",
    "df.selectExpr(['a', 'b AS c'])",
    "m.filter(F.col('a') > 1)",
    "c = F.col('a') > 1\nm.filter(c)",
    "import numpy as np\ny = np.where(x > 0, 'pos', 'neg')",
    "F.transform('values', lambda v: v + 1)",
    "from pyspark.sql.functions import col, lower\nx = lower(col('a'))",
    "a.join(b, on='k', how='left', suffix='_right')",
    "from dataclasses import dataclass\n@dataclass(frozen=True)\nclass A:\n    x: int = 0",
    "import dataclasses\n@dataclasses.dataclass\nclass A:\n    x: int = 0",
    "import functools\n@functools.lru_cache(maxsize=None)\ndef f(x):\n    return x",
    "from functools import cache\n@cache\ndef f(x):\n    return x",
    "class A:\n    @property\n    def x(self):\n        return 1\n    @x.setter\n"
    "    def x(self, v):\n        pass\n    @staticmethod\n    def s():\n        return 1\n"
    "    @classmethod\n    def c(cls):\n        return cls",
    "import torch\nfrom torch import nn\n\nclass Net(nn.Module):\n    def __init__(self):\n"
    "        super().__init__()\n        self.fc = nn.Linear(2, 1)\n\n    @torch.no_grad()\n"
    "    def forward(self, x):\n        return self.fc(x)",
    "df.groupBy('a').agg({'x': 'sum'})",
    "frame.agg('mean')",
    "label = f'{a}-{b}'",
    "text = ', '.join(columns)",
    "import re\npattern = re.compile('a+')",
    "from spark_lester import LesterFrame",
    "from spark_lester.features.text import SentenceEmbedder",
    "from spark_lester import frame\nf = frame.LesterFrame",
    "import spark_lester\nx = spark_lester.LesterFrame\ny = spark_lester.features.text",
    '"""We reflect (think) about the rows."""',
    "pdf['x'].str.replace('_', ' ')",
    "F.regexp_replace(F.col('a'), '_', ' ')",
    "pdf['c'].map({'UK': '_uk'})",
    "def helper(x):\n    return x\n\ny = _ = helper(1)",
]


@pytest.mark.parametrize("rule", sorted(STEALTHY))
def test_stealthy_attack_is_refused_by_its_rule_on_its_line(rule):
    code = STEALTHY[rule]
    line = next(i for i, text in enumerate(code.splitlines(), 1) if "# attack" in text)
    violations = check_allowlist(code, "model" if "def model(" in code else None)
    assert (line, rule) in {(v.line, v.rule) for v in violations}, violations
    kind = next(k for k in ("prepare", "encoder", "model") if f"def {k}(" in code)
    failure = static_failure(code, kind)
    assert failure is not None and failure.stage == "allowlist"


@pytest.mark.parametrize("rule", sorted(STEALTHY))
def test_stealthy_program_is_refused_only_for_its_attack(rule):
    """Everything else in the program is an allowed, correct-looking rewrite."""
    code = STEALTHY[rule]
    line = next(i for i, text in enumerate(code.splitlines(), 1) if "# attack" in text)
    assert {v.line for v in check_allowlist(code)} == {line}


def test_the_stealthy_sql_program_passes_without_its_attack():
    code = STEALTHY["sql"].replace(
        "F.expr(\"java_method('java.lang.Runtime', 'getRuntime') IS NULL\")",
        "F.expr('amount > 1')")
    assert code != STEALTHY["sql"] and static_failure(code, "prepare") is None


@pytest.mark.parametrize("code,rule", NEW_REFUSED, ids=[f"{r}:{c[:40]}" for c, r in NEW_REFUSED])
def test_new_rule_refuses(code, rule):
    assert rule in {v.rule for v in check_allowlist(code)}, check_allowlist(code)


@pytest.mark.parametrize("code", NEW_ALLOWED)
def test_new_rules_allow(code):
    assert check_allowlist(code) == []


OTHER_RULES = [("async def f():\n    pass", "async"),
               ("class A(metaclass=Meta):\n    pass", "class")]


@pytest.mark.parametrize("rule", sorted(RULES))
def test_every_rule_can_fail(rule):
    """Each rule of :data:`RULES` has an example whose refusal names it."""
    examples = [c for c, r in [*REFUSED.items(), *NEW_REFUSED, *OTHER_RULES] if r == rule]
    examples += [STEALTHY[rule]] if rule in STEALTHY else []
    assert examples, f"no example for rule {rule}"
    for code in examples:
        assert rule in {v.rule for v in check_allowlist(code)}, code


def test_violations_of_every_kind_are_reported_at_once_in_line_order():
    code = "\n".join([
        "import operator",                                # 1 import ok
        "x = F.expr(\"reflect('a', 'b')\")",              # 2 sql
        "y = F.expr('a > ' + z)",                         # 3 sql-literal
        "g = operator.attrgetter('df')",                  # 4 by-name
        "j = sc._gateway",                                # 5 private
        "n = '_' + 'x'",                                  # 6 computed-dunder
        "u = F.udf(f)",                                   # 7 udf
        "class A:",                                       # 8
        "    def __del__(self):",                         # 9 dunder-def
        "        pass",                                   # 10
    ])
    violations = check_allowlist(code)
    assert [(v.line, v.rule) for v in violations] == [
        (2, "sql"), (3, "sql-literal"), (4, "by-name"), (5, "private"),
        (6, "computed-dunder"), (7, "udf"), (9, "dunder-def")]


@pytest.mark.parametrize("task", load_corpus(), ids=lambda t: t.name)
def test_every_corpus_reference_passes_the_static_checks(task):
    assert static_failure(task.reference, task.task.kind) is None


def test_running_example_pipeline_meets_no_new_rule():
    """The hand-written pipeline is not a rewrite (it keeps module state in a global,
    imports VADER and scores sentiment in a Python UDF); those are its only refusals."""
    code = (Path(__file__).parents[2] / "examples" / "running_example" / "pipeline.py"
            ).read_text(encoding="utf-8")
    for kind in ("prepare", "encoder"):
        found = [(v.rule, v.detail) for v in check_allowlist(code, kind)]
        assert [r for r, _ in found] == ["global", "import", "udf"], found
        assert "vaderSentiment" in found[1][1]


@pytest.mark.parametrize("text,problem", [
    ("reflect('java.lang.Runtime', 'getRuntime')", "reflect()"),
    ("ReFlEcT ('a', 'b')", "reflect()"),
    ("`java_method`('a', 'b')", "java_method()"),
    ("builtin.try_reflect('a', 'b')", "try_reflect()"),
    ("java_method /* c */ ('a', 'b')", "java_method()"),
    ("java_method -- c\n('a', 'b')", "java_method()"),
    ("-- comment\rreflect('a', 'b')", "reflect()"),           # Spark ends comments at \r
    ("/*+ hint(reflect('a', 'b')) */ 1", "reflect()"),        # hints are read as SQL
    ("'\\' , reflect('a', 'b'), '", "reflect()"),           # escapes off: not in a literal
    ("\"reflect\"('a', 'b')", "reflect()"),                  # double-quoted identifiers
    ("IDENTIFIER('reflect')('a', 'b')", "identifier()"),
    ("(SELECT * FROM json.`/etc`)", "json.`/etc`"),
    ("(SELECT * FROM `org.x.Source`.`hdfs://h/p`)", "`hdfs://h/p`"),
    ("TRANSFORM(a) USING 'sh'", "USING"),
])
def test_sql_tokens_find_hidden_forms(text, problem):
    assert any(problem in p for p in sql_problems(text)), sql_problems(text)


@pytest.mark.parametrize("text", [
    "upper(name) || 'reflect(x)'",
    "concat('java_method(', name, ')')",
    "CASE WHEN load > 3 THEN 'high' ELSE 'low' END",
    "transform(values, v -> v + 1)",
    "input_file_name()",
])
def test_sql_tokens_allow_plain_expressions(text):
    assert sql_problems(text) == []


def test_sql_comments_are_read_as_sql_too():
    """Spark reads ``/*+ hints */``, and no comment syntax is trusted to hide a call."""
    assert sql_problems("amount > 1 -- reflect('a', 'b')") == [
        "reflect() calls Java methods by reflection"]


def test_only_queries_may_be_statements():
    assert sql_problems("SELECT a FROM t", statement=True) == []
    for text in ("SET a = 1", "ADD JAR '/x.jar'", "LOAD DATA INPATH '/x' INTO TABLE t",
                 "INSERT OVERWRITE DIRECTORY '/x' SELECT 1", "CREATE TABLE t LOCATION '/x'",
                 "FROM t INSERT OVERWRITE DIRECTORY '/x' SELECT *", "EXECUTE IMMEDIATE 'x'"):
        assert sql_problems(text, statement=True), text


def test_strings_are_scanned_for_reflection_only():
    assert sql_reflection("SET x = 1; ADD JAR y") == []
    assert sql_reflection("SELECT java_method('a', 'b')") == [
        "java_method() calls Java methods by reflection"]


def test_names_built_with_a_suffix_are_not_computed_dunders():
    """A column name such as ``f"{c}_scaled"`` cannot close a dunder: no false refusal."""
    assert [v.rule for v in check_allowlist('def f(c):\n    return f"{c}_scaled"\n')] == []
    assert [v.rule for v in check_allowlist('def f(c):\n    return c + "_x"\n')] == []
    assert "computed-dunder" in [v.rule for v in check_allowlist(
        'def f(c):\n    return "_" + c + "_"\n')]
    assert "computed-dunder" in [v.rule for v in check_allowlist(
        'def f(c):\n    return "_class_" + c\n')]


# Found by the real-model benchmark (qwen-0.5b, running_example, round 2): a PySpark rewrite
# annotates its inputs with `from pyspark.sql import DataFrame`, which the checker refused
# with advice from the old target API ("use spark_lester for data").
ANNOTATED = '''\
from pyspark.sql import DataFrame, functions as F

def prepare(c: DataFrame, m: "DataFrame", extra: list[DataFrame] | None = None) -> DataFrame:
    joined: DataFrame = c.join(m, on="email", how="inner")
    return joined.withColumn("title", F.lower(F.col("mail_subject")))
'''


def test_a_dataframe_type_annotation_is_allowed():
    assert check_allowlist(ANNOTATED) == []


@pytest.mark.parametrize("use", [
    "DataFrame.toPandas(c)",               # an unbound method on a tracked frame
    "DataFrame",                           # the class itself, as a value
    "[DataFrame][0]",
])
def test_dataframe_outside_an_annotation_is_refused(use):
    code = ANNOTATED.replace('joined.withColumn', f'{use} and joined.withColumn')
    violations = check_allowlist(code)
    assert [(v.line, v.rule) for v in violations] == [(5, "name")], violations
    assert "only in the type annotations of a function" in violations[0].detail


def test_an_annotation_that_calls_code_does_not_make_dataframe_allowed():
    code = ANNOTATED.replace("extra: list[DataFrame] | None", "extra: DataFrame.toPandas(1)")
    assert [(v.line, v.rule) for v in check_allowlist(code)] == [(3, "name")]


def test_other_pyspark_sql_names_are_refused_with_advice_for_plain_pyspark():
    [violation] = check_allowlist("from pyspark.sql import SparkSession")
    assert "arrives as a DataFrame argument of prepare" in violation.detail
    assert "spark_lester" not in violation.detail


# A second review of the DataFrame exception (helper session, 2026-12-07) got the class, or
# Spark's context, past the checker. Each program below returned [] (run with plain Python,
# each one held the class or the context at its end); each must be refused.
SMUGGLED = {
    # pyspark.sql.functions, .column and .types pass on what they import (pyspark 3.5.6):
    # Spark's context, the DataFrame class, py4j's gateway; this one was open before too
    "functions_passes_the_context_on": (
        "from pyspark.sql import functions as F\n"
        "def prepare(m):\n"
        "    sc = F.SparkContext.getOrCreate()\n"
        "    return sc.textFile('/etc/passwd')\n"),
    "functions_passes_dataframe_on": (
        "from pyspark.sql import functions as F\nD = F.DataFrame\n"),
    "imported_through_functions": (
        "from pyspark.sql.functions import DataFrame\nD = DataFrame\n"),
    "imported_through_column": "from pyspark.sql.column import SparkContext\n",
    "imported_through_types": "from pyspark.sql.types import CloudPickleSerializer\n",
    "gateway_through_types": "from pyspark.sql import types as T\nG = T.JavaGateway\n",
    # a dataclass keeps its fields' evaluated annotations
    "dataclass_field_type": (
        "from dataclasses import dataclass, fields\n"
        "from pyspark.sql import DataFrame\n"
        "@dataclass\n"
        "class Box:\n"
        "    x: DataFrame\n"
        "D = fields(Box)[0].type\n"),
    # a module-level annotation is evaluated too
    "module_annotation": "from pyspark.sql import DataFrame\nbox: list[DataFrame] = []\n",
    # a later import of another DataFrame hid the first from the flat alias table
    "shadowed_by_a_later_import": (
        "from pyspark.sql import DataFrame\n"
        "D = DataFrame\n"
        "def unused():\n"
        "    from pandas import DataFrame\n"),
    # a subscript in an annotation runs the subscripted object's code
    "subscript_runs_code": (
        "from collections import defaultdict\n"
        "from pyspark.sql import DataFrame\n"
        "seen = defaultdict(int)\n"
        "def f(x: seen[DataFrame]) -> None:\n"
        "    pass\n"
        "D = list(seen)[0]\n"),
    # the module under another name, in a container or as an argument hands out what it
    # only passes on (left open in session 24: `G = F; G.DataFrame` passed)
    "module_bound_to_another_name": (
        "from pyspark.sql import functions as F\nG = F\nD = G.DataFrame\n"),
    "module_in_a_container": (
        "from pyspark.sql import functions as F\nD = [F][0].DataFrame\n"),
    "module_as_an_argument": (
        "from pyspark.sql import types as T\n"
        "def reach(m):\n"
        "    return m.DataFrame\n"
        "G = reach(T)\n"),
}


@pytest.mark.parametrize("name", sorted(SMUGGLED))
def test_the_dataframe_class_and_sparks_context_cannot_be_smuggled_out(name):
    assert check_allowlist(SMUGGLED[name]), name


@pytest.mark.parametrize("code", [
    "from typing import Optional\nfrom pyspark.sql import DataFrame\n"
    "def prepare(a: Optional[DataFrame], b: dict[str, DataFrame]) -> DataFrame:\n"
    "    return a\n",
    "from __future__ import annotations\nfrom pyspark.sql import DataFrame\n"
    "def prepare(a: DataFrame) -> DataFrame:\n    return a\n",
    "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
    "    from pyspark.sql import DataFrame\n"
    "def prepare(a: 'DataFrame') -> 'DataFrame':\n    return a\n",
    "from pyspark.sql import functions as F\nfrom pyspark.sql.types import StringType\n"
    "def prepare(a):\n    return a.withColumn('s', F.col('x').cast(StringType()))\n",
])
def test_annotations_and_own_names_a_pyspark_engineer_writes_pass(code):
    assert check_allowlist(code) == []


def test_a_second_import_under_the_same_name_is_refused():
    # The checks resolve a name through one table of imports, where the last one won: a
    # never-run `import math as S` hid that S is spark_lester, and S.deletion.ledger (which
    # changes stored data) passed; the review above found the same with DataFrame.
    code = ("import spark_lester as S\n"
            "def unused():\n"
            "    import math as S\n"
            "x = S.deletion.ledger\n")
    assert [(v.rule, v.line) for v in check_allowlist(code)] == [("import", 3)]
    assert {v.line for v in check_allowlist(code.replace("import math as S",
                                                         "import math as M"))} == {4}
    assert check_allowlist("import numpy as np\ndef f():\n    import numpy as np\n"
                           "    return np.zeros(2)\n") == []
