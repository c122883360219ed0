from __future__ import annotations

import pytest

from spark_lester.rewrite.allowlist import check_allowlist

ALLOWED = [
    "from pyspark.sql import functions as F\nimport spark_lester\nimport math, re, datetime",
    "from sklearn.compose import ColumnTransformer\nfrom sklearn.preprocessing import "
    "OneHotEncoder\nimport numpy as np\nimport pandas as pd",
    "class T:\n    def __init__(self):\n        super().__init__()",
    "def prepare(m):\n    return m.project('t', ['s'], lambda s: s.lower())",
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
