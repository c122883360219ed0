# Per-device summary with groupby().apply and a function returning a Series.
import os

import pandas as pd

df = pd.read_csv("inputs/readings.csv")
ok = df[df["status"] == "ok"]


def summarise(g):
    return pd.Series({"n": len(g), "low": g["reading"].min(),
                      "spread": g["reading"].max() - g["reading"].min()})


out = ok.groupby("device")[["reading"]].apply(summarise).reset_index()

os.makedirs("output", exist_ok=True)
out.reindex(columns=["device", "n", "low", "spread"]).to_csv("output/result.csv", index=False)
