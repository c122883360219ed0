# Per-region totals and counts accumulated in dicts.
import csv
import os

totals, counts = {}, {}
with open("inputs/sales.csv") as f:
    for row in csv.DictReader(f):
        region = row["region"]
        totals[region] = totals.get(region, 0) + int(row["amount"])
        counts[region] = counts.get(region, 0) + 1

os.makedirs("output", exist_ok=True)
with open("output/result.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["region", "total", "n"])
    for region in totals:
        w.writerow([region, totals[region], counts[region]])
