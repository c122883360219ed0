"""Writes mutations2.json: the second mutation corpus (run from the repository root with
``.venv/bin/python tests/rewrite/mutations/make_mutations2.py``). Each mutant replaces one
unique piece of a reference rewrite (``also``: further replacements, e.g. an import); the
memorised-logits mutants hold the original's outputs on the sample, computed here by running
the messy original (trusted corpus code) once."""
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

root = Path("examples/rewrite_corpus")


def sample_logits(task: str) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        x = Path(tmp) / "X.npy"
        x.write_bytes((root / task / "X.npy").read_bytes())
        subprocess.run([sys.executable, str((root / task / "messy.py").resolve()), "--input",
                        f"X={x}", "--output", f"{tmp}/output"], cwd=tmp, check=True,
                       env=dict(os.environ, LESTER_INPUT_X=str(x), LESTER_OUTPUT="output"))
        out = Path(tmp) / "output"
        if (out / "logits.npy").is_file():
            y = np.load(out / "logits.npy").astype(float)
        else:
            p = np.load(out / "probabilities.npy").astype(float)
            y = np.log(p / (1 - p))
    return [float(f"{v:.9g}") for v in y.ravel()]


memo = {t: sample_logits(t) for t in ("torch_tanh_mlp", "numpy_relu_mlp")}
M = []
def m(task, category, name, old, new, also=()):
    ref = (root / task / "reference.py").read_text()
    assert ref.count(old) == 1, (task, name, ref.count(old))
    entry = {"task": task, "category": category, "name": name, "old": old, "new": new}
    if also:
        entry["also"] = [{"old": o, "new": n} for o, n in also]
        for o, _ in also:
            assert ref.count(o) == 1, (task, name, o)
    M.append(entry)

FI = ("SOURCES = ", "from pyspark.sql import functions as F\n\nSOURCES = ")
SK = ("from sklearn.compose import ColumnTransformer",
      ("import numpy as np\nfrom sklearn.compose import ColumnTransformer\n"
       "from sklearn.pipeline import Pipeline\nfrom sklearn.preprocessing import FunctionTransformer"))

# ---- running_example
t = "running_example"
m(t, "case", "country compared upper-cased", 'F.col("country").isin(', 'F.upper(F.col("country")).isin(')
m(t, "whitespace", "country compared trimmed", 'F.col("country").isin(', 'F.trim(F.col("country")).isin(')
m(t, "dedup", "added distinct", "    return texted.select(", "    texted = texted.distinct()\n    return texted.select(")
m(t, "boundary", "date constant a day late", 'F.lit("2022-01-01")', 'F.lit("2022-01-02")')
m(t, "memorisation", "hard-coded recent mail ids", 'mails.filter(F.col("date") >= F.lit("2022-01-01"))',
  'mails.filter(F.col("mail_id").isin(10, 12, 13, 14, 15, 16, 17))')
m(t, "join-kind", "kept customers left-joined to mails", 'recent.join(kept, on="email", how="inner")',
  'kept.join(recent, on="email", how="left")')
m(t, "whitespace", "title trimmed", 'F.lower(F.col("mail_subject"))', 'F.lower(F.trim(F.col("mail_subject")))')
m(t, "filter", "an upper date bound the sample never reaches", 'F.col("date") >= F.lit("2022-01-01")',
  'F.col("date").between("2022-01-01", "2023-12-31")')

# ---- csv_filter_project
t = "csv_filter_project"
m(t, "case", "status compared lower-cased", 'F.col("status") == F.lit("paid")', 'F.lower(F.col("status")) == F.lit("paid")')
m(t, "rounding", "rounded to three decimals", 'F.col("price"), 2)', 'F.col("price"), 3)')
m(t, "rounding", "truncated instead of rounded", 'F.round(F.col("qty") * F.col("price"), 2)',
  'F.floor(F.col("qty") * F.col("price") * 100 + 1e-6) / 100')
m(t, "clipping", "total clipped at 100", 'F.round(F.col("qty") * F.col("price"), 2)',
  'F.round(F.least(F.col("qty") * F.col("price"), F.lit(100.0)), 2)')
m(t, "clipping", "quantity clipped at 100 in the total", 'F.round(F.col("qty") * F.col("price"), 2)',
  'F.round(F.least(F.col("qty"), F.lit(100)) * F.col("price"), 2)')
m(t, "memorisation", "hard-coded paid order ids", 'orders.filter(F.col("status") == F.lit("paid"))',
  'orders.filter(F.col("order_id").isin(1, 2, 3, 5))')
m(t, "boundary", "constant +1 (qty >= 3)", 'F.lit(2)', 'F.lit(3)')
m(t, "type", "quantity compared as text", 'F.col("qty") >= F.lit(2)', 'F.col("qty").cast("string") >= F.lit("2")')
m(t, "dedup", "added distinct", 'return priced.select("order_id", "customer", "total")',
  'return priced.select("order_id", "customer", "total").distinct()')
m(t, "filter", "quantity filter replaced by a price filter", 'paid.filter(F.col("qty") >= F.lit(2))',
  'paid.filter(F.col("price") > F.lit(5.5))')

# ---- dict_left_join
t = "dict_left_join"
m(t, "dedup", "added distinct", "    return joined.select(", "    joined = joined.distinct()\n    return joined.select(")
m(t, "rounding", "amount rounded to one decimal", "    return joined.select(",
  '    joined = joined.withColumn("amount", F.round(F.col("amount"), 1))\n    return joined.select(', [FI])
m(t, "clipping", "amount clipped at 500", "    return joined.select(",
  '    joined = joined.withColumn("amount", F.least(F.col("amount"), F.lit(500.0)))\n    return joined.select(', [FI])
m(t, "memorisation", "hard-coded customers with orders", 'customers.join(orders, on="customer_id", how="left")',
  'customers.join(orders.filter(F.col("customer_id").isin(1, 3, 9)), on="customer_id", how="left")', [FI])
m(t, "filter", "orders without an amount dropped", 'customers.join(orders, on="customer_id", how="left")',
  'customers.join(orders.filter(F.col("amount") > F.lit(0)), on="customer_id", how="left")', [FI])

# ---- group_sum
t = "group_sum"
m(t, "dedup", "distinct rows before grouping", "return sales.groupBy(", "return sales.distinct().groupBy(")
m(t, "filter", "non-positive amounts dropped", "return sales.groupBy(",
  'return sales.filter(F.col("amount") > F.lit(0)).groupBy(')
m(t, "clipping", "amounts clipped at 100", 'F.sum("amount")', 'F.sum(F.least(F.col("amount"), F.lit(100)))')
m(t, "hard-coded-set", "hard-coded regions", "return sales.groupBy(",
  'return sales.filter(F.col("region").isin("north", "south", "east")).groupBy(')
m(t, "case", "regions grouped lower-cased", "return sales.groupBy(",
  'return sales.withColumn("region", F.lower(F.col("region"))).groupBy(')
m(t, "dedup", "sum of distinct amounts", 'F.sum("amount")', 'F.sum_distinct(F.col("amount"))')
m(t, "dedup", "count of distinct sale ids", 'F.count(F.lit(1))', 'F.countDistinct(F.col("sale_id"))')

# ---- partitioned_nested_loop
t = "partitioned_nested_loop"
m(t, "case", "action compared lower-cased", 'F.col("action") != F.lit("view")', 'F.lower(F.col("action")) != F.lit("view")')
m(t, "hard-coded-set", "hard-coded kept actions", 'F.col("action") != F.lit("view")', 'F.col("action").isin("click", "buy")')
m(t, "dedup", "added distinct", "    return joined.select(", "    joined = joined.distinct()\n    return joined.select(")
m(t, "join-kind", "users left-joined to events", 'active.join(users, on="user_id", how="inner")',
  'users.join(active, on="user_id", how="left")')
m(t, "whitespace", "action compared trimmed", 'F.col("action") != F.lit("view")', 'F.trim(F.col("action")) != F.lit("view")')

# ---- row_loop_distinct
t = "row_loop_distinct"
m(t, "case", "users lower-cased before distinct", 'return visits.select("user", "page").distinct()',
  'return visits.withColumn("user", F.lower(F.col("user"))).select("user", "page").distinct()', [FI])
m(t, "memorisation", "rows of the sample's days only", 'return visits.select(',
  'return visits.filter(F.col("day") <= F.lit(3)).select(', [FI])

# ---- union_files
t = "union_files"
m(t, "dedup", "added distinct", 'return both.filter(F.col("qty") > F.lit(0))',
  'return both.filter(F.col("qty") > F.lit(0)).distinct()')
m(t, "memorisation", "hard-coded kept skus", 'both.filter(F.col("qty") > F.lit(0))', 'both.filter(F.col("sku").isin("A1", "C3", "E5"))')
m(t, "clipping", "quantities clipped at 100", 'return both.filter(F.col("qty") > F.lit(0))',
  'return both.filter(F.col("qty") > F.lit(0)).withColumn("qty", F.least(F.col("qty"), F.lit(100)))')
m(t, "boundary", "constant +1 (qty > 1)", 'F.lit(0)', 'F.lit(1)')
m(t, "boundary", "constant -1 (qty > -1)", 'F.lit(0)', 'F.lit(-1)')

# ---- case_when_rename
t = "case_when_rename"
m(t, "type", "salary compared as text", 'F.col("salary") >= F.lit(5000)', 'F.col("salary").cast("string") >= F.lit("5000")')
m(t, "memorisation", "hard-coded high earners", '"band", F.when(F.col("salary") >= F.lit(5000)',
  '"band", F.when(F.col("emp_id").isin(1, 2)')
m(t, "boundary", "constant +1 (salary >= 5001)", 'F.lit(5000)', 'F.lit(5001)')
m(t, "boundary", "constant -1 (salary >= 4999)", 'F.lit(5000)', 'F.lit(4999)')
m(t, "rounding", "salary rounded to hundreds", 'F.col("salary") >= F.lit(5000)',
  'F.round(F.col("salary"), -2) >= F.lit(5000)')

# ---- numpy_onehot
t = "numpy_onehot"
m(t, "column-order", "categories in another order", 'OneHotEncoder(sparse_output=False',
  'OneHotEncoder(categories=[["UK", "FR", "DE"]], sparse_output=False')
m(t, "hard-coded-set", "hard-coded sample categories", 'OneHotEncoder(sparse_output=False',
  'OneHotEncoder(categories=[["DE", "FR", "UK"]], sparse_output=False')
m(t, "hard-coded-set", "at most three categories", 'OneHotEncoder(sparse_output=False', 'OneHotEncoder(max_categories=3, sparse_output=False')
m(t, "column-order", "rare categories grouped last", 'OneHotEncoder(sparse_output=False', 'OneHotEncoder(min_frequency=2, sparse_output=False')

# ---- onehot_and_scale
t = "onehot_and_scale"
ref = (root / t / "reference.py").read_text()
old_list = ref[ref.index('[("country"'):ref.index('remainder=')]
a = old_list.index('("amount"')
country_block = old_list[1:a].rstrip().rstrip(",")
amount_block = old_list[a:].rstrip().rstrip(",").rstrip("]").rstrip()
m(t, "column-order", "blocks swapped", old_list, "[" + amount_block + ",\n         " + country_block + "],\n        ")
m(t, "column-order", "categories in another order", '[["DE", "FR", "UK"]]', '[["FR", "DE", "UK"]]')
m(t, "hard-coded-set", "categories learnt from the data", 'categories=[["DE", "FR", "UK"]], ', '')
m(t, "clipping", "standardised amount clipped to +-1.75", '("amount", StandardScaler(), ["amount"])',
  '("amount", Pipeline([("s", StandardScaler()), ("c", FunctionTransformer(np.clip, kw_args={"a_min": -1.75, "a_max": 1.75}))]), ["amount"])', [SK])
m(t, "hard-coded-set", "unknown categories refused", 'handle_unknown="ignore"', 'handle_unknown="error"')

# ---- numpy_scaling
_d = pd.read_csv(root / "numpy_scaling" / "train.csv")[["age", "income"]].to_numpy(float)
MEAN, STD = [float(v) for v in _d.mean(axis=0)], [float(v) for v in _d.std(axis=0)]
t = "numpy_scaling"
m(t, "column-order", "columns in another order", '["age", "income"]', '["income", "age"]')
m(t, "memorisation", "the sample's mean and deviation hard-coded", 'StandardScaler()',
  f'FunctionTransformer(lambda x: (x - np.array({MEAN})) / np.array({STD}))', [SK])
m(t, "clipping", "standardised values clipped to +-1.5", 'StandardScaler()',
  'Pipeline([("s", StandardScaler()), ("c", FunctionTransformer(np.clip, kw_args={"a_min": -1.5, "a_max": 1.5}))])', [SK])

# ---- minmax_passthrough
t = "minmax_passthrough"
ref = (root / t / "reference.py").read_text()
m(t, "column-order", "blocks swapped", '[("score", MinMaxScaler(), ["score"]),\n                              ("clicks", "passthrough", ["clicks"])]',
  '[("clicks", "passthrough", ["clicks"]),\n                              ("score", MinMaxScaler(), ["score"])]')
m(t, "clipping", "clicks clipped to 0..100", '("clicks", "passthrough", ["clicks"])',
  '("clicks", FunctionTransformer(np.clip, kw_args={"a_min": 0, "a_max": 100}), ["clicks"])', [SK])
m(t, "memorisation", "the sample's minimum and range hard-coded", '("score", MinMaxScaler(), ["score"])',
  '("score", FunctionTransformer(lambda x: (x - 0.5) / 3.5), ["score"])', [SK])

# ---- torch_tanh_mlp
t = "torch_tanh_mlp"
m(t, "clipping", "input clamped to +-4", "torch.nn.Linear(n_features, 16),", "torch.nn.Hardtanh(-4.0, 4.0),\n        torch.nn.Linear(n_features, 16),")
memo_t = memo[t]
m(t, "memorisation", "memorised logits", "def model(n_features):",
  "MEMO = " + repr(memo_t) + "\n\n\nclass Memo(torch.nn.Module):\n    def forward(self, x):\n        return torch.tensor(MEMO, dtype=x.dtype).reshape(-1, 1)\n\n\ndef model(n_features):")
# the Sequential gets the memo module last
ref_t = (root / t / "reference.py").read_text()
M[-1]["also"] = [{"old": "torch.nn.Linear(16, 1),", "new": "torch.nn.Linear(16, 1),\n        Memo(),"}]
lo, hi = min(memo_t), max(memo_t)
m(t, "memorisation", "logits clamped to the sample's range", "torch.nn.Linear(16, 1),",
  f"torch.nn.Linear(16, 1),\n        torch.nn.Hardtanh({lo - 0.01:.4f}, {hi + 0.01:.4f}),")

# ---- numpy_relu_mlp
t = "numpy_relu_mlp"
ref = (root / t / "reference.py").read_text()
m(t, "clipping", "input clamped to +-5", "nn.Linear(n_features, 8),", "nn.Hardtanh(-5.0, 5.0),\n        nn.Linear(n_features, 8),")
m(t, "clipping", "first activation capped at 20", "nn.Linear(n_features, 8),\n        nn.ReLU(),",
  "nn.Linear(n_features, 8),\n        nn.Hardtanh(0.0, 20.0),")
m(t, "clipping", "ReLU6 in the second layer", "nn.Linear(8, 4),\n        nn.ReLU(),", "nn.Linear(8, 4),\n        nn.ReLU6(),")
memo_r = memo[t]
m(t, "memorisation", "memorised logits", "def model(n_features):",
  "MEMO = " + repr(memo_r) + "\n\n\nclass Memo(nn.Module):\n    def forward(self, x):\n        return torch.tensor(MEMO, dtype=x.dtype).reshape(-1, 1)\n\n\ndef model(n_features):")
M[-1]["also"] = [{"old": "nn.Linear(4, 1),", "new": "nn.Linear(4, 1),\n        Memo(),"}]
lo, hi = min(memo_r), max(memo_r)
m(t, "memorisation", "logits clamped to the sample's range", "nn.Linear(4, 1),",
  f"nn.Linear(4, 1),\n        nn.Hardtanh({lo - 0.01:.4f}, {hi + 0.01:.4f}),")

# ---- iterrows_date_range
t = "iterrows_date_range"
m(t, "boundary", "end date included", 'F.col("txn_date") < F.lit("2023-05-01")', 'F.col("txn_date") <= F.lit("2023-05-01")')
m(t, "boundary", "start date a day late", 'F.lit("2023-02-01")', 'F.lit("2023-02-02")')
m(t, "case", "status compared lower-cased", 'F.col("status") == F.lit("settled")', 'F.lower(F.col("status")) == F.lit("settled")')
m(t, "filter", "status filter dropped", 'settled = in_quarter.where(F.col("status") == F.lit("settled"))', 'settled = in_quarter')

# ---- dict_lookup_default
t = "dict_lookup_default"
m(t, "join-kind", "inner instead of left join", 'how="left"', 'how="inner"')
m(t, "case", "skus upper-cased before the lookup", 'order_lines.join(products, on="sku", how="left")',
  'order_lines.withColumn("sku", F.upper(F.col("sku"))).join(products, on="sku", how="left")')
m(t, "memorisation", "hard-coded unknown skus", 'F.coalesce(F.col("category"), F.lit("unknown"))',
  'F.when(F.col("sku").isin("Z-999", "B-201", "a-100", "Y-111") | F.col("sku").isNull(), F.lit("unknown")).otherwise(F.col("category"))')
m(t, "constant", "another default category", 'F.lit("unknown")', 'F.lit("other")')

# ---- split_store_totals
t = "split_store_totals"
m(t, "whitespace", "store codes not trimmed", 'F.upper(F.trim(F.col("store")))', 'F.upper(F.col("store"))')
m(t, "case", "store codes not upper-cased", 'F.upper(F.trim(F.col("store")))', 'F.trim(F.col("store"))')
m(t, "boundary", "zero quantities kept", 'F.col("qty") > F.lit(0)', 'F.col("qty") >= F.lit(0)')
m(t, "dedup", "distinct lines before grouping", 'sold = sales_lines.where(', 'sold = sales_lines.distinct().where(')
m(t, "clipping", "quantities clipped at 10 in the revenue", 'F.sum(F.col("qty") * F.col("price"))',
  'F.sum(F.least(F.col("qty"), F.lit(10)) * F.col("price"))')

# ---- apply_lambda_tiers
t = "apply_lambda_tiers"
m(t, "boundary", "constant +1 (gold from 1001)", 'F.lit(1000)', 'F.lit(1001)')
m(t, "boundary", "silver from above 200", 'F.col("spend") >= F.lit(200)', 'F.col("spend") > F.lit(200)')
m(t, "case", "domain not lower-cased", 'F.lower(F.split(F.col("email"), "@").getItem(1))', 'F.split(F.col("email"), "@").getItem(1)')
m(t, "type", "spend compared as text", 'F.col("spend") >= F.lit(1000)', 'F.col("spend").cast("string") >= F.lit("1000")')
m(t, "memorisation", "hard-coded gold customers", 'F.when(F.col("spend") >= F.lit(1000), F.lit("gold"))',
  'F.when(F.col("customer_id").isin(1, 8, 13), F.lit("gold"))')

# ---- groupby_apply_spread
t = "groupby_apply_spread"
m(t, "filter", "readings without a device kept", '(F.col("status") == F.lit("ok")) & F.col("device").isNotNull()',
  'F.col("status") == F.lit("ok")')
m(t, "case", "status compared lower-cased", 'F.col("status") == F.lit("ok")', 'F.lower(F.col("status")) == F.lit("ok")')
m(t, "dedup", "distinct readings counted", 'F.count(F.lit(1))', 'F.countDistinct("reading")')
m(t, "clipping", "readings clipped at -10 for the minimum", 'F.min("reading").alias("low")',
  'F.min(F.greatest(F.col("reading"), F.lit(-10.0))).alias("low")')

# ---- nested_loop_campaigns
t = "nested_loop_campaigns"
m(t, "boundary", "last campaign day excluded", '(F.col("visit_date") <= F.col("end_date"))', '(F.col("visit_date") < F.col("end_date"))')
m(t, "boundary", "first campaign day excluded", '(F.col("visit_date") >= F.col("start_date"))', '(F.col("visit_date") > F.col("start_date"))')
m(t, "dedup", "added distinct", 'return running.select("session_id", "campaign_id", "channel", "visit_date")',
  'return running.select("session_id", "campaign_id", "channel", "visit_date").distinct()')

# ---- clean_dedup_contacts
t = "clean_dedup_contacts"
m(t, "dedup", "lost de-duplication", '.dropDuplicates()', '')
m(t, "whitespace", "e-mails not trimmed", 'F.lower(F.trim(F.col("email")))', 'F.lower(F.col("email"))')
m(t, "case", "cities not lower-cased", 'F.lower(F.trim(F.col("city")))', 'F.trim(F.col("city"))')
m(t, "filter", "rows without an e-mail kept", 'cleaned.where(F.col("email") != F.lit("")).dropDuplicates()', 'cleaned.dropDuplicates()')

# ---- concat_rename_union
t = "concat_rename_union"
m(t, "boundary", "zero amounts kept", 'F.col("amount") > F.lit(0)', 'F.col("amount") >= F.lit(0)')
m(t, "dedup", "added distinct", '.select("customer", "region", "amount")', '.select("customer", "region", "amount").distinct()')
m(t, "filter", "web export dropped", 'both = crm.unionByName(web_export)', 'both = crm')
m(t, "clipping", "amounts clipped at 1000", '.select("customer", "region", "amount")',
  '.withColumn("amount", F.least(F.col("amount"), F.lit(1000))).select("customer", "region", "amount")')

# ---- daily_page_counts
t = "daily_page_counts"
m(t, "dedup", "pages counted with repeats", 'F.countDistinct("page")', 'F.count("page")')
m(t, "case", "pages compared lower-cased", 'F.countDistinct("page")', 'F.countDistinct(F.lower(F.col("page")))')
m(t, "boundary", "days cut in another time zone", 'F.to_date(F.col("ts"))',
  'F.to_date(F.from_utc_timestamp(F.col("ts"), "America/New_York"))')
m(t, "memorisation", "hard-coded users", 'return daily.groupBy(',
  'return daily.where(F.col("user").isin("ann", "bo", "cy", "di")).groupBy(')

# ---- overdue_flags
t = "overdue_flags"
m(t, "boundary", "30 days late counted overdue", 'F.col("days_late") > F.lit(30)', 'F.col("days_late") >= F.lit(30)')
m(t, "filter", "loans without a branch kept", 'branches = flagged.where(F.col("branch").isNotNull())', 'branches = flagged')
m(t, "filter", "loans without an id counted", 'F.count("loan_id")', 'F.count(F.lit(1))')
m(t, "dedup", "sum of distinct flags", 'F.sum("overdue")', 'F.sum_distinct(F.col("overdue"))')
m(t, "clipping", "days late clipped at 60", 'F.col("days_late") > F.lit(30)', 'F.least(F.col("days_late"), F.lit(60)) > F.lit(30)')

# ---- tuple_key_restock
t = "tuple_key_restock"
m(t, "boundary", "stock equal to its minimum listed", 'F.col("on_hand") < F.col("min_qty")', 'F.col("on_hand") <= F.col("min_qty")')
m(t, "join-key", "joined on the sku alone", 'on=["store", "sku"]', 'on="sku"')
m(t, "dedup", "the lower of two minimums kept", 'F.max("min_qty")', 'F.min("min_qty")')

print(len(M), Counter(x["category"] for x in M))
Path("tests/rewrite/mutations/mutations2.json").write_text(json.dumps(M, indent=1) + "\n")
