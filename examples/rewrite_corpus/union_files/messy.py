# Two files appended in a loop, non-positive quantities dropped.
import csv
import os

rows = []
for name in ("inputs/shop_a.csv", "inputs/shop_b.csv"):
    with open(name) as f:
        for row in csv.DictReader(f):
            if int(row["qty"]) > 0:
                rows.append([row["sku"], row["qty"]])

os.makedirs("output", exist_ok=True)
with open("output/result.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["sku", "qty"])
    w.writerows(rows)
