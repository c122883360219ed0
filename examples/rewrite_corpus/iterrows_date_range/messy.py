# Settled transactions of one quarter, picked row by row with pandas iterrows and strptime.
import os
from datetime import datetime

import pandas as pd

START = datetime.strptime("2023-02-01", "%Y-%m-%d")
END = datetime.strptime("2023-05-01", "%Y-%m-%d")

df = pd.read_csv("inputs/transactions.csv")
out = []
for _, row in df.iterrows():
    day = datetime.strptime(row["txn_date"], "%Y-%m-%d")
    if day < START or day >= END:
        continue
    if row["status"] != "settled":
        continue
    out.append({"txn_id": row["txn_id"], "account": row["account"],
                "month": day.strftime("%Y-%m"), "amount": row["amount"]})

os.makedirs("output", exist_ok=True)
pd.DataFrame(out, columns=["txn_id", "account", "month", "amount"]).to_csv(
    "output/result.csv", index=False)
