# Loans flagged overdue (more than 30 days late) with apply and a lambda, then counted per
# branch with pandas named aggregations.
import os

import pandas as pd

df = pd.read_csv("inputs/loans.csv")
df["overdue"] = df["days_late"].apply(lambda d: 1 if d > 30 else 0)
summary = df.groupby("branch").agg(loans=("loan_id", "count"),
                                   overdue=("overdue", "sum")).reset_index()

os.makedirs("output", exist_ok=True)
summary[["branch", "loans", "overdue"]].to_csv("output/result.csv", index=False)
