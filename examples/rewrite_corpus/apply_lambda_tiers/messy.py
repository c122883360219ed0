# Customer tiers with pandas apply and lambdas; the e-mail domain cut out by hand.
import os

import pandas as pd

df = pd.read_csv("inputs/customers.csv")
df = df[df["active"] == "yes"].copy()
df["domain"] = df["email"].apply(lambda e: e.split("@")[1].lower())
df["tier"] = df["spend"].apply(
    lambda s: "gold" if s >= 1000 else ("silver" if s >= 200 else "bronze"))

os.makedirs("output", exist_ok=True)
df[["customer_id", "domain", "tier"]].to_csv("output/result.csv", index=False)
