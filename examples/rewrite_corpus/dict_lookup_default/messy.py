# Order lines labelled with their product's category through a dict; a SKU the catalogue
# does not know (or a product without a category) gets "unknown".
import csv
import os

category_by_sku = {}
with open("inputs/products.csv") as f:
    for row in csv.DictReader(f):
        if not row["sku"]:
            continue
        category_by_sku[row["sku"]] = row["category"]

out = []
with open("inputs/order_lines.csv") as f:
    for line in csv.DictReader(f):
        category = category_by_sku.get(line["sku"]) or "unknown"
        out.append([line["line_id"], line["order_id"], line["sku"], category, line["qty"]])

os.makedirs("output", exist_ok=True)
with open("output/result.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["line_id", "order_id", "sku", "category", "qty"])
    w.writerows(out)
