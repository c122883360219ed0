# Two exports with different headers, renamed and concatenated with pandas; amounts that
# are not positive (refunds, zero lines, blanks) are dropped.
import os

import pandas as pd

crm = pd.read_csv("inputs/crm_export.csv").rename(columns={"cust_id": "customer",
                                                           "amt": "amount"})
web = pd.read_csv("inputs/web_export.csv")
both = pd.concat([crm, web], ignore_index=True)
both = both[both["amount"] > 0]

os.makedirs("output", exist_ok=True)
both[["customer", "region", "amount"]].to_csv("output/result.csv", index=False)
