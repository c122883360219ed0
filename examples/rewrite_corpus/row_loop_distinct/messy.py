# Row loop with a "seen" set: a hand-made DISTINCT over two columns.
import csv
import os

seen = set()
out = []
with open("inputs/visits.csv") as f:
    for row in csv.DictReader(f):
        key = (row["user"], row["page"])
        if key in seen:
            continue
        seen.add(key)
        out.append(key)

os.makedirs("output", exist_ok=True)
with open("output/result.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["user", "page"])
    w.writerows(out)
