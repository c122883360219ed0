# Store revenue from a hand-parsed CSV: split(","), stripped and upper-cased store codes,
# returns (qty <= 0) skipped, revenue and line counts accumulated in dicts.
import os

revenue, lines = {}, {}
with open("inputs/sales_lines.csv") as f:
    header = [h.strip() for h in f.readline().split(",")]
    for line in f:
        parts = [p.strip() for p in line.rstrip("\n").split(",")]
        if len(parts) != len(header):
            continue
        row = dict(zip(header, parts))
        qty = int(row["qty"])
        if qty <= 0:
            continue
        store = row["store"].upper()
        revenue[store] = revenue.get(store, 0.0) + qty * float(row["price"])
        lines[store] = lines.get(store, 0) + 1

os.makedirs("output", exist_ok=True)
with open("output/result.csv", "w") as f:
    f.write("store,lines,revenue\n")
    for store in revenue:
        f.write(f"{store},{lines[store]},{revenue[store]}\n")
