# A hand-written left outer join with a dict of lists.
import csv
import os

orders_by_customer = {}
with open("inputs/orders.csv") as f:
    for row in csv.DictReader(f):
        orders_by_customer.setdefault(row["customer_id"], []).append(row)

out = []
with open("inputs/customers.csv") as f:
    for c in csv.DictReader(f):
        matches = orders_by_customer.get(c["customer_id"], [])
        if not matches:
            out.append({"customer_id": c["customer_id"], "name": c["name"],
                        "order_id": "", "amount": ""})
        for o in matches:
            out.append({"customer_id": c["customer_id"], "name": c["name"],
                        "order_id": o["order_id"], "amount": o["amount"]})

os.makedirs("output", exist_ok=True)
with open("output/result.csv", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=["customer_id", "name", "order_id", "amount"])
    w.writeheader()
    w.writerows(out)
