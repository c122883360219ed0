# Manual CSV parsing with str.split and a filter-and-compute loop.
import os

rows = []
with open("inputs/orders.csv") as f:
    header = f.readline().strip().split(",")
    for line in f:
        values = line.strip().split(",")
        if len(values) != len(header):
            continue
        rows.append(dict(zip(header, values)))

out = []
for r in rows:
    if r["status"] != "paid":
        continue
    qty = int(r["qty"])
    if qty >= 2:
        total = round(qty * float(r["price"]), 2)
        out.append((r["order_id"], r["customer"], total))

os.makedirs("output", exist_ok=True)
with open("output/result.csv", "w") as f:
    f.write("order_id,customer,total\n")
    for order_id, customer, total in out:
        f.write(f"{order_id},{customer},{total}\n")
