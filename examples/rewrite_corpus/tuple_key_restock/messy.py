# Restock list: minimum quantities in a dict keyed by (store, sku) tuples (a pair listed twice
# keeps its higher minimum), stock rows looked up by hand; rows below their minimum with the
# quantity missing.
import csv
import os

minimum = {}
with open("inputs/thresholds.csv") as f:
    for row in csv.DictReader(f):
        if not row["store"] or not row["sku"] or not row["min_qty"]:
            continue
        key = (row["store"], row["sku"])
        qty = int(row["min_qty"])
        if key not in minimum or qty > minimum[key]:
            minimum[key] = qty

out = []
with open("inputs/stock.csv") as f:
    for row in csv.DictReader(f):
        key = (row["store"], row["sku"])
        if key not in minimum:
            continue
        on_hand = int(row["on_hand"])
        if on_hand < minimum[key]:
            out.append([row["store"], row["sku"], on_hand, minimum[key] - on_hand])

os.makedirs("output", exist_ok=True)
with open("output/result.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["store", "sku", "on_hand", "missing"])
    w.writerows(out)
