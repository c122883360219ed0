# An if/else per row and a renamed column.
import csv
import os

out = []
with open("inputs/employees.csv") as f:
    for row in csv.DictReader(f):
        if int(row["salary"]) >= 5000:
            band = "high"
        else:
            band = "low"
        out.append({"emp_id": row["emp_id"], "employee": row["name"], "dept": row["dept"],
                    "band": band})

os.makedirs("output", exist_ok=True)
with open("output/result.csv", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=["emp_id", "employee", "dept", "band"])
    w.writeheader()
    w.writerows(out)
